"""The audit log's hash chain: concurrent appends stay one chain; a changed or removed row is named."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from tracer.config import Settings
from tracer.store.audit import AuditEntry, AuditWriter, verify
from tracer.store.pool import open_pool


def entry(n: int, tenant: str = "public") -> AuditEntry:
    return AuditEntry(
        at=datetime.now(UTC),
        key_id=n % 3 or None,
        tenant=tenant,
        client="127.0.0.1",
        method="POST",
        path="/v1/screen",
        query={
            "params": {},
            "body": {"chain": "bitcoin", "address": f"a{n}", "weird": [1.5, -0.0, 1e-7, "\u00e9"]},
        },
        status=200,
        duration_ms=1.2345 + n,
        answer={"risk_level": "none", "risk_score": 0, "sha256": "00" * 32},
    )


async def append_many(pool: asyncpg.Pool, start: int, count: int) -> AuditWriter:
    writer = AuditWriter(pool)
    writer.start()
    try:
        await asyncio.gather(*(writer.append(entry(n)) for n in range(start, start + count)))
    finally:
        await writer.close()
    return writer


async def test_the_writer_chains_its_batches_itself(pool: asyncpg.Pool) -> None:
    """The first call learns the chain's end from the database; every batch is hashed by the writer, and
    verify, which recomputes every hash in the database, agrees."""
    writer = AuditWriter(pool)
    writer.start()
    try:
        for batch in range(4):
            await asyncio.gather(*(writer.append(entry(10 * batch + n)) for n in range(1 + batch)))
    finally:
        await writer.close()
    assert writer.rows_hashed_here == 1 + 2 + 3 + 4
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert (verdict.rows, verdict.first_break) == (10, None)


async def test_a_commit_waits_for_the_rows_of_requests_still_in_their_handlers(pool: asyncpg.Pool) -> None:
    """Group commit: a row is not committed alone while another request whose row follows is still in its
    handler; both go in one commit as soon as that row arrives."""
    writer = AuditWriter(pool, group_window=30.0)
    writer.start()
    try:
        writer.expect()
        writer.expect()  # two requests in their handlers
        writer.arrived()
        first = asyncio.ensure_future(writer.append(entry(0)))
        await asyncio.sleep(0.2)
        assert not first.done()  # waiting for the other request's row
        writer.arrived()
        await writer.append(entry(1))
        await first
    finally:
        await writer.close()
    assert writer.commits == 1
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert (verdict.rows, verdict.first_break) == (2, None)


async def test_a_commit_waits_for_other_requests_no_longer_than_its_window(pool: asyncpg.Pool) -> None:
    writer = AuditWriter(pool, group_window=0.1)
    writer.start()
    try:
        writer.expect()  # a slow request that stays in its handler
        started = time.perf_counter()
        await writer.append(entry(0))
        waited = time.perf_counter() - started
    finally:
        await writer.close()
    assert 0.1 <= waited < 5
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 1


async def test_concurrent_writers_in_two_pools_make_one_chain(settings: Settings, pool: asyncpg.Pool) -> None:
    """Each writer hashes every row it appends: a batch that lost the race is hashed again from the end
    the database returns, never left to the per-row trigger."""
    async with open_pool(settings) as other:  # a second server process, as far as PostgreSQL can tell
        writers = await asyncio.gather(append_many(pool, 0, 300), append_many(other, 1000, 300))
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert verdict.as_json()["ok"] is True
    assert verdict.rows == 600
    assert await pool.fetchval("SELECT max(seq) FROM audit_log") == 600
    assert [w.rows_hashed_here for w in writers] == [300, 300]


async def test_a_writer_behind_the_chain_hashes_again_from_its_end(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    mine, theirs = AuditWriter(pool), AuditWriter(pool)
    mine.start()
    theirs.start()
    try:
        await mine.append(entry(0))
        await theirs.append(entry(1))  # my tail is now one row behind
        await asyncio.gather(*(mine.append(entry(n)) for n in range(2, 5)))
    finally:
        await mine.close()
        await theirs.close()
    assert (mine.rows_hashed_here, theirs.rows_hashed_here) == (4, 1)
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert (verdict.rows, verdict.first_break) == (5, None)


async def test_rows_sent_without_hashes_are_chained_by_the_database(pool: asyncpg.Pool) -> None:
    await append_many(pool, 0, 3)
    e = entry(7)
    columns = [[value] for value in e.row()]
    end = await pool.fetchrow(
        "SELECT * FROM audit_extend(-1, ''::bytea, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
        [10_000], *columns,
    )  # fmt: skip
    assert (end["seq"], end["linked"]) == (4, False)
    await pool.execute("INSERT INTO audit_log (method, path, query, status, duration_ms) "
                       "VALUES ('GET', '/manual', '{}', 200, 1)")  # fmt: skip
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert (verdict.rows, verdict.first_break) == (5, None)


@pytest.mark.parametrize(
    ("tamper", "seq", "problem"),
    [
        ("UPDATE audit_log SET status = 500 WHERE seq = 7", 7, "was changed"),
        (
            "UPDATE audit_log SET query = jsonb_set(query, '{body,address}', '\"x\"') WHERE seq = 4",
            4,
            "was changed",
        ),
        ("UPDATE audit_log SET at = at + interval '1 second' WHERE seq = 9", 9, "was changed"),
        ("DELETE FROM audit_log WHERE seq = 5", 5, "removed"),
        ("DELETE FROM audit_log WHERE seq IN (5, 6)", 5, "removed"),
    ],
)
async def test_verify_names_the_first_changed_or_removed_row(
    pool: asyncpg.Pool, tamper: str, seq: int, problem: str
) -> None:
    await append_many(pool, 0, 12)
    await pool.execute(tamper)
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert verdict.first_break is not None
    assert verdict.first_break.seq in (seq, seq + 1, seq + 2)
    assert str(seq) in verdict.first_break.problem
    assert problem in verdict.first_break.problem


async def test_rewritten_hash_breaks_the_next_link(pool: asyncpg.Pool) -> None:
    """A forger who also recomputes the changed row's hash is caught at the next row."""
    await append_many(pool, 0, 6)
    await pool.execute(
        "UPDATE audit_log SET status = 201 WHERE seq = 3;"
        "UPDATE audit_log a SET hash = audit_digest(a.prev_hash, a) WHERE seq = 3"
    )
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert verdict.first_break is not None
    assert verdict.first_break.seq == 4
    assert "does not link to row seq 3" in verdict.first_break.problem


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracer.cli", "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_verify_and_export(fresh_db: str, pool: asyncpg.Pool) -> None:
    await append_many(pool, 0, 5)
    ok = await asyncio.to_thread(cli, fresh_db, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert orjson.loads(ok.stdout)["rows"] == 5
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    exported = await asyncio.to_thread(cli, fresh_db, "audit", "export", "--from", since)
    rows = [orjson.loads(line) for line in exported.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(
        len(r["hash"]) == 64 and r["prev_hash"] == rows[i - 1]["hash"] for i, r in enumerate(rows) if i
    )
    none = await asyncio.to_thread(cli, fresh_db, "audit", "export", "--to", "2000-01-01T00:00:00+00:00")
    assert none.stdout == ""
    await pool.execute("UPDATE audit_log SET path = '/v1/other' WHERE seq = 2")
    broken = await asyncio.to_thread(cli, fresh_db, "audit", "verify")
    assert broken.returncode == 1
    assert "row seq 2 was changed" in broken.stderr
    bad_time = await asyncio.to_thread(cli, fresh_db, "audit", "export", "--from", "yesterday")
    assert bad_time.returncode == 2
    assert "Traceback" not in bad_time.stderr


async def test_writer_recovers_when_its_connection_is_killed(pool: asyncpg.Pool) -> None:
    writer = AuditWriter(pool)
    writer.start()
    try:
        await writer.append(entry(0))
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'"
        )
        with pytest.raises(
            (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
        ):
            await writer.append(entry(1))  # the held connection is gone: this batch fails (a 503 in the API)
        await writer.append(entry(2))  # the next batch takes a fresh connection
    finally:
        await writer.close()
    async with pool.acquire() as conn:
        verdict = await verify(conn)
    assert (verdict.rows, verdict.first_break) == (2, None)


async def test_the_chain_end_is_read_by_index_however_small_the_log_was_when_planned(
    settings: Settings,
) -> None:
    """A long-lived writer plans its statements once: planned while the log was empty (analysed, as a
    fresh install or a VACUUM ANALYZE leaves it), the chain's end must still come from the seq index, not
    a sequential scan of the whole log per batch."""
    one = settings.model_copy(
        update={"pool_min_size": 1, "pool_max_size": 1}
    )  # the writer's backend, later ours
    async with open_pool(one) as pool:
        await pool.execute("ANALYZE audit_log")
        for batch in range(30):
            await append_many(pool, 10 * batch, 3)
        async with pool.acquire() as conn:
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            scans = await conn.fetchrow(
                "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'audit_log'"
            )
    assert scans["seq_scan"] == 0
    assert scans["idx_scan"] >= 30
