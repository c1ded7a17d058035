"""Read queries for the address and cluster views: members, evidence, vetoes."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class ClusterSummary:
    id: int
    chain: str
    size: int


_CLUSTER = """
SELECT c.id, c.chain, c.size FROM clusters c WHERE c.id = $1
UNION ALL
SELECT a.id, a.chain, 1 FROM addresses a
WHERE a.id = $1 AND NOT EXISTS (SELECT 1 FROM address_clusters ac WHERE ac.address_id = a.id)
"""
_MEMBERS = """
SELECT a.id, a.address FROM addresses a
WHERE a.id IN (SELECT address_id FROM address_clusters WHERE cluster_id = $1) OR a.id = $1
ORDER BY a.id LIMIT $2 OFFSET $3
"""
_EVIDENCE_COLUMNS = """
SELECT e.id, e.heuristic, encode(t.txid, 'hex') AS txid, e.block_height, e.confidence, e.conditions,
       e.parameters, ARRAY(SELECT a.address FROM addresses a WHERE a.id = ANY(e.address_ids) ORDER BY a.id)
       AS addresses
FROM merge_evidence e JOIN transactions t ON t.id = e.tx_id
"""


async def cluster_summary(conn: asyncpg.Connection, cluster_id: int) -> ClusterSummary | None:
    row = await conn.fetchrow(_CLUSTER, cluster_id)
    return ClusterSummary(row["id"], row["chain"], row["size"]) if row else None


async def cluster_members(conn: asyncpg.Connection, cluster_id: int, limit: int, offset: int) -> list[str]:
    return [r["address"] for r in await conn.fetch(_MEMBERS, cluster_id, limit, offset)]


async def cluster_evidence(
    conn: asyncpg.Connection, cluster_id: int, limit: int, offset: int
) -> list[dict[str, object]]:
    rows = await conn.fetch(
        _EVIDENCE_COLUMNS + "WHERE e.cluster_id = $1 ORDER BY e.block_height, e.id LIMIT $2 OFFSET $3",
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
