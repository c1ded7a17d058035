"""Fetch Bitcoin blocks from a node. I/O only: calls are built in ``requests.py``, parsed in ``parse.py``.

``BitcoinNode`` is what the indexer needs; ``BitcoinRpcNode`` (Bitcoin Core JSON-RPC) and
``chains.bitcoin.esplora.EsploraNode`` (Esplora REST) both satisfy it.

By default blocks are fetched as ``getblock <hash> 0``: the serialized block in hex. It is the cheapest thing
for the node to produce (no decoding, no address rendering) and the most faithful (we hash and decode the
exact bytes). ``verbosity=2`` or ``3`` asks for Core's decoded JSON instead (3 carries each input's spent
output, which saves an input-resolution pass).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol, TypeVar

from chains.bitcoin import requests as rq
from chains.bitcoin.parse import parse_getblock, parse_hex_block
from chains.errors import NodeNotSynced, NodeProtocolError, RpcError
from chains.model import Block
from chains.rpc import JsonRpcClient

BLOCK_BATCH: Final = 8  # blocks per getblock batch; mainnet blocks are up to ~4 MB, ~8 MB as hex
HASH_BATCH: Final = 500  # getblockhash calls per batch; each answer is 66 bytes
# Parse blocks larger than this off the event loop (a 1.4 MB block takes tens of ms of pure Python).
PARSE_INLINE_MAX_BYTES: Final = 64 * 1024

T = TypeVar("T")


class BitcoinNode(Protocol):
    """A source of mainnet blocks by height or hash."""

    async def tip_height(self) -> int: ...

    async def block_hash(self, height: int) -> str: ...

    async def block(self, ref: int | str) -> Block: ...

    async def blocks(self, heights: Sequence[int]) -> list[Block]: ...


async def parse_off_loop(func: Callable[..., T], payload_size: int, *args: Any) -> T:
    """Runs a parser inline for small payloads, in a worker thread for big ones (keeps the loop free)."""
    if payload_size <= PARSE_INLINE_MAX_BYTES:
        return func(*args)
    return await asyncio.to_thread(func, *args)


class BitcoinRpcNode:
    """Bitcoin Core over JSON-RPC: ``BitcoinRpcNode(JsonRpcClient(HttpTransport(url)))``."""

    def __init__(
        self, client: JsonRpcClient, *, verbosity: int = rq.RAW, block_batch: int = BLOCK_BATCH
    ) -> None:
        if verbosity not in (rq.RAW, rq.TXS, rq.TXS_PREVOUT):
            raise ValueError(f"verbosity must be 0 (raw), 2 or 3 (decoded JSON), got {verbosity}")
        self._client = client
        self._verbosity = verbosity
        self._block_batch = block_batch

    async def tip_height(self) -> int:
        return int(await self._client.call(*rq.getblockcount()))

    async def block_hash(self, height: int) -> str:
        return (await self.block_hashes([height]))[0]

    async def block(self, ref: int | str) -> Block:
        if isinstance(ref, int):
            return (await self.blocks([ref]))[0]
        if self._verbosity != rq.RAW:
            return await self._parse(await self._client.call(*rq.getblock(ref, self._verbosity)), None)
        # The raw block does not say its height (BIP34 only from 227931): ask the header in the same request.
        header, raw_hex = await self._client.batch([rq.getblockheader(ref), rq.getblock(ref, rq.RAW)])
        return await self._parse(raw_hex, int(header["height"]))

    async def blocks(self, heights: Sequence[int]) -> list[Block]:
        """Blocks at ``heights``, in that order: one batch of getblockhash, then getblock ``block_batch`` at a
        time, each batch parsed before the next is fetched (so at most one batch of hex is held)."""
        if not heights:
            return []
        hashes = await self.block_hashes(heights)
        blocks: list[Block] = []
        for start in range(0, len(hashes), self._block_batch):
            part = range(start, min(start + self._block_batch, len(hashes)))
            calls = [rq.getblock(hashes[i], self._verbosity) for i in part]
            replies = await self._client.batch(calls, max_batch=self._block_batch)
            blocks += [await self._parse(reply, heights[i]) for reply, i in zip(replies, part, strict=True)]
        return blocks

    async def block_hashes(self, heights: Sequence[int]) -> list[str]:
        """One batch of getblockhash; a height the node lacks is NodeNotSynced."""
        for height in heights:
            if height < 0:
                raise ValueError(f"block height must be >= 0, got {height}")
        try:
            hashes = await self._client.batch([rq.getblockhash(h) for h in heights], max_batch=HASH_BATCH)
        except RpcError as exc:
            if exc.code == rq.RPC_INVALID_PARAMETER:  # "Block height out of range"
                raise NodeNotSynced(
                    f"node has no block at one of heights {_span(heights)}: {exc.message}"
                ) from exc
            raise
        return [str(h) for h in hashes]

    async def _parse(self, reply: object, height: int | None) -> Block:
        if isinstance(reply, str):
            return await parse_off_loop(parse_hex_block, len(reply) // 2, reply, height)
        if isinstance(reply, dict):
            return await parse_off_loop(parse_getblock, int(reply.get("size", 0)), reply)
        raise NodeProtocolError(f"getblock answered with {type(reply).__name__}, expected hex or an object")


def _span(heights: Sequence[int]) -> str:
    return f"{min(heights)}..{max(heights)}" if len(heights) > 1 else str(heights[0])
