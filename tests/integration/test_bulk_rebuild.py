"""The rebuild at the end of a first pass on several connections (``bulkload.leave_concurrently``): every
deferred check and index comes back exactly once, and the schema ends as it started (every key validated),
also when a rebuild was killed after its foreign keys came back unvalidated."""

from __future__ import annotations

import asyncpg
import pytest

from tracer.store import bulkload
from tracer.store.chaindata import BLOCK_DELETE_KEYS, SPENT_LOOKUP_KEYS, delete_from_height

_SCHEMA = """
SELECT c.conrelid::regclass::text || ':' || pg_get_constraintdef(c.oid) || ':' || c.convalidated
FROM pg_constraint c
WHERE c.conrelid = ANY('{addresses,transactions,tx_outputs,tx_inputs}'::regclass[])
UNION ALL
SELECT indexdef FROM pg_indexes WHERE tablename IN ('addresses', 'transactions', 'tx_outputs', 'tx_inputs')
ORDER BY 1
"""


async def test_concurrent_rebuild_restores_each_deferred_item_once(pool: asyncpg.Pool) -> None:
    before = [row[0] for row in await pool.fetch(_SCHEMA)]
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    assert len(dropped) == 13
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


async def killed_with_keys_unvalidated(pool: asyncpg.Pool) -> list[str]:
    """The state a rebuild killed -9 after its first transaction leaves: the foreign keys back as NOT
    VALID, every item still recorded; returns the recorded names."""
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
        await bulkload._add_unvalidated(conn, bulkload.BITCOIN)
    unvalidated = await pool.fetchval("SELECT count(*) FROM pg_constraint WHERE NOT convalidated")
    assert unvalidated == 5  # transactions->blocks, outputs and inputs ->transactions and ->addresses
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == len(dropped) == 13
    return dropped


@pytest.mark.parametrize("concurrently", [True, False])
async def test_a_rebuild_killed_with_keys_unvalidated_is_finished_by_the_next(
    concurrently: bool, pool: asyncpg.Pool
) -> None:
    before = [row[0] for row in await pool.fetch(_SCHEMA)]
    dropped = await killed_with_keys_unvalidated(pool)
    if concurrently:
        rebuilt = await bulkload.leave_concurrently(pool, bulkload.BITCOIN)
    else:
        async with pool.acquire() as conn:
            rebuilt = await bulkload.leave(conn, bulkload.BITCOIN)
    assert sorted(rebuilt) == sorted(dropped)
    assert [row[0] for row in await pool.fetch(_SCHEMA)] == before
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0


async def test_a_first_pass_after_a_killed_rebuild_defers_the_unvalidated_keys_again(
    pool: asyncpg.Pool,
) -> None:
    before = [row[0] for row in await pool.fetch(_SCHEMA)]
    dropped = await killed_with_keys_unvalidated(pool)
    recorded = await pool.fetch("SELECT name, definition FROM bulk_load_dropped ORDER BY name")
    async with pool.acquire() as conn:
        again = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    assert len(again) == 5  # the unvalidated keys, dropped again; their records kept as they were
    assert await pool.fetch("SELECT name, definition FROM bulk_load_dropped ORDER BY name") == recorded
    assert all("NOT VALID" not in row["definition"] for row in recorded)
    assert sorted(await bulkload.leave_concurrently(pool, bulkload.BITCOIN)) == sorted(dropped)
    assert [row[0] for row in await pool.fetch(_SCHEMA)] == before


async def test_the_rebuild_refreshes_the_statistics_it_is_given(pool: asyncpg.Pool) -> None:
    tables = ["addresses", "tx_outputs"]
    count = "SELECT sum(analyze_count) FROM pg_stat_user_tables WHERE relname = ANY($1::text[])"
    before = await pool.fetchval(count, tables)
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    rebuilt = await bulkload.leave_concurrently(pool, bulkload.BITCOIN, analyze=tables)
    assert sorted(rebuilt) == sorted(dropped)  # the ANALYZE steps are not among the rebuilt items
    assert await pool.fetchval(count, tables) == before + len(tables)


async def test_a_reader_of_deferred_keys_rebuilds_them_first_and_the_pass_keeps_them(
    pool: asyncpg.Pool,
) -> None:
    """A writer that looks up stored outputs (or deletes blocks) in a first pass rebuilds the keys it reads
    through, in its own transaction; the rest stays deferred until the pass ends; the schema ends whole."""
    before = [row[0] for row in await pool.fetch(_SCHEMA)]
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
        assert set(SPENT_LOOKUP_KEYS) | set(BLOCK_DELETE_KEYS) <= set(dropped)
        async with conn.transaction():
            await bulkload.need(conn, SPENT_LOOKUP_KEYS)
            await bulkload.need(conn, SPENT_LOOKUP_KEYS)  # a second reader finds nothing left to build
        built = {
            r[0]
            for r in await conn.fetch(
                "SELECT conname FROM pg_constraint WHERE conname = ANY($1)", list(SPENT_LOOKUP_KEYS)
            )
        }
        assert built == set(SPENT_LOOKUP_KEYS)
        await delete_from_height(conn, "bitcoin", 0)  # outside a transaction: need opens its own
    left = {row[0] for row in await pool.fetch("SELECT name FROM bulk_load_dropped")}
    assert left == set(dropped) - set(SPENT_LOOKUP_KEYS) - set(BLOCK_DELETE_KEYS)
    rebuilt = await bulkload.leave_concurrently(pool, bulkload.BITCOIN)
    assert sorted(rebuilt) == sorted(left)
    assert [row[0] for row in await pool.fetch(_SCHEMA)] == before


async def test_a_reader_that_rolls_back_leaves_the_keys_deferred(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        dropped = await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await bulkload.need(conn, SPENT_LOOKUP_KEYS)
                raise RuntimeError("the batch failed")
    left = {row[0] for row in await pool.fetch("SELECT name FROM bulk_load_dropped")}
    assert left == set(dropped)
    assert sorted(await bulkload.leave_concurrently(pool, bulkload.BITCOIN)) == sorted(dropped)
