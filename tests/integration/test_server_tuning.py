"""What a first pass tells the operator of a server it did not start (tracer.store.server_tuning)."""

from __future__ import annotations

import asyncpg

from tracer.store import server_tuning


async def test_advice_names_what_is_below_a_first_pass_and_only_that(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        shown = {name: await conn.fetchval(f"SHOW {name}") for name in server_tuning.bulk_load_settings()}
        advice = await server_tuning.advice(conn)
    wanted = server_tuning.bulk_load_settings()
    # the test server runs PostgreSQL's defaults: 1GB of WAL, 5min between checkpoints
    assert advice["max_wal_size"] == f"{shown['max_wal_size']} -> {wanted['max_wal_size']}"
    assert advice["checkpoint_timeout"] == "5min -> 30min"
    assert set(advice) <= set(wanted)


def test_shared_buffers_an_eighth_of_the_ram_within_bounds() -> None:
    assert server_tuning.shared_buffers_mb(24 * 2**30) == 1024
    assert server_tuning.shared_buffers_mb(4 * 2**30) == 512
    assert server_tuning.shared_buffers_mb(512 * 2**20) == 128
    assert server_tuning.bulk_load_settings()["max_wal_size"] == "4GB"
