"""The token registry: one row per (chain, contract), with symbol / name / decimals when known."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import asyncpg

from chains.evm.tokens import TokenInfo


async def ensure_token_ids(
    conn: asyncpg.Connection, chain: str, addresses: Collection[str]
) -> dict[str, int]:
    """{contract: id}, inserting contracts not registered yet (metadata unknown). Call in a transaction."""
    if not addresses:
        return {}
    ordered = sorted(addresses)  # one lock order for concurrent writers
    await conn.execute(
        """INSERT INTO tokens (chain, address) SELECT $1, a FROM unnest($2::text[]) AS a
           ON CONFLICT (chain, address) DO NOTHING""",
        chain,
        ordered,
    )
    rows = await conn.fetch(
        "SELECT address, id FROM tokens WHERE chain = $1 AND address = ANY($2::text[])", chain, ordered
    )
    return {row["address"]: row["id"] for row in rows}


async def save_token_metadata(
    conn: asyncpg.Connection | asyncpg.Pool, chain: str, infos: Sequence[TokenInfo]
) -> None:
    """Registers tokens with what was read; a field that could not be read stays NULL."""
    if not infos:
        return
    await conn.executemany(
        """INSERT INTO tokens (chain, address, symbol, name, decimals, metadata_read_at)
           VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (chain, address) DO UPDATE
           SET symbol = EXCLUDED.symbol, name = EXCLUDED.name, decimals = EXCLUDED.decimals,
               metadata_read_at = now()""",
        [(chain, i.address, i.symbol, i.name, i.decimals) for i in infos],
    )
