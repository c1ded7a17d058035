"""What the REST node clients share (``EsploraNode``, ``TronHttpNode``): an injected transport or one of
their own, and every request through one guard -- at most ``concurrency`` in flight, a token-bucket rate
limit (``rate_limit`` requests per second), retries with backoff on retriable errors."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Final, Generic, Self, TypeVar, cast

import aiohttp

from chains.rpc import DEFAULT_BACKOFF_S, DEFAULT_RETRIES, Retrying, Sleep, TokenBucket
from chains.transport import DEFAULT_TIMEOUT_S, HttpRestTransport, PostTransport, RestTransport

DEFAULT_CONCURRENCY: Final = 8  # requests in flight; public Esplora and TronGrid servers throttle beyond

TransportT = TypeVar("TransportT", RestTransport, PostTransport)


class RestNode(Generic[TransportT]):
    """``Node(base_url)`` makes and owns an HTTP transport; ``Node(transport=...)`` uses the one given.
    Close with ``close()`` or ``async with``."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        transport: TransportT | None = None,
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
            self._owned = HttpRestTransport(base_url, session=session, timeout=timeout)
            transport = cast(TransportT, self._owned)  # HttpRestTransport speaks both GET and POST
        self._transport: TransportT = transport
        self._retrying = Retrying(retries, backoff, sleep, rng)
        self._bucket = TokenBucket(rate_limit, clock=time.monotonic, sleep=sleep) if rate_limit else None
        self._slots = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owned is not None:
            await self._owned.close()

    async def _guarded(self, what: str, request: Callable[[], Awaitable[bytes]]) -> bytes:
        """``request()`` within the concurrency bound and the rate limit, retried as ``what``."""

        async def once() -> bytes:
            async with self._slots:
                if self._bucket is not None:
                    await self._bucket.acquire()
                return await request()

        return await self._retrying.run(what, once)
