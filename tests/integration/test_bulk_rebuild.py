"""The rebuild at the end of a first pass on several connections (``bulkload.leave_concurrently``): every
deferred check and index comes back exactly once, and the schema ends as it started."""

from __future__ import annotations

import asyncpg

from tracer.store import bulkload

_SCHEMA = """
SELECT c.conrelid::regclass::text || ':' || pg_get_constraintdef(c.oid) FROM pg_constraint c
WHERE c.conrelid = ANY('{addresses,transactions,tx_outputs,tx_inputs}'::regclass[])
UNION ALL
SELECT indexdef FROM pg_indexes WHERE tablename IN ('addresses', 'transactions', 'tx_outputs', 'tx_inputs')
ORDER BY 1
"""


async def test_concurrent_rebuild_restores_each_deferred_item_once(pool: asyncpg.Pool) -> None:
    before = [row[0] for row in await pool.fetch(_SCHEMA)]
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    assert len(dropped) == 9
    rebuilt = await bulkload.leave_concurrently(pool, bulkload.BITCOIN, connections=3)
    assert sorted(rebuilt) == sorted(dropped)
    assert [row[0] for row in await pool.fetch(_SCHEMA)] == before
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0


async def test_concurrent_rebuild_leaves_the_other_models_items_deferred(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        account = await bulkload.enter(conn, bulkload.ACCOUNT)
        await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    await bulkload.leave_concurrently(pool, bulkload.BITCOIN)
    left = {row[0] for row in await pool.fetch("SELECT name FROM bulk_load_dropped")}
    assert left == set(account)
    assert sorted(await bulkload.leave_concurrently(pool, bulkload.ACCOUNT)) == sorted(account)


async def test_leave_and_analyze_rebuilds_and_analyses_the_grown_tables(pool: asyncpg.Pool) -> None:
    """The tables the rebuild does not build on are analysed beside it, the rebuilt ones after it: every
    deferred item comes back, and each grown table (never analysed: all of them) has statistics."""
    tables = ("blocks", "account_txs", "transfers")
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.ACCOUNT)
    analysed = await bulkload.leave_and_analyze(pool, bulkload.ACCOUNT, tables)
    assert sorted(analysed) == sorted(tables)
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0
    assert len(dropped) > 0
    await pool.execute("SELECT pg_stat_clear_snapshot()")
    never = await pool.fetchval(
        "SELECT count(*) FROM pg_stat_user_tables WHERE relname = ANY($1::text[]) AND last_analyze IS NULL",
        list(tables),
    )
    assert never == 0
