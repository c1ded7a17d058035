"""The Bitcoin adapter of the indexer core: raw blocks from Bitcoin Core JSON-RPC or Esplora, parsed in
worker processes into flat rows, written by ``tracer.store.chaindata.ChainWriter``.

Blocks travel as the serialized bytes (``getblock <hash> 0``): the cheapest thing for the node to produce,
and the header is its first 80 bytes, so a block already stored is recognised without parsing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Final, Protocol

import asyncpg

from chains.bitcoin import params
from chains.bitcoin import requests as rq
from chains.bitcoin.esplora import EsploraNode
from chains.bitcoin.parse import parse_block_bytes
from chains.errors import NodeNotSynced, NodeProtocolError, ParseError, RpcError
from chains.model import Chain
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport
from tracer.errors import InputError
from tracer.indexer.adapter import BatchStats, Header
from tracer.store.chaindata import (
    CHAIN_TABLES,
    BlockRows,
    ChainWriter,
    block_rows,
    delete_from_height,
    stored_hashes,
)
from tracer.store.pool import refresh_grown_statistics

BLOCK_BATCH: Final = 8  # getblock calls per JSON-RPC request; mainnet blocks are up to ~4 MB, ~8 MB as hex
HASH_BATCH: Final = 500  # getblockhash calls per request; each answer is 66 bytes


def parse_block(raw: bytes, height: int) -> BlockRows:
    """Worker-process entry point: one serialized block -> its rows."""
    return block_rows(parse_block_bytes(raw, height))


def header_of(raw: bytes, height: int) -> Header:
    if len(raw) < params.HEADER_BYTES:
        raise ParseError(f"block at height {height} is shorter than its {params.HEADER_BYTES}-byte header")
    head = raw[: params.HEADER_BYTES]
    block_hash = hashlib.sha256(hashlib.sha256(head).digest()).digest()[::-1].hex()
    return Header(height, block_hash, head[4:36][::-1].hex())


class RawBlockSource(Protocol):
    async def tip_height(self) -> int: ...

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]: ...


class RpcRawSource:
    """Bitcoin Core JSON-RPC: one batch of ``getblockhash``, then ``getblock <hash> 0`` in batches of
    ``block_batch``, all of those requests in flight at once."""

    def __init__(self, client: JsonRpcClient, *, block_batch: int = BLOCK_BATCH) -> None:
        self.client = client
        self.block_batch = block_batch

    async def tip_height(self) -> int:
        return int(await self.client.call(*rq.getblockcount()))

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]:
        try:
            hashes = await self.client.batch([rq.getblockhash(h) for h in heights], max_batch=HASH_BATCH)
        except RpcError as exc:
            if exc.code == rq.RPC_INVALID_PARAMETER:  # "Block height out of range"
                raise NodeNotSynced(
                    f"node has no block at one of heights {heights[0]}..{heights[-1]}"
                ) from exc
            raise
        step = self.block_batch
        parts = await asyncio.gather(
            *(
                self.client.batch([rq.getblock(str(h), rq.RAW) for h in hashes[i : i + step]], max_batch=step)
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

    async def raw_blocks(self, heights: Sequence[int]) -> list[bytes]:
        async def one(height: int) -> bytes:
            block_hash = await self.node.block_hash(height)
            return await self.node._get(f"block/{block_hash}/raw")  # the raw bytes, unparsed

        return list(await asyncio.gather(*(one(h) for h in heights)))


def _unhex(reply: object) -> bytes:
    if not isinstance(reply, str):
        raise NodeProtocolError(f"getblock <hash> 0 answered with {type(reply).__name__}, expected hex")
    try:
        return bytes.fromhex(reply)
    except ValueError as exc:
        raise NodeProtocolError(f"getblock <hash> 0 answered with text that is not hex: {exc}") from exc


class BitcoinAdapter:
    """``ChainAdapter[bytes, BlockRows]`` for Bitcoin (see ``tracer.indexer.adapter``)."""

    def __init__(self, source: RawBlockSource, source_name: str, writer: ChainWriter | None = None) -> None:
        self._source = source
        self._source_name = source_name
        self.writer = writer or ChainWriter(Chain.BITCOIN.value, source_name)

    @property
    def chain(self) -> str:
        return Chain.BITCOIN.value

    @property
    def source(self) -> str:
        return self._source_name

    async def tip_height(self) -> int:
        return await self._source.tip_height()

    async def fetch(self, heights: Sequence[int]) -> list[bytes]:
        return await self._source.raw_blocks(heights)

    def parser(self) -> Callable[[bytes, int], BlockRows]:
        return parse_block

    def raw_header(self, raw: bytes, height: int) -> Header:
        return header_of(raw, height)

    def tx_count(self, parsed: BlockRows) -> int:
        return len(parsed.txs)

    async def stored_hashes(self, conn: asyncpg.Connection, first: int, last: int) -> dict[int, str]:
        return await stored_hashes(conn, self.chain, first, last)

    async def write(
        self, conn: asyncpg.Connection, blocks: Sequence[BlockRows], *, replace: Sequence[int]
    ) -> BatchStats:
        return await self.writer.write(conn, blocks, replace=replace)

    async def rollback(self, conn: asyncpg.Connection, from_height: int) -> int:
        self.writer.utxos.clear()
        return await delete_from_height(conn, self.chain, from_height)

    def committed(self) -> None:
        self.writer.commit()

    def aborted(self) -> None:
        self.writer.abort()

    async def after_run(self, conn: asyncpg.Connection) -> None:
        await refresh_grown_statistics(conn, CHAIN_TABLES)


@contextlib.asynccontextmanager
async def open_adapter(rpc_url: str | None, esplora_url: str | None) -> AsyncIterator[BitcoinAdapter]:
    """The adapter for a node URL; its cursor name is "rpc" or "esplora"."""
    if rpc_url:
        async with HttpTransport(rpc_url) as transport:
            yield BitcoinAdapter(RpcRawSource(JsonRpcClient(transport, jsonrpc="1.0")), "rpc")
    elif esplora_url:
        async with EsploraNode(esplora_url) as node:
            yield BitcoinAdapter(EsploraRawSource(node), "esplora")
    else:
        raise InputError("no node configured: give --rpc URL or --esplora URL")
