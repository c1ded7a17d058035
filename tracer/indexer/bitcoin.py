"""The Bitcoin adapter of the indexer core: raw blocks from Bitcoin Core JSON-RPC or Esplora, parsed in
worker processes into flat rows, written by ``tracer.store.chaindata.ChainWriter``.

Blocks travel as the serialized bytes (``getblock <hash> 0``): the cheapest thing for the node to produce,
and the header is its first 80 bytes, so a block already stored is recognised without parsing it.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Protocol

import asyncpg

from chains.bitcoin import params
from chains.bitcoin import requests as rq
from chains.bitcoin.blkfiles import LocatedBlock, iter_best_chain
from chains.bitcoin.core_rest import CoreRest, rest_url
from chains.bitcoin.esplora import EsploraNode
from chains.bitcoin.node import BLOCK_BATCH, BitcoinRpcNode
from chains.bitcoin.parse import parse_block_rows
from chains.errors import NodeNotSynced, NodeProtocolError, ParseError
from chains.model import Chain
from chains.rpc import JsonRpcClient, decode_string_results
from chains.transport import DEFAULT_TIMEOUT_S, HttpTransport
from tracer.errors import InputError, MalformedInput
from tracer.indexer.adapter import BatchStats, Header
from tracer.store import bulkload, server_tuning
from tracer.store.chaindata import (
    CHAIN_TABLES,
    BlockRows,
    ChainWriter,
    delete_from_height,
    stored_hashes,
)
from tracer.store.pool import refresh_grown_statistics


def parse_block(raw: bytes, height: int) -> BlockRows:
    """Worker-process entry point: one serialized block -> its rows (no records in between)."""
    return BlockRows(*parse_block_rows(raw, height))


def header_of(raw: bytes, height: int) -> Header:
    if len(raw) < params.HEADER_BYTES:
        raise ParseError(f"block at height {height} is shorter than its {params.HEADER_BYTES}-byte header")
    head = raw[: params.HEADER_BYTES]
    block_hash = hashlib.sha256(hashlib.sha256(head).digest()).digest()[::-1].hex()
    return Header(height, block_hash, head[4:36][::-1].hex())


class RawBlockSource(Protocol):
    async def tip_height(self) -> int: ...

    async def block_hash(self, height: int) -> str: ...

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]: ...


class RpcRawSource:
    """Bitcoin Core JSON-RPC: one batch of ``getblockhash``, then ``getblock <hash> 0`` in batches of
    ``block_batch``, all of those requests in flight at once; with ``rest``, the blocks themselves as bytes
    from Core's REST interface instead (``chains.bitcoin.core_rest``)."""

    def __init__(
        self, client: JsonRpcClient, *, block_batch: int = BLOCK_BATCH, rest: CoreRest | None = None
    ) -> None:
        self.client = client
        self.node = BitcoinRpcNode(client)  # heights -> hashes, tip: the node client's own calls
        self.block_batch = block_batch
        self.rest = rest

    async def tip_height(self) -> int:
        return await self.node.tip_height()

    async def block_hash(self, height: int) -> str:
        return await self.node.block_hash(height)

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]:
        hashes = await self.node.block_hashes(heights)
        if self.rest is not None:
            return list(await asyncio.gather(*(self.rest.raw_block(h) for h in hashes)))
        step = self.block_batch
        parts = await asyncio.gather(
            *(
                self.client.batch(
                    [rq.getblock(str(h), rq.RAW) for h in hashes[i : i + step]],
                    max_batch=step,
                    decoder=decode_string_results,
                )
                for i in range(0, len(hashes), step)
            )
        )
        return [_unhex(reply) for part in parts for reply in part]


class EsploraRawSource:
    """Esplora REST: ``/block-height/:h`` then ``/block/:hash/raw``, the node's concurrency limit applies."""

    def __init__(self, node: EsploraNode) -> None:
        self.node = node

    async def tip_height(self) -> int:
        return await self.node.tip_height()

    async def block_hash(self, height: int) -> str:
        return await self.node.block_hash(height)

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]:
        async def one(height: int) -> bytes:
            block_hash = await self.node.block_hash(height)
            return await self.node._get(f"block/{block_hash}/raw")  # the raw bytes, unparsed

        return list(await asyncio.gather(*(one(h) for h in heights)))


class BlkDirSource:
    """Bitcoin Core's ``blocks/`` directory (``blk*.dat``, XOR-obfuscated or not) as a block source: scanned
    header-first once (``chains.bitcoin.blkfiles``: the best chain by work, in height order), then each
    batch reads only its own blocks, so memory holds one batch, never a whole 128 MiB file."""

    def __init__(self, blocks: Sequence[LocatedBlock]) -> None:
        self.by_height = {b.height: b for b in blocks}

    @classmethod
    async def scan(cls, blocks_dir: Path) -> BlkDirSource:
        return await asyncio.to_thread(cls.scan_blocking, blocks_dir)

    @classmethod
    def scan_blocking(cls, blocks_dir: Path) -> BlkDirSource:
        if not blocks_dir.is_dir():
            raise InputError(f"no such directory: {blocks_dir}")
        try:
            blocks = list(iter_best_chain(blocks_dir))
        except OSError as exc:
            raise InputError(f"cannot read {blocks_dir}: {exc.strerror or exc}") from exc
        except ParseError as exc:
            raise MalformedInput(f"{blocks_dir}: {exc}") from exc
        if not blocks:
            raise InputError(f"{blocks_dir} holds no blk*.dat blocks")
        return cls(blocks)

    async def tip_height(self) -> int:
        return max(self.by_height)

    async def block_hash(self, height: int) -> str:
        return self._at(height).hash

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]:
        located = [self._at(h) for h in heights]
        return await asyncio.to_thread(lambda: [b.read() for b in located])

    def _at(self, height: int) -> LocatedBlock:
        if height not in self.by_height:
            low, high = min(self.by_height), max(self.by_height)
            raise NodeNotSynced(f"the blocks directory holds heights {low}..{high}, not {height}")
        return self.by_height[height]


def _unhex(reply: object) -> bytes:
    """A block from its hex: ``str`` (JSON-decoded) or the hex's bytes (``decode_string_results``)."""
    if not isinstance(reply, str | memoryview):
        raise NodeProtocolError(f"getblock <hash> 0 answered with {type(reply).__name__}, expected hex")
    try:
        return bytes.fromhex(reply) if isinstance(reply, str) else binascii.unhexlify(reply)
    except ValueError as exc:  # binascii.Error is one
        raise NodeProtocolError(f"getblock <hash> 0 answered with text that is not hex: {exc}") from exc


class BitcoinAdapter:
    """``ChainAdapter[bytes, BlockRows]`` for Bitcoin (see ``tracer.indexer.adapter``)."""

    def __init__(self, source: RawBlockSource, source_name: str, writer: ChainWriter | None = None) -> None:
        self._source = source
        self._source_name = source_name
        self.writer = writer or ChainWriter(Chain.BITCOIN.value, source_name)
        self._bulk = False  # this run deferred checks and indexes: rebuild them when it ends

    @property
    def chain(self) -> str:
        return Chain.BITCOIN.value

    @property
    def source(self) -> str:
        return self._source_name

    async def tip_height(self) -> int:
        return await self._source.tip_height()

    def lowest_height(self) -> int:
        """Where an index with no cursor starts: genesis for a node, the first block a blocks dir holds."""
        return min(self._source.by_height) if isinstance(self._source, BlkDirSource) else 0

    async def block_hash(self, height: int) -> str:
        return await self._source.block_hash(height)

    async def fetch(self, heights: Sequence[int]) -> list[bytes]:
        return await self._source.raw_blocks(heights)

    def parser(self) -> Callable[[bytes, int], BlockRows]:
        return parse_block

    def raw_header(self, raw: bytes, height: int) -> Header:
        return header_of(raw, height)

    def tx_count(self, parsed: BlockRows) -> int:
        return len(parsed.txs)

    @property
    def keeps_caches(self) -> bool:
        return True  # the unspent-output and address-id caches grow with every batch

    async def stored_hashes(self, conn: asyncpg.Connection, first: int, last: int) -> dict[int, str]:
        return await stored_hashes(conn, self.chain, first, last)

    async def write(
        self, conn: asyncpg.Connection, blocks: Sequence[BlockRows], *, replace: Sequence[int]
    ) -> BatchStats:
        return await self.writer.write(conn, blocks, replace=replace)

    def upcoming(self, parsed: asyncio.Future[list[BlockRows | None]]) -> None:
        self.writer.upcoming(parsed)

    async def rollback(self, conn: asyncpg.Connection, from_height: int) -> int:
        self.writer.utxos.clear()
        return await delete_from_height(conn, self.chain, from_height)

    def committed(self) -> None:
        self.writer.commit()

    def aborted(self) -> None:
        self.writer.abort()

    async def before_run(self, conn: asyncpg.Connection, *, heights: int, bulk: bool | None) -> None:
        """Enter the first-pass mode for a long range into a store it at least doubles (or when told);
        otherwise rebuild whatever a killed first pass left deferred."""
        self._bulk = bulk = await bulkload.wanted(conn, self.chain, heights, bulk)
        if bulk:
            owned = await self.writer.addresses.own(conn)  # one writer: new address ids are assigned here
            await bulkload.enter(conn, bulkload.BITCOIN, unique=owned)
            await server_tuning.warn_untuned(conn)
        elif await bulkload.active(conn, bulkload.BITCOIN):
            await bulkload.leave(conn, bulkload.BITCOIN)

    async def after_run(self, pool: asyncpg.Pool) -> None:
        if self._bulk:
            self.writer.addresses.disown()
            await bulkload.leave_concurrently(pool, bulkload.BITCOIN, analyze=CHAIN_TABLES)
            self._bulk = False
        async with pool.acquire() as conn:
            await refresh_grown_statistics(conn, CHAIN_TABLES)


@contextlib.asynccontextmanager
async def open_adapter(
    rpc_url: str | None,
    esplora_url: str | None,
    *,
    blocks_dir: Path | None = None,
    request_seconds: float = DEFAULT_TIMEOUT_S,
    rest: bool = False,
) -> AsyncIterator[BitcoinAdapter]:
    """The adapter for a node URL or a Core blocks directory; its cursor name is "rpc", "esplora" or
    "blk"; ``request_seconds``: per node request; ``rest``: blocks from the RPC node's REST interface (the
    same node, so the same cursor)."""
    if blocks_dir is not None:
        yield BitcoinAdapter(await BlkDirSource.scan(blocks_dir), "blk")
    elif rpc_url:
        async with (
            HttpTransport(rpc_url, timeout=request_seconds) as transport,
            CoreRest(rest_url(rpc_url), timeout=request_seconds) as core_rest,
        ):
            if rest and not await core_rest.available():
                raise InputError(
                    f"the node at {rest_url(rpc_url)} does not serve Bitcoin Core's REST interface (404):"
                    " start bitcoind with -rest, or leave out --rest"
                )
            source = RpcRawSource(JsonRpcClient(transport, jsonrpc="1.0"), rest=core_rest if rest else None)
            yield BitcoinAdapter(source, "rpc")
    elif esplora_url:
        async with EsploraNode(esplora_url, timeout=request_seconds) as node:
            yield BitcoinAdapter(EsploraRawSource(node), "esplora")
    else:
        raise InputError("no node configured: give --rpc URL, --esplora URL or --blocks-dir DIR")
