"""Cluster aggregates, precomputed at clustering time: first and last block seen, received and sent per asset,
and the labels inside (a summary, and the labelled members screening reads). A cluster summary -- or the
screening of any member -- is then an indexed read, whatever the cluster's size.

``refresh_aggregates`` recomputes the given clusters (or every cluster of a chain) from their members'
history; incremental runs pass only the clusters that changed or moved value since the last run.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

NATIVE_ASSET = ""  # the asset key of the chain's own coin in cluster_assets

_MEMBERS_OF_CHAIN = """SELECT ac.address_id, ac.cluster_id FROM address_clusters ac
    JOIN clusters c ON c.id = ac.cluster_id WHERE c.chain = $1"""
_MEMBERS_OF = """SELECT ac.address_id, ac.cluster_id FROM address_clusters ac
    WHERE ac.cluster_id = ANY($2::bigint[]) AND $1::text IS NOT NULL"""

_ASSETS = """
WITH members AS MATERIALIZED ({members}),
received AS (SELECT m.cluster_id, sum(o.value) AS value, min(t.block_height) AS lo, max(t.block_height) AS hi
             FROM members m JOIN tx_outputs o ON o.address_id = m.address_id
             JOIN transactions t ON t.id = o.tx_id GROUP BY 1),
sent AS (SELECT m.cluster_id, COALESCE(sum(i.value), 0) AS value, min(t.block_height) AS lo,
                max(t.block_height) AS hi
         FROM members m JOIN tx_inputs i ON i.address_id = m.address_id
         JOIN transactions t ON t.id = i.tx_id GROUP BY 1),
assets AS (INSERT INTO cluster_assets (cluster_id, asset, received, sent)
           SELECT COALESCE(r.cluster_id, s.cluster_id), '{native}', COALESCE(r.value, 0), COALESCE(s.value, 0)
           FROM received r FULL JOIN sent s ON s.cluster_id = r.cluster_id)
UPDATE clusters c SET first_height = x.lo, last_height = x.hi
FROM (SELECT cluster_id, min(lo) AS lo, max(hi) AS hi
      FROM (SELECT cluster_id, lo, hi FROM received UNION ALL SELECT cluster_id, lo, hi FROM sent) u
      GROUP BY 1) x
WHERE c.id = x.cluster_id
"""
# Account chains: per asset ('' for the native coin, else the token contract), from the transfers table.
_ACCOUNT_ASSETS = """
WITH members AS MATERIALIZED ({members}),
received AS (SELECT m.cluster_id, COALESCE(k.address, '') AS asset, sum(t.amount) AS value,
                    min(t.block_height) AS lo, max(t.block_height) AS hi
             FROM members m JOIN transfers t ON t.to_id = m.address_id LEFT JOIN tokens k ON k.id = t.asset_id
             GROUP BY 1, 2),
sent AS (SELECT m.cluster_id, COALESCE(k.address, '') AS asset, sum(t.amount) AS value,
                min(t.block_height) AS lo, max(t.block_height) AS hi
         FROM members m JOIN transfers t ON t.from_id = m.address_id LEFT JOIN tokens k ON k.id = t.asset_id
         GROUP BY 1, 2),
assets AS (INSERT INTO cluster_assets (cluster_id, asset, received, sent)
           SELECT COALESCE(r.cluster_id, s.cluster_id), COALESCE(r.asset, s.asset), COALESCE(r.value, 0),
                  COALESCE(s.value, 0)
           FROM received r FULL JOIN sent s ON s.cluster_id = r.cluster_id AND s.asset = r.asset)
UPDATE clusters c SET first_height = x.lo, last_height = x.hi
FROM (SELECT cluster_id, min(lo) AS lo, max(hi) AS hi
      FROM (SELECT cluster_id, lo, hi FROM received UNION ALL SELECT cluster_id, lo, hi FROM sent) u
      GROUP BY 1) x
WHERE c.id = x.cluster_id
"""
_LABELLED = """
WITH members AS MATERIALIZED ({members})
INSERT INTO cluster_labelled_members (cluster_id, address_id)
SELECT DISTINCT m.cluster_id, m.address_id FROM members m JOIN labels l ON l.address_id = m.address_id
"""
_SUMMARY = """
WITH per_category AS (
    SELECT lm.cluster_id, l.category, count(*) AS n,
           array_agg(DISTINCT lower(COALESCE(NULLIF(l.actor, ''), l.label))) AS owners
    FROM cluster_labelled_members lm JOIN labels l ON l.address_id = lm.address_id
    WHERE lm.cluster_id = ANY($1::bigint[]) AND l.tenant = 'public'
    GROUP BY 1, 2),
summary AS (
    SELECT cluster_id, sum(n)::integer AS n,
           jsonb_build_object('categories', jsonb_object_agg(category, n),
                              'owners', (SELECT jsonb_agg(DISTINCT o ORDER BY o) FROM per_category p2,
                                         unnest(p2.owners) o WHERE p2.cluster_id = p.cluster_id)) AS summary
    FROM per_category p GROUP BY cluster_id)
UPDATE clusters c SET label_count = COALESCE(s.n, 0), label_summary = COALESCE(s.summary, '{}'::jsonb)
FROM (SELECT unnest($1::bigint[]) AS id) ids LEFT JOIN summary s ON s.cluster_id = ids.id
WHERE c.id = ids.id
"""


async def refresh_aggregates(conn: asyncpg.Connection, chain: str, cluster_ids: Sequence[int] | None) -> None:
    """Recompute the aggregates of ``cluster_ids`` (None: every cluster of ``chain``)."""
    if cluster_ids is None:
        members: str = _MEMBERS_OF_CHAIN
        args: list[object] = [chain]
        await conn.execute(
            "DELETE FROM cluster_assets a USING clusters c WHERE c.id = a.cluster_id AND c.chain = $1", chain
        )
    else:
        members, args = _MEMBERS_OF, [chain, list(cluster_ids)]
        await conn.execute(
            "DELETE FROM cluster_assets WHERE cluster_id = ANY($1::bigint[])", list(cluster_ids)
        )
    assets = _ASSETS if chain == "bitcoin" else _ACCOUNT_ASSETS
    await conn.execute(assets.format(members=members, native=NATIVE_ASSET), *args)
    await refresh_labels(conn, chain, cluster_ids)


async def refresh_labels(conn: asyncpg.Connection, chain: str, cluster_ids: Sequence[int] | None) -> None:
    """Recompute which members carry labels, and the label summary (after clustering or a label import)."""
    args: list[object]
    if cluster_ids is None:
        members, args = _MEMBERS_OF_CHAIN, [chain]
        await conn.execute(
            """DELETE FROM cluster_labelled_members m USING clusters c
               WHERE c.id = m.cluster_id AND c.chain = $1""",
            chain,
        )
        ids = [r[0] for r in await conn.fetch("SELECT id FROM clusters WHERE chain = $1", chain)]
    else:
        members, args = _MEMBERS_OF, [chain, list(cluster_ids)]
        await conn.execute(
            "DELETE FROM cluster_labelled_members WHERE cluster_id = ANY($1::bigint[])", list(cluster_ids)
        )
        ids = list(cluster_ids)
    await conn.execute(_LABELLED.format(members=members), *args)
    await refresh_summary(conn, ids)


async def refresh_summary(conn: asyncpg.Connection, cluster_ids: Sequence[int]) -> None:
    """Label count and summary of ``cluster_ids`` from their labelled members (already current)."""
    await conn.execute(_SUMMARY, list(cluster_ids))


async def refresh_all_labels(conn: asyncpg.Connection) -> None:
    """After a label import: every chain's labelled members and summaries."""
    for row in await conn.fetch("SELECT DISTINCT chain FROM clusters"):
        await refresh_labels(conn, row[0], None)
