"""Queries behind screening and address views: cluster, labels, activity and 1-hop counterparties."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True, slots=True)
class AddressRow:
    id: int
    cluster_id: int
    cluster_size: int


@dataclass(frozen=True, slots=True)
class LabelRow:
    address_id: int
    address: str
    cluster_id: int
    label: str
    category: str
    categories: list[str]
    actor: str | None
    confidence: str | None
    reference: str | None
    source: str


@dataclass(frozen=True, slots=True)
class CounterpartyRow:
    address_id: int
    address: str
    cluster_id: int
    direction: str  # sent_to | received_from
    amount: int
    tx_count: int


@dataclass(frozen=True, slots=True)
class Activity:
    tx_count: int
    received: int
    sent: int  # of inputs whose value is known
    inputs_value_unknown: int  # spends whose spent output is not indexed yet: `sent` is a lower bound
    first_height: int | None
    last_height: int | None


_ADDRESS = """
SELECT a.id, COALESCE(ac.cluster_id, a.id) AS cluster_id, COALESCE(c.size, 1) AS cluster_size
FROM addresses a
LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
WHERE a.chain = $1 AND a.address = $2
"""
# Labels of a set of addresses (``targets``), each with its cluster id. Labels are sparse among a cluster's
# members, which the planner cannot know: it would hash-join every label. The LATERAL subquery with OFFSET 0
# (not flattened) probes the label index once per target instead, and the few hits are completed by index
# lookups (measured on a 3,804-address cluster: 32 ms -> 5 ms). Clusters of millions want a precomputed
# cluster -> labels table (ROADMAP 4/5).
_LABELS_OF_TARGETS = """,
hits AS MATERIALIZED (
    SELECT l.* FROM targets t
    CROSS JOIN LATERAL (SELECT * FROM labels x WHERE x.address_id = t.address_id
                        AND x.tenant = ANY($1::text[]) OFFSET 0) l)
SELECT l.address_id,
       (SELECT a.address FROM addresses a WHERE a.id = l.address_id) AS address,
       COALESCE((SELECT ac.cluster_id FROM address_clusters ac WHERE ac.address_id = l.address_id),
                l.address_id) AS cluster_id,
       l.label, l.category, l.categories, l.actor, l.confidence, l.reference,
       (SELECT s.title FROM label_sources s WHERE s.id = l.source_id) AS source
FROM hits l
ORDER BY l.address_id, l.id
"""
# A cluster's members: the cluster id is its smallest member (for a singleton, the address itself).
_CLUSTER_LABELS = (
    """WITH targets AS (SELECT $2::bigint AS address_id
                    UNION SELECT address_id FROM address_clusters WHERE cluster_id = $2)"""
    + _LABELS_OF_TARGETS
)
_LABELS_OF = (
    """WITH targets AS (SELECT unnest($2::bigint[]) AS address_id
                    UNION SELECT address_id FROM address_clusters WHERE cluster_id = ANY($3::bigint[]))"""
    + _LABELS_OF_TARGETS
)
# Largest counterparties first in each direction; amounts are what moved between the two addresses:
# sent_to sums the outputs paid to the counterparty in transactions the address spent from;
# received_from sums what the address received in transactions the counterparty spent from.
_COUNTERPARTIES = """
WITH spent AS (SELECT DISTINCT tx_id FROM tx_inputs WHERE address_id = $1),
     recv AS (SELECT tx_id, sum(value) AS value FROM tx_outputs WHERE address_id = $1 GROUP BY tx_id),
     sent_to AS (
        SELECT o.address_id, 'sent_to' AS direction, sum(o.value) AS amount, count(DISTINCT o.tx_id) AS txs
        FROM tx_outputs o JOIN spent USING (tx_id)
        WHERE o.address_id IS NOT NULL AND o.address_id <> $1
        GROUP BY o.address_id ORDER BY amount DESC, o.address_id LIMIT $2),
     payers AS (
        SELECT DISTINCT i.tx_id, i.address_id FROM tx_inputs i JOIN recv USING (tx_id)
        WHERE i.address_id IS NOT NULL AND i.address_id <> $1),
     received_from AS (
        SELECT p.address_id, 'received_from' AS direction, sum(r.value) AS amount, count(*) AS txs
        FROM payers p JOIN recv r USING (tx_id)
        GROUP BY p.address_id ORDER BY amount DESC, p.address_id LIMIT $2)
SELECT cp.address_id, a.address, COALESCE(ac.cluster_id, cp.address_id) AS cluster_id, cp.direction,
       cp.amount, cp.txs
FROM (SELECT * FROM sent_to UNION ALL SELECT * FROM received_from) cp
JOIN addresses a ON a.id = cp.address_id
LEFT JOIN address_clusters ac ON ac.address_id = cp.address_id
"""
_ACTIVITY = """
WITH touched AS (
    SELECT tx_id FROM tx_outputs WHERE address_id = $1
    UNION SELECT tx_id FROM tx_inputs WHERE address_id = $1)
SELECT (SELECT count(*) FROM touched) AS tx_count,
       (SELECT COALESCE(sum(value), 0) FROM tx_outputs WHERE address_id = $1) AS received,
       (SELECT COALESCE(sum(value), 0) FROM tx_inputs WHERE address_id = $1) AS sent,
       (SELECT count(*) FROM tx_inputs WHERE address_id = $1 AND value IS NULL) AS inputs_value_unknown,
       (SELECT min(t.block_height) FROM transactions t JOIN touched ON t.id = touched.tx_id) AS first_height,
       (SELECT max(t.block_height) FROM transactions t JOIN touched ON t.id = touched.tx_id) AS last_height
"""


async def find_address(conn: asyncpg.Connection, chain: str, address: str) -> AddressRow | None:
    row = await conn.fetchrow(_ADDRESS, chain, address)
    return AddressRow(row["id"], row["cluster_id"], row["cluster_size"]) if row else None


async def cluster_labels(conn: asyncpg.Connection, cluster_id: int, tenants: Sequence[str]) -> list[LabelRow]:
    """Labels on any member of the cluster (for a singleton: on the address whose id it is)."""
    return [LabelRow(**dict(r)) for r in await conn.fetch(_CLUSTER_LABELS, tenants, cluster_id)]


async def counterparties(conn: asyncpg.Connection, address_id: int, limit: int) -> list[CounterpartyRow]:
    rows = await conn.fetch(_COUNTERPARTIES, address_id, limit)
    return [
        CounterpartyRow(
            r["address_id"], r["address"], r["cluster_id"], r["direction"], int(r["amount"]), r["txs"]
        )
        for r in rows
    ]


async def labels_of(
    conn: asyncpg.Connection, address_ids: Sequence[int], cluster_ids: Sequence[int], tenants: Sequence[str]
) -> list[LabelRow]:
    if not address_ids and not cluster_ids:
        return []
    rows = await conn.fetch(_LABELS_OF, tenants, list(address_ids), list(cluster_ids))
    return [LabelRow(**dict(r)) for r in rows]


async def activity(conn: asyncpg.Connection, address_id: int) -> Activity:
    row = await conn.fetchrow(_ACTIVITY, address_id)
    if row is None:  # an aggregate query always returns one row
        raise RuntimeError("activity query returned no row")
    return Activity(
        tx_count=row["tx_count"],
        received=int(row["received"]),
        sent=int(row["sent"]),
        inputs_value_unknown=row["inputs_value_unknown"],
        first_height=row["first_height"],
        last_height=row["last_height"],
    )
