"""Ids drawn from a table's sequence as one range (tracer.store.sequences)."""

from __future__ import annotations

import asyncpg

from tracer.store.sequences import draw_range

_NEXT = "SELECT nextval(pg_get_serial_sequence('transactions', 'id'))"


async def test_a_range_is_fresh_consecutive_and_moves_the_sequence_past_it(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        before = await conn.fetchval(_NEXT)
        drawn = await draw_range(conn, "transactions", 20_000)
        after = await conn.fetchval(_NEXT)
        assert await draw_range(conn, "transactions", 0) == range(0)
    assert drawn == range(before + 1, before + 20_001)
    assert after == drawn[-1] + 1
