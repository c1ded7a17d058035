"""Leases on height ranges, so several indexer processes share one range of heights through PostgreSQL.

``plan_ranges`` splits a range into rows of ``index_leases`` (chunks aligned on multiples of the range size,
so jobs over overlapping heights agree on them). A worker ``claim``s the lowest free or expired chunk with
``FOR UPDATE SKIP LOCKED`` (two workers never get the same one), indexes it with a ``LeasePosition`` (every
batch commits only while the lease is still ours, and renews it), and ``release``s it. A worker killed -9
stops renewing; once ``expires_at`` passes another worker claims the chunk and resumes at ``next_height``.
Chain-agnostic: rows are keyed by (chain, source).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from tracer.errors import SourceError, StoreConflict
from tracer.store.errors import translate_errors

log = logging.getLogger(__name__)

DEFAULT_RANGE_BLOCKS = 1_000  # heights per lease: small enough to share, large enough to keep the pipe full
DEFAULT_LEASE_SECONDS = 30.0  # a worker silent this long has died; its range goes to another


class LeaseLost(StoreConflict):
    """Our lease expired and another worker took the range: this batch must not commit."""


@dataclass(frozen=True, slots=True)
class Lease:
    chain: str
    source: str
    chunk: int
    next_height: int
    last_height: int
    owner: str


async def plan_ranges(
    conn: asyncpg.Connection | asyncpg.Pool,
    chain: str,
    source: str,
    first: int,
    last: int,
    *,
    size: int = DEFAULT_RANGE_BLOCKS,
) -> int:
    """Add the chunks of ``first..last`` not planned yet (idempotent: every worker of a job may call it);
    a chunk planned narrower before is widened and rescanned from its new start (stored blocks are
    recognised by their header, so the rescan costs little). Returns how many chunks the range spans."""
    chunks = range(first // size, last // size + 1)
    rows = [(chain, source, c, max(first, c * size), min(last, c * size + size - 1)) for c in chunks]
    await conn.executemany(
        """INSERT INTO index_leases (chain, source, chunk, first_height, last_height, next_height)
           VALUES ($1, $2, $3, $4, $5, $4)
           ON CONFLICT (chain, source, chunk) DO UPDATE
           SET next_height = CASE WHEN EXCLUDED.first_height < index_leases.first_height
                                    OR EXCLUDED.last_height > index_leases.last_height
                                  THEN least(index_leases.next_height, EXCLUDED.first_height,
                                             index_leases.last_height + 1)
                                  ELSE index_leases.next_height END,
               first_height = least(index_leases.first_height, EXCLUDED.first_height),
               last_height = greatest(index_leases.last_height, EXCLUDED.last_height)""",
        rows,
    )
    return len(rows)


async def claim(pool: asyncpg.Pool, chain: str, source: str, owner: str, seconds: float) -> Lease | None:
    """The lowest chunk with heights left that nobody holds (or whose holder's lease expired), now ours."""
    async with translate_errors():
        row = await pool.fetchrow(
            """UPDATE index_leases l SET owner = $3, expires_at = now() + make_interval(secs => $4)
               FROM (SELECT chain, source, chunk FROM index_leases
                     WHERE chain = $1 AND source = $2 AND next_height <= last_height
                       AND (owner IS NULL OR expires_at < now())
                     ORDER BY chunk LIMIT 1 FOR UPDATE SKIP LOCKED) free
               WHERE (l.chain, l.source, l.chunk) = (free.chain, free.source, free.chunk)
               RETURNING l.chunk, l.next_height, l.last_height, l.expires_at""",
            chain,
            source,
            owner,
            seconds,
        )
    if row is None:
        return None
    return Lease(chain, source, row["chunk"], row["next_height"], row["last_height"], owner)


async def release(pool: asyncpg.Pool, lease: Lease) -> None:
    async with translate_errors():
        await pool.execute(
            """UPDATE index_leases SET owner = NULL, expires_at = NULL
               WHERE chain = $1 AND source = $2 AND chunk = $3 AND owner = $4""",
            lease.chain,
            lease.source,
            lease.chunk,
            lease.owner,
        )


async def open_chunks(pool: asyncpg.Pool, chain: str, source: str) -> int:
    """Chunks with heights left, held or not."""
    async with translate_errors():
        return int(
            await pool.fetchval(
                "SELECT count(*) FROM index_leases WHERE chain = $1 AND source = $2"
                " AND next_height <= last_height",
                chain,
                source,
            )
        )


async def forget_done(pool: asyncpg.Pool, chain: str, source: str) -> None:
    """Drop finished chunks once the whole job is done (they say nothing the blocks table does not)."""
    async with translate_errors():
        await pool.execute(
            "DELETE FROM index_leases WHERE chain = $1 AND source = $2 AND next_height > last_height",
            chain,
            source,
        )


class LeasePosition:
    """``Position`` for a leased chunk: progress on the lease row, each commit conditional on owning it."""

    def __init__(self, lease: Lease, seconds: float) -> None:
        self.lease = lease
        self.seconds = seconds

    async def advance(self, conn: asyncpg.Connection, next_height: int) -> None:
        if not await self._renew(conn, next_height):
            raise LeaseLost(f"lease on heights up to {self.lease.last_height} was taken over; batch dropped")

    async def rewind(self, conn: asyncpg.Connection, height: int) -> None:
        raise SourceError(
            f"the node's block at height {height + 1} does not extend our block {height}: a reorg inside a "
            "range shared by several workers; index shared ranges below the confirmation depth"
        )

    async def renew(self, pool: asyncpg.Pool) -> bool:
        async with translate_errors(), pool.acquire() as conn:
            return await self._renew(conn, None)

    async def _renew(self, conn: asyncpg.Connection, next_height: int | None) -> bool:
        status: str = await conn.execute(
            """UPDATE index_leases
               SET next_height = coalesce($5, next_height), expires_at = now() + make_interval(secs => $6)
               WHERE chain = $1 AND source = $2 AND chunk = $3 AND owner = $4""",
            self.lease.chain,
            self.lease.source,
            self.lease.chunk,
            self.lease.owner,
            next_height,
            self.seconds,
        )
        return status.endswith(" 1")


@contextlib.asynccontextmanager
async def heartbeat(pool: asyncpg.Pool, position: LeasePosition) -> AsyncIterator[None]:
    """Renew the lease every third of its length while the body runs (a batch may outlast a lease)."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(position.seconds / 3)
            if not await position.renew(pool):
                log.warning("lost a lease", extra={"chunk": position.lease.chunk})
                return

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
