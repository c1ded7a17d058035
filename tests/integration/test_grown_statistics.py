"""Statistics refreshed by size (``tracer.store.pool.refresh_grown_statistics``): a table is analysed when a
tenth of it changed since its last ANALYZE, not whenever 1,000 rows did -- one more block on a big store
must not re-analyse the big tables (1M-tx bench chain: 1.1-2.9 s of a block's 2.3-7.4 s)."""

from __future__ import annotations

import asyncpg

from tracer.store.pool import STATISTICS_MIN_ROWS, refresh_grown_statistics

ROWS = 30_000


async def _insert(conn: asyncpg.Connection, first: int, count: int) -> None:
    await conn.execute(
        "INSERT INTO addresses (chain, address)"
        " SELECT 'bitcoin', 'a' || n FROM generate_series($1::int, $2::int) n",
        first,
        first + count - 1,
    )
    await conn.execute("SELECT pg_stat_force_next_flush()")  # counters reach the shared stats now


async def _mods(conn: asyncpg.Connection) -> int:
    await conn.execute("SELECT pg_stat_clear_snapshot()")
    return int(
        await conn.fetchval("SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'addresses'")
    )


async def test_a_table_is_analysed_when_a_tenth_of_it_changed(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as writer, pool.acquire() as reader:
        await _insert(writer, 0, ROWS)
        await writer.execute("ANALYZE addresses")
        small = 2 * STATISTICS_MIN_ROWS  # above the floor, below a tenth of the table
        await _insert(writer, ROWS, small)
        assert await _mods(reader) == small
        assert await refresh_grown_statistics(reader, ("addresses",)) == []
        await _insert(writer, ROWS + small, ROWS // 10)
        assert await _mods(reader) == small + ROWS // 10
        assert await refresh_grown_statistics(reader, ("addresses",)) == ["addresses"]
        assert await _mods(reader) == 0
