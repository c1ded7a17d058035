"""Screening queries for account-model chains (Ethereum, TRON): activity and 1-hop counterparties through
native, token and internal transfers, per asset. The Bitcoin queries are in ``tracer.store.screening``;
``tracer.risk.screening`` picks one module per chain (``ACCOUNT_CHAINS``).

Amounts are integers in the asset's base units (wei / sun for the native coin, token units otherwise);
symbol and decimals come from the token registry when they could be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from chains.model import Chain
from tracer.store.screening import Activity, CounterpartyRow

ACCOUNT_CHAINS = frozenset({Chain.ETHEREUM, Chain.TRON})


@dataclass(frozen=True, slots=True)
class AssetCounterpartyRow(CounterpartyRow):
    """A counterparty for one asset: the same address appears once per asset it moved."""

    asset: str | None = None  # token contract; None: the native coin
    symbol: str | None = None
    decimals: int | None = None

    def unit(self, native_unit: str) -> str:
        if self.asset is None:
            return native_unit
        return self.symbol or f"units of token {self.asset}"

    def asset_json(self) -> dict[str, object]:
        return {"asset": self.asset or "native", "symbol": self.symbol, "decimals": self.decimals}


@dataclass(frozen=True, slots=True)
class AccountActivity(Activity):
    assets: list[dict[str, object]] = field(default_factory=list)  # per asset: received, sent, transfers


# Largest counterparties first in each direction and asset; amounts are what moved between the two.
_COUNTERPARTIES = """
WITH sent_to AS (
        SELECT to_id AS address_id, asset_id, 'sent_to' AS direction, sum(amount) AS amount,
               count(DISTINCT tx_hash) AS txs
        FROM transfers WHERE from_id = $1 AND to_id <> $1
        GROUP BY to_id, asset_id ORDER BY amount DESC, to_id LIMIT $2),
     received_from AS (
        SELECT from_id AS address_id, asset_id, 'received_from' AS direction, sum(amount) AS amount,
               count(DISTINCT tx_hash) AS txs
        FROM transfers WHERE to_id = $1 AND from_id <> $1
        GROUP BY from_id, asset_id ORDER BY amount DESC, from_id LIMIT $2)
SELECT cp.address_id, a.address, COALESCE(ac.cluster_id, cp.address_id) AS cluster_id, cp.direction,
       cp.amount, cp.txs, k.address AS asset, k.symbol, k.decimals
FROM (SELECT * FROM sent_to UNION ALL SELECT * FROM received_from) cp
JOIN addresses a ON a.id = cp.address_id
LEFT JOIN address_clusters ac ON ac.address_id = cp.address_id
LEFT JOIN tokens k ON k.id = cp.asset_id
ORDER BY cp.direction, cp.amount DESC, cp.address_id
"""
_ASSETS = """
SELECT k.address AS asset, k.symbol, k.decimals,
       sum(t.amount) FILTER (WHERE t.to_id = $1) AS received,
       sum(t.amount) FILTER (WHERE t.from_id = $1) AS sent,
       count(*) AS transfers
FROM transfers t LEFT JOIN tokens k ON k.id = t.asset_id
WHERE t.from_id = $1 OR t.to_id = $1
GROUP BY k.address, k.symbol, k.decimals
ORDER BY k.address NULLS FIRST
"""
_TXS = """
WITH touched AS (
    SELECT block_height, tx_hash FROM transfers WHERE from_id = $1 OR to_id = $1
    UNION SELECT block_height, hash FROM account_txs WHERE from_id = $1 OR to_id = $1 OR created_id = $1)
SELECT count(*) AS tx_count, min(block_height) AS first_height, max(block_height) AS last_height FROM touched
"""


async def counterparties(conn: asyncpg.Connection, address_id: int, limit: int) -> list[CounterpartyRow]:
    rows = await conn.fetch(_COUNTERPARTIES, address_id, limit)
    return [
        AssetCounterpartyRow(
            r["address_id"], r["address"], r["cluster_id"], r["direction"], int(r["amount"]), r["txs"],
            r["asset"], r["symbol"], r["decimals"],
        )
        for r in rows
    ]  # fmt: skip


async def activity(conn: asyncpg.Connection, address_id: int) -> Activity:
    """Transactions touching the address (its own, and those moving value to or from it), the native coin
    received and sent (base units), and the same per token."""
    txs = await conn.fetchrow(_TXS, address_id)
    assets = [
        {
            "asset": r["asset"] or "native",
            "symbol": r["symbol"],
            "decimals": r["decimals"],
            "received": int(r["received"] or 0),
            "sent": int(r["sent"] or 0),
            "transfers": r["transfers"],
        }
        for r in await conn.fetch(_ASSETS, address_id)
    ]
    native = next((a for a in assets if a["asset"] == "native"), {"received": 0, "sent": 0})
    return AccountActivity(
        tx_count=txs["tx_count"] if txs else 0,
        received=int(str(native["received"])),
        sent=int(str(native["sent"])),
        inputs_value_unknown=0,
        first_height=txs["first_height"] if txs else None,
        last_height=txs["last_height"] if txs else None,
        assets=assets,
    )
