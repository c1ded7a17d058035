"""Limits on what one client can make the service do: request rate per key, body size and time, and the
database state machine that turns an unreachable database into 503s and one log line per change."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable

import asyncpg
from aiohttp import web

from tracer.errors import (
    AnswerTimeout,
    PayloadTooLarge,
    RateLimited,
    RequestTimeout,
    UnsupportedMediaType,
)

log = logging.getLogger(__name__)


class RateLimiter:
    """A token bucket per key: ``rate`` tokens a second, up to ``rate`` (at least one) saved up."""

    def __init__(self) -> None:
        self._buckets: dict[int, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: int, rate: float) -> None:
        now = time.monotonic()
        capacity = max(rate, 1.0)
        tokens, at = self._buckets.get(key_id, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate)
        if tokens < 1.0:
            self._buckets[key_id] = (tokens, now)
            wait = (1.0 - tokens) / rate
            raise RateLimited(
                f"over this key's limit of {rate:g} requests per second",
                retry_after=math.ceil(wait),
            )
        self._buckets[key_id] = (tokens - 1.0, now)


async def read_body(request: web.Request, max_bytes: int, seconds: float) -> bytes:
    """The whole body, or 413 as soon as it is known to be too large (before reading it when
    Content-Length says so), or 408 when the client does not send it in time (e.g. a Content-Length
    larger than what it sends)."""
    declared = request.content_length
    if declared is not None and declared > max_bytes:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {max_bytes}", bytes=declared)
    if declared is not None and request.content.is_eof():  # all of it arrived with the headers: no wait
        return await request.content.read()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(f"the body exceeds the limit of {max_bytes} bytes", bytes=size)
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {seconds:g} s", bytes=size) from None
    return b"".join(chunks)


def require_json(request: web.Request) -> None:
    """POST bodies must say they are JSON: a browser cannot send that cross-site without a CORS preflight,
    so another web page cannot make a visitor's browser post requests here."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            f"send the body as 'Content-Type: application/json', not {request.content_type!r}"
        )


async def answer_within(seconds: float, answer: Awaitable[web.StreamResponse]) -> web.StreamResponse:
    """The answer, or 504 after ``seconds`` (an await, not an async context manager: cheaper per request)."""
    try:
        async with asyncio.timeout(seconds):
            return await answer
    except TimeoutError:
        raise AnswerTimeout(f"no answer within {seconds:g} s; try again later") from None


class _PoolFloorRetries(logging.Filter):
    """asyncpg logs a traceback each time it fails to reopen its minimum connections (every 1-60 s while
    the database is down); DatabaseState reports the outage once instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to restore the pool connection floor")


_POOL_FLOOR_FILTER = _PoolFloorRetries()


class DatabaseState:
    """Whether the database answers, probed every ``interval`` seconds; logs only when that changes."""

    def __init__(self, pool: asyncpg.Pool, interval: float, timeout: float) -> None:
        logging.getLogger("asyncpg.pool").addFilter(_POOL_FLOOR_FILTER)  # adding twice is a no-op
        self._pool = pool
        self._interval = interval
        self._timeout = timeout
        self.ok = True
        self.reason = ""

    async def probe(self) -> bool:
        """One check; a lock held on the tables we serve from counts as not ready."""
        try:
            async with asyncio.timeout(self._timeout), self._pool.acquire() as conn, conn.transaction():
                await conn.execute(f"SET LOCAL lock_timeout = {int(self._timeout * 1000)}")
                await conn.execute("SELECT 1 FROM addresses LIMIT 0")
        except (
            TimeoutError,
            OSError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            asyncpg.InternalClientError,
        ) as exc:
            self._change(False, _describe(exc))
        else:
            self._change(True, "")
        return self.ok

    def _change(self, ok: bool, reason: str) -> None:
        if ok != self.ok:
            if ok:
                log.warning("database reachable again")
            else:
                log.error("database unavailable", extra={"reason": reason})
        self.ok, self.reason = ok, reason

    async def run(self) -> None:
        while True:
            await self.probe()
            await asyncio.sleep(self._interval)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time (down, overloaded or a table locked)"
    return f"{type(exc).__name__}: {exc}"
