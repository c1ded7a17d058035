"""The token registry: one row per (chain, contract), with symbol / name / decimals when known."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

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


class TokenIds:
    """A writer's cache of token ids (one chain) in front of ``ensure_token_ids``: a batch of known tokens
    asks the database nothing. Ids a batch registered leave it again when that batch rolls back
    (``abort``); tokens are never deleted, so a committed id stays right."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self._ids: dict[str, int] = {}
        self._staged: list[str] = []

    async def ids(self, conn: asyncpg.Connection, contracts: Collection[str]) -> Mapping[str, int]:
        """{contract: id} for at least ``contracts``, registering the ones not stored yet."""
        missing = [c for c in contracts if c not in self._ids]
        if missing:
            fetched = await ensure_token_ids(conn, self.chain, missing)
            self._ids.update(fetched)
            self._staged += fetched
        return self._ids

    def commit(self) -> None:
        self._staged.clear()

    def abort(self) -> None:
        for contract in self._staged:
            self._ids.pop(contract, None)
        self._staged.clear()


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
