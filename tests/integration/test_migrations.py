"""Migrations applied to a database that already holds rows, as an older release left it."""

from __future__ import annotations

import uuid

import asyncpg
from conftest import admin, database_url

from tracer.store.migrations import migrate

BEFORE_COLLATION_CHANGE = 23  # migration 024 changes addresses.address's collation


async def test_migrating_a_populated_database_keeps_address_statistics(pg_server_url: str) -> None:
    """PostgreSQL drops a column's statistics when its collation changes (024); without them the planner
    read 0.5 % of addresses for one screen (~35 ms). Migration 028 analyses the table again."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    await admin(pg_server_url, f"CREATE DATABASE {name}")
    conn = await asyncpg.connect(database_url(pg_server_url, name))
    try:
        assert await migrate(conn, until=BEFORE_COLLATION_CHANGE) == list(range(1, 24))
        await conn.execute(
            "INSERT INTO addresses (chain, address)"
            " SELECT 'bitcoin', 'addr' || n FROM generate_series(1, 5000) n"
        )
        await conn.execute("ANALYZE addresses")
        assert await _has_address_statistics(conn)

        await migrate(conn)

        assert await _has_address_statistics(conn)
        plan = await conn.fetchval(
            "EXPLAIN SELECT id FROM addresses WHERE chain = 'bitcoin' AND address = 'addr42'"
        )
        assert "Index" in plan
    finally:
        await conn.close()
        await admin(pg_server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _has_address_statistics(conn: asyncpg.Connection) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_stats WHERE tablename = 'addresses' AND attname = 'address'"
    )
    return bool(found)
