"""Read queries for the address and cluster views: members, evidence, vetoes."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg


@dataclass(frozen=True, slots=True)
class AssetTotals:
    asset: str  # "" for the chain's native coin, else the token contract
    received: int
    sent: int


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    """Precomputed at clustering time (tracer.store.cluster_aggregates): one indexed read at any size."""

    id: int
    chain: str
    size: int
    first_height: int | None = None
    last_height: int | None = None
    assets: tuple[AssetTotals, ...] = ()
    label_count: int = 0
    label_summary: dict[str, object] = field(default_factory=dict)
    resolved_from: int | None = None  # the id asked for, when it was retired by a merge into this cluster


# A cluster id is an address id (its smallest member). An id retired by a merge still names that address,
# whose row points at the cluster it is in now; an address in no cluster is a singleton of its own id.
_CLUSTER = """
SELECT c.id, c.chain, c.size, c.first_height, c.last_height, c.label_count, c.label_summary
FROM clusters c
WHERE c.id = COALESCE((SELECT ac.cluster_id FROM address_clusters ac WHERE ac.address_id = $1), $1)
"""
_SINGLETON = "SELECT a.id, a.chain FROM addresses a WHERE a.id = $1"
_ASSETS = "SELECT asset, received, sent FROM cluster_assets WHERE cluster_id = $1 ORDER BY asset"
_MEMBERS = """
SELECT a.id, a.address FROM addresses a
WHERE a.id IN (SELECT address_id FROM address_clusters WHERE cluster_id = $1) OR a.id = $1
ORDER BY a.id LIMIT $2 OFFSET $3
"""
_EVIDENCE_COLUMNS = """
SELECT e.id, e.heuristic, encode(e.txid, 'hex') AS txid, e.block_height, e.confidence, e.conditions,
       e.parameters, ARRAY(SELECT a.address FROM addresses a WHERE a.id = ANY(e.address_ids) ORDER BY a.id)
       AS addresses
FROM merge_evidence e
"""


async def cluster_summary(conn: asyncpg.Connection, cluster_id: int) -> ClusterSummary | None:
    row = await conn.fetchrow(_CLUSTER, cluster_id)
    if row is None:
        single = await conn.fetchrow(_SINGLETON, cluster_id)
        return ClusterSummary(single["id"], single["chain"], 1) if single else None
    assets = tuple(
        AssetTotals(r["asset"], int(r["received"]), int(r["sent"]))
        for r in await conn.fetch(_ASSETS, row["id"])
    )
    return ClusterSummary(
        id=row["id"],
        chain=row["chain"],
        size=row["size"],
        first_height=row["first_height"],
        last_height=row["last_height"],
        assets=assets,
        label_count=row["label_count"],
        label_summary=row["label_summary"],
        resolved_from=cluster_id if cluster_id != row["id"] else None,
    )


def summary_json(summary: ClusterSummary) -> dict[str, object]:
    """The summary as the API shows it; amounts as strings (uint256 does not fit a JSON number safely)."""
    return {
        "id": summary.id,
        "chain": summary.chain,
        "size": summary.size,
        "resolved_from": summary.resolved_from,
        "first_height": summary.first_height,
        "last_height": summary.last_height,
        "assets": [
            {"asset": a.asset or "native", "received": str(a.received), "sent": str(a.sent)}
            for a in summary.assets
        ],
        "label_count": summary.label_count,
        "label_summary": summary.label_summary,
    }


async def cluster_members(conn: asyncpg.Connection, cluster_id: int, limit: int, offset: int) -> list[str]:
    return [r["address"] for r in await conn.fetch(_MEMBERS, cluster_id, limit, offset)]


async def cluster_evidence(
    conn: asyncpg.Connection, cluster_id: int, limit: int, offset: int
) -> list[dict[str, object]]:
    rows = await conn.fetch(
        _EVIDENCE_COLUMNS
        + """JOIN address_clusters ac ON ac.address_id = e.anchor_id
             WHERE ac.cluster_id = $1 ORDER BY e.block_height, e.id LIMIT $2 OFFSET $3""",
        cluster_id,
        limit,
        offset,
    )
    return [dict(r) for r in rows]


async def address_evidence(conn: asyncpg.Connection, address_id: int, limit: int) -> list[dict[str, object]]:
    """Why is this address in its cluster: the merges that name it."""
    rows = await conn.fetch(
        _EVIDENCE_COLUMNS + "WHERE e.address_ids @> ARRAY[$1::bigint] ORDER BY e.block_height, e.id LIMIT $2",
        address_id,
        limit,
    )
    return [dict(r) for r in rows]


async def cluster_vetoes(conn: asyncpg.Connection, address_id: int, limit: int) -> list[dict[str, object]]:
    """Transactions this address spent in where a merge was vetoed (e.g. CoinJoins), and why."""
    rows = await conn.fetch(
        """SELECT v.heuristic, v.reason, encode(t.txid, 'hex') AS txid, v.block_height, v.detail
           FROM heuristic_vetoes v JOIN transactions t ON t.id = v.tx_id
           WHERE v.tx_id IN (SELECT tx_id FROM tx_inputs WHERE address_id = $1)
           ORDER BY v.block_height, t.id LIMIT $2""",
        address_id,
        limit,
    )
    return [dict(r) for r in rows]
