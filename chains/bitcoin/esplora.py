"""Bitcoin blocks from an Esplora REST API (Blockstream electrs, mempool.space), as a ``BitcoinNode``.

Endpoints used (https://github.com/Blockstream/esplora/blob/master/API.md):
``GET /blocks/tip/height`` → decimal text, ``GET /block-height/:height`` → hash text (404 beyond the tip),
``GET /block/:hash`` → JSON with ``height``, ``GET /block/:hash/raw`` → the serialized block.

HTTP errors are mapped in ``chains.transport`` (the one boundary); here a 404 on a height becomes
``NodeNotSynced``. Esplora has no batching, so ``blocks`` runs a bounded number of requests at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Final

import aiohttp

from chains.bitcoin.node import parse_off_loop
from chains.bitcoin.parse import parse_block_bytes
from chains.errors import NodeNotSynced, NodeProtocolError, RpcError
from chains.model import Block
from chains.rpc import DEFAULT_BACKOFF_S, DEFAULT_RETRIES, Retrying, Sleep, TokenBucket
from chains.transport import DEFAULT_TIMEOUT_S, HttpRestTransport, RestTransport

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY: Final = (
    8  # requests in flight for ``blocks``; public Esplora servers throttle beyond this
)
HTTP_NOT_FOUND: Final = 404


class EsploraNode:
    """``EsploraNode("https://blockstream.info/api")`` or ``EsploraNode(transport=<any RestTransport>)``.

    ``rate_limit`` is in requests per second; ``sleep``/``rng`` are injectable for tests. Close with
    ``close()`` or ``async with`` when the node made its own HTTP transport.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: RestTransport | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        concurrency: int = DEFAULT_CONCURRENCY,
        rate_limit: float | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._owned: HttpRestTransport | None = None
        if transport is None:
            if base_url is None:
                raise ValueError("give base_url or transport")
            transport = self._owned = HttpRestTransport(base_url, session=session, timeout=timeout)
        self._transport = transport
        self._retrying = Retrying(retries, backoff, sleep, rng)
        self._bucket = TokenBucket(rate_limit, clock=time.monotonic, sleep=sleep) if rate_limit else None
        self._slots = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> EsploraNode:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owned is not None:
            await self._owned.close()

    async def tip_height(self) -> int:
        return int(await self._text("blocks/tip/height"))

    async def block_hash(self, height: int) -> str:
        if height < 0:
            raise ValueError(f"block height must be >= 0, got {height}")
        try:
            return await self._text(f"block-height/{height}")
        except RpcError as exc:
            if exc.code == HTTP_NOT_FOUND:
                raise NodeNotSynced(f"esplora has no block at height {height}: {exc.message}") from exc
            raise

    async def block(self, ref: int | str) -> Block:
        if isinstance(ref, int):
            block_hash, height = await self.block_hash(ref), ref
        else:
            block_hash, height = ref, await self._height_of(ref)
        raw = await self._get(f"block/{block_hash}/raw")
        return await parse_off_loop(parse_block_bytes, len(raw), raw, height)

    async def blocks(self, heights: Sequence[int]) -> list[Block]:
        """Blocks at ``heights`` in that order, ``concurrency`` requests at a time."""
        return list(await asyncio.gather(*(self.block(h) for h in heights)))

    async def _height_of(self, block_hash: str) -> int:
        info = json.loads(await self._get(f"block/{block_hash}"))
        if not isinstance(info, dict) or not isinstance(info.get("height"), int):
            raise NodeProtocolError(f"esplora block/{block_hash} has no height: {info!r:.200}")
        return int(info["height"])

    async def _text(self, path: str) -> str:
        return (await self._get(path)).decode("ascii").strip()

    async def _get(self, path: str) -> bytes:
        async def once() -> bytes:
            async with self._slots:
                if self._bucket is not None:
                    await self._bucket.acquire()
                return await self._transport.get(path)

        return await self._retrying.run(f"esplora GET {path}", once)
