"""Address ids: every address is stored once per chain and referenced by its integer id."""

from __future__ import annotations

from collections.abc import Collection

import asyncpg

_STAGING = "staging_addresses"


async def ensure_address_ids(
    conn: asyncpg.Connection, chain: str, addresses: Collection[str]
) -> dict[str, int]:
    """Return {address: id}, inserting the addresses not stored yet. Call inside a transaction."""
    if not addresses:
        return {}
    await conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (address text) ON COMMIT DELETE ROWS")
    await conn.execute(f"TRUNCATE {_STAGING}")
    await conn.copy_records_to_table(_STAGING, records=[(a,) for a in addresses])
    # Sorted insert so concurrent writers take row locks in one order (no deadlocks); the anti-join keeps
    # the identity sequence from being burnt on addresses we already have.
    await conn.execute(
        f"""INSERT INTO addresses (chain, address)
            SELECT DISTINCT $1::text, s.address FROM {_STAGING} s
            WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.chain = $1 AND a.address = s.address)
            ORDER BY s.address
            ON CONFLICT (chain, address) DO NOTHING""",
        chain,
    )
    rows = await conn.fetch(
        f"SELECT a.address, a.id FROM addresses a JOIN {_STAGING} s ON a.address = s.address"
        " WHERE a.chain = $1",
        chain,
    )
    return {row["address"]: row["id"] for row in rows}


async def find_address_id(conn: asyncpg.Connection | asyncpg.Pool, chain: str, address: str) -> int | None:
    value = await conn.fetchval("SELECT id FROM addresses WHERE chain = $1 AND address = $2", chain, address)
    return int(value) if value is not None else None
