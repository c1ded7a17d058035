"""Migrations applied to a database that already holds rows, as an older release left it."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from conftest import admin, database_url

from tracer.store.migrations import available, migrate

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


async def test_concurrent_migrations_apply_each_version_once(pg_server_url: str) -> None:
    """Two processes starting at once on a fresh database: each version applied by exactly one of them
    (the applied versions are read first without the lock; the lock re-checks each missing one), and a
    later start applies nothing."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    await admin(pg_server_url, f"CREATE DATABASE {name}")
    conns = [await asyncpg.connect(database_url(pg_server_url, name)) for _ in range(2)]
    try:
        await migrate(conns[0], until=3)
        first, second = await asyncio.gather(migrate(conns[0]), migrate(conns[1]))
        assert sorted(first + second) == list(range(4, len(available()) + 1))
        assert await migrate(conns[1]) == []
    finally:
        for conn in conns:
            await conn.close()
        await admin(pg_server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
