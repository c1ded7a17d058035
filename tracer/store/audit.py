"""The audit log as a hash chain: append (grouped commits from one writer task), verify, export.

Each row's ``hash`` is SHA-256 over the previous row's hash and the row's content as ``audit_digest``
(migration 009) renders it. The writer computes the hashes of a batch itself (tracer.store.audit_digest)
and appends the batch in one statement (``audit_extend``, migration 026) under an advisory lock, so every
process extends the same chain: when another process appended since, nothing is written and the writer
hashes the batch again from the end the database returned. A row inserted without a hash (a manual
INSERT) is chained by the trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tracer.store.audit_digest import row_digest

log = logging.getLogger(__name__)

_MAX_BATCH = 500  # rows per commit; one commit covers every request that finished meanwhile
# How long a commit waits for the rows of requests still in their handlers. A commit costs the database
# ~160 us and the writer ~170 us however few rows it holds (a row: ~15 and ~20 us; measured, 2 cores), so
# under load a batch of 4 spends more on its commit than on its rows; waiting gathers the requests in flight.
GROUP_WINDOW = 0.002
_ID_BLOCK = 512  # row ids drawn from the sequence at a time (the hash covers the id, so it is known first)

_EXTEND = """
SELECT seq, hash, linked FROM audit_extend($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""
_RESERVE_IDS = "SELECT nextval(pg_get_serial_sequence('audit_log', 'id')) FROM generate_series(1, $1)"
_UNKNOWN_TAIL = (-1, b"")  # links to no row: the first attempt only learns the chain's end


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    key_id: int | None
    tenant: str
    client: str | None
    method: str
    path: str
    query: dict[str, object]
    status: int
    duration_ms: float
    answer: dict[str, object] | None

    def fields(self, seq: int, row_id: int) -> dict[str, object]:
        """The row's content as its digest covers it."""
        return {
            "seq": seq,
            "id": row_id,
            "at": self.at,
            "key_id": self.key_id,
            "tenant": self.tenant,
            "client": self.client,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "answer": self.answer,
        }

    def row(self) -> tuple[object, ...]:
        return (
            self.at,
            self.key_id,
            self.tenant,
            self.client,
            self.method,
            self.path,
            self.query,
            self.status,
            self.duration_ms,
            self.answer,
        )


class AuditWriter:
    """Appends entries in group commits: a request awaits the commit that holds its row, so no answer
    leaves unaudited, while many concurrent requests share one transaction (and one fsync).

    The writer keeps one pooled connection for itself: under load every other connection is busy screening,
    and a commit queued behind them for a connection would hold up every request in its batch. A failed
    write gives that connection back (the pool replaces a broken one) and the next batch takes a fresh one.
    """

    def __init__(self, pool: asyncpg.Pool, group_window: float = GROUP_WINDOW) -> None:
        self._pool = pool
        self._group_window = group_window
        self._arriving = 0  # requests in their handlers whose rows are still to come (``expect``)
        self._gathered: asyncio.Future[None] | None = None  # while a commit waits for them
        self._conn: asyncpg.Connection | None = None  # a pooled one, held
        self._pending: list[tuple[AuditEntry, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._tail = _UNKNOWN_TAIL  # (seq, hash) of the chain's last row, as of our last append
        self._ids: list[int] = []  # reserved row ids, used in order
        self.rows_hashed_here = 0  # rows whose hash this writer computed (others: by the trigger)
        self.commits = 0  # batches written

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    def expect(self) -> None:
        """A request whose row will follow has started: a commit may wait a moment for it."""
        self._arriving += 1

    def arrived(self) -> None:
        """That request's handler is done (its row is appended next, or not at all)."""
        self._arriving -= 1
        if self._arriving == 0:
            self._stop_gathering()

    async def append(self, entry: AuditEntry) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((entry, done))
        self._wake.set()
        if len(self._pending) >= _MAX_BATCH:
            self._stop_gathering()
        await done

    async def close(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._write_pending()  # whatever arrived during shutdown
        await self._give_back()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                if self._arriving and len(self._pending) < _MAX_BATCH:
                    await self._gather()
                await self._write_pending()

    async def _gather(self) -> None:
        """Group commit: wait until no request is in its handler any more, or ``group_window`` passed."""
        loop = asyncio.get_running_loop()
        self._gathered = gathered = loop.create_future()
        timer = loop.call_later(self._group_window, self._stop_gathering)
        try:
            await gathered
        finally:
            timer.cancel()
            self._gathered = None

    def _stop_gathering(self) -> None:
        if self._gathered is not None and not self._gathered.done():
            self._gathered.set_result(None)

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending[:_MAX_BATCH], self._pending[_MAX_BATCH:]
        if not batch:
            return
        try:
            if self._conn is None:
                self._conn = await self._pool.acquire()
            await self._append(self._conn, [entry for entry, _ in batch])
            self.commits += 1
        except Exception as exc:  # handed to every waiting request, which answers 503
            self._tail, self._ids = _UNKNOWN_TAIL, []  # the batch may have committed before the failure
            await self._give_back()
            for _, done in batch:
                if not done.done():
                    done.set_exception(exc)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _append(self, conn: asyncpg.Connection, entries: list[AuditEntry]) -> None:
        """One statement, so one transaction and one commit for the batch; when other processes appended
        meanwhile, again from the end the database returned, then under a lock held until commit."""
        if len(self._ids) < len(entries):
            self._ids += [r[0] for r in await conn.fetch(_RESERVE_IDS, max(_ID_BLOCK, len(entries)))]
        ids, self._ids = self._ids[: len(entries)], self._ids[len(entries) :]
        columns = [list(column) for column in zip(*(entry.row() for entry in entries), strict=True)]
        if await self._extend(conn, ids, entries, columns) or await self._extend(conn, ids, entries, columns):
            return
        async with conn.transaction():  # the end keeps moving: its lock stays ours from the first call on
            if not (
                await self._extend(conn, ids, entries, columns)
                or await self._extend(conn, ids, entries, columns)
            ):  # rows appended around the lock (hash given by hand): the database chains the batch
                await self._extend(conn, ids, entries, columns, hashed=False)

    async def _extend(
        self,
        conn: asyncpg.Connection,
        ids: list[int],
        entries: list[AuditEntry],
        columns: list[list[object]],
        *,
        hashed: bool = True,
    ) -> bool:
        """One call of audit_extend from the end we know; whether the batch is now written."""
        hashes = self._hashes(ids, entries) if hashed else None
        tail = await conn.fetchrow(_EXTEND, *self._tail, ids, *columns, hashes)
        self._tail = (tail["seq"], tail["hash"])
        if tail["linked"]:
            self.rows_hashed_here += len(entries)
        return bool(tail["linked"]) or not hashed

    def _hashes(self, ids: list[int], entries: list[AuditEntry]) -> list[bytes]:
        if self._tail == _UNKNOWN_TAIL:
            return []  # cannot link: the call only says where the chain ends
        seq, previous = self._tail
        hashes = []
        for row_id, entry in zip(ids, entries, strict=True):
            seq += 1
            previous = row_digest(previous, entry.fields(seq, row_id))
            hashes.append(previous)
        return hashes

    async def _give_back(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection is closed by the pool instead
                await self._pool.release(conn)


@dataclass(frozen=True, slots=True)
class Break:
    """The first place the chain does not hold."""

    seq: int
    id: int | None
    problem: str

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "id": self.id, "problem": self.problem}


@dataclass(frozen=True, slots=True)
class Verdict:
    rows: int
    head_seq: int
    head_hash: str
    first_break: Break | None

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.first_break is None,
            "rows": self.rows,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "first_break": self.first_break.as_json() if self.first_break else None,
        }


_WALK = """
SELECT seq, id, prev_hash, hash, audit_digest(prev_hash, a) = hash AS content_ok
FROM audit_log a ORDER BY seq
"""


async def verify(conn: asyncpg.Connection) -> Verdict:
    """Walk the chain in order; name the first row that was changed or removed. Removing the newest rows
    leaves a shorter valid chain: compare ``head`` with one kept elsewhere (e.g. a daily export)."""
    previous_hash, previous_seq, rows = b"", 0, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for row in conn.cursor(_WALK, prefetch=2000):
            rows += 1
            problem = _problem(row, previous_seq, previous_hash)
            if problem:
                return Verdict(rows, previous_seq, previous_hash.hex(), Break(row["seq"], row["id"], problem))
            previous_hash, previous_seq = row["hash"], row["seq"]
    return Verdict(rows, previous_seq, previous_hash.hex(), None)


def _problem(row: asyncpg.Record, previous_seq: int, previous_hash: bytes) -> str | None:
    if row["seq"] != previous_seq + 1:
        missing = (
            f"{previous_seq + 1}"
            if row["seq"] == previous_seq + 2
            else f"{previous_seq + 1}..{row['seq'] - 1}"
        )
        return f"row seq {missing} removed (the chain jumps from seq {previous_seq} to {row['seq']})"
    if row["prev_hash"] != previous_hash:
        return f"row seq {row['seq']} does not link to row seq {previous_seq}: one of them was changed"
    if not row["content_ok"]:
        return f"row seq {row['seq']} was changed (its content no longer matches its hash)"
    return None


_EXPORT = """
SELECT seq, id, at, key_id, tenant, client, method, path, query, status, duration_ms, answer,
       encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash
FROM audit_log
WHERE ($1::timestamptz IS NULL OR at >= $1) AND ($2::timestamptz IS NULL OR at < $2)
  AND ($3::text IS NULL OR tenant = $3) AND seq > $4
ORDER BY seq LIMIT $5
"""


async def export_rows(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant: str | None = None,
    after_seq: int = 0,
    limit: int = 1000,
) -> list[dict[str, object]]:
    rows = await conn.fetch(_EXPORT, start, end, tenant, after_seq, limit)
    return [{**dict(r), "at": r["at"].isoformat()} for r in rows]


async def iter_export(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant: str | None = None,
    page: int = 5000,
) -> AsyncIterator[dict[str, object]]:
    after = 0
    while True:
        rows = await export_rows(conn, start=start, end=end, tenant=tenant, after_seq=after, limit=page)
        for row in rows:
            yield row
        if len(rows) < page:
            return
        after = int(str(rows[-1]["seq"]))
