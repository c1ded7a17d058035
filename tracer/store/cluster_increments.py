"""Cluster aggregates kept up to date by an incremental run without reading any cluster's whole history.

Union-find never splits a cluster, so a run changes clusters in two ways only: whole clusters fold into a
survivor (the smallest id), and addresses that were in no cluster join one. The aggregates of a cluster
after the run are therefore
  the aggregates its folded clusters had (summed into the survivor: received and sent per asset, first and
  last block, labelled members)
  + the history, up to the last run, of the addresses that joined it
  + what every member did in the blocks (transactions) of this run
  + on Bitcoin, the values of inputs below the last run that the indexer resolved since (cluster_late_inputs).
Every term is exact integer arithmetic over rows the full computation (tracer.store.cluster_aggregates)
reads too, so batch and incremental runs store the same aggregates
(tests/integration/test_cluster_incremental.py).
The cost follows what changed, not the size of the clusters: a million-address exchange cluster that gains
one deposit costs one address's history and the new block.

Call ``stash_folds`` before the membership is written (it deletes the folded clusters, and their
aggregates with them), then ``add_increment`` after it.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import numpy as np
import numpy.typing as npt

from tracer.store.bincopy import copy_pairs_in
from tracer.store.cluster_aggregates import NATIVE_ASSET, refresh_summary

Ids = npt.NDArray[np.int64]

_STASH = """
CREATE TEMP TABLE _fold_assets ON COMMIT DROP AS
    SELECT f.survivor AS cluster_id, a.asset, sum(a.received) AS received, sum(a.sent) AS sent
    FROM cluster_assets a JOIN _fold f ON f.retired = a.cluster_id GROUP BY 1, 2;
CREATE TEMP TABLE _fold_heights ON COMMIT DROP AS
    SELECT f.survivor AS cluster_id, min(c.first_height) AS lo, max(c.last_height) AS hi
    FROM clusters c JOIN _fold f ON f.retired = c.id GROUP BY 1;
CREATE TEMP TABLE _fold_labelled ON COMMIT DROP AS
    SELECT DISTINCT f.survivor AS cluster_id, m.address_id
    FROM cluster_labelled_members m JOIN _fold f ON f.retired = m.cluster_id;
"""
_UNSTASH = """
INSERT INTO cluster_assets (cluster_id, asset, received, sent) SELECT cluster_id, asset, received, sent
FROM _fold_assets
ON CONFLICT (cluster_id, asset) DO UPDATE
SET received = cluster_assets.received + EXCLUDED.received, sent = cluster_assets.sent + EXCLUDED.sent;
UPDATE clusters c SET first_height = LEAST(c.first_height, h.lo), last_height = GREATEST(c.last_height, h.hi)
FROM _fold_heights h WHERE c.id = h.cluster_id;
INSERT INTO cluster_labelled_members (cluster_id, address_id) SELECT cluster_id, address_id
FROM _fold_labelled ON CONFLICT DO NOTHING;
DROP TABLE _fold_assets, _fold_heights, _fold_labelled, _fold;
"""
# (address, asset, received, sent, height) rows of what changed, by member; {activity} is one of below.
_APPLY = """
WITH activity AS MATERIALIZED ({activity}),
per_cluster AS (
    SELECT ac.cluster_id, x.asset, sum(x.received) AS received, COALESCE(sum(x.sent), 0) AS sent,
           min(x.height) AS lo, max(x.height) AS hi
    FROM activity x JOIN address_clusters ac ON ac.address_id = x.address_id
    GROUP BY 1, 2),
assets AS (
    INSERT INTO cluster_assets (cluster_id, asset, received, sent)
    SELECT cluster_id, asset, received, sent FROM per_cluster
    ON CONFLICT (cluster_id, asset) DO UPDATE
    SET received = cluster_assets.received + EXCLUDED.received, sent = cluster_assets.sent + EXCLUDED.sent)
UPDATE clusters c SET first_height = LEAST(c.first_height, h.lo), last_height = GREATEST(c.last_height, h.hi)
FROM (SELECT cluster_id, min(lo) AS lo, max(hi) AS hi FROM per_cluster GROUP BY 1) h
WHERE c.id = h.cluster_id
"""
# Bitcoin: $1 = the last run's last tx id, $2 = this run's; $3 = the chain. One index-friendly part per term.
_UTXO_ACTIVITY = f"""
    SELECT o.address_id, '{NATIVE_ASSET}' AS asset, o.value AS received, 0::bigint AS sent,
           t.block_height AS height
    FROM tx_outputs o JOIN transactions t ON t.id = o.tx_id
    WHERE o.tx_id > $1 AND o.tx_id <= $2 AND t.chain = $3 AND o.address_id IS NOT NULL
    UNION ALL
    SELECT o.address_id, '{NATIVE_ASSET}', o.value, 0, t.block_height
    FROM _joined j JOIN tx_outputs o ON o.address_id = j.a JOIN transactions t ON t.id = o.tx_id
    WHERE o.tx_id <= $1
    UNION ALL
    SELECT i.address_id, '{NATIVE_ASSET}', 0, i.value, t.block_height
    FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
    WHERE i.tx_id > $1 AND i.tx_id <= $2 AND t.chain = $3 AND i.address_id IS NOT NULL
    UNION ALL
    SELECT i.address_id, '{NATIVE_ASSET}', 0, i.value, t.block_height
    FROM _joined j JOIN tx_inputs i ON i.address_id = j.a JOIN transactions t ON t.id = i.tx_id
    WHERE i.tx_id <= $1
    UNION ALL
    SELECT i.address_id, '{NATIVE_ASSET}', 0, i.value, t.block_height
    FROM cluster_late_inputs q JOIN tx_inputs i ON i.tx_id = q.tx_id AND i.vin = q.vin
    JOIN transactions t ON t.id = i.tx_id
    WHERE q.chain = $3 AND q.tx_id <= $1 AND i.address_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM _joined j WHERE j.a = i.address_id)
"""
# Account chains: $1 = the last run's top block, $2 = this run's; $3 = the chain.
_ACCOUNT_ACTIVITY = """
    SELECT t.to_id AS address_id, COALESCE(k.address, '') AS asset, t.amount AS received,
           0::numeric AS sent, t.block_height AS height
    FROM transfers t LEFT JOIN tokens k ON k.id = t.asset_id
    WHERE t.chain = $3 AND t.block_height > $1 AND t.block_height <= $2
    UNION ALL
    SELECT t.to_id, COALESCE(k.address, ''), t.amount, 0, t.block_height
    FROM _joined j JOIN transfers t ON t.to_id = j.a LEFT JOIN tokens k ON k.id = t.asset_id
    WHERE t.chain = $3 AND t.block_height <= $1
    UNION ALL
    SELECT t.from_id, COALESCE(k.address, ''), 0, t.amount, t.block_height
    FROM transfers t LEFT JOIN tokens k ON k.id = t.asset_id
    WHERE t.chain = $3 AND t.block_height > $1 AND t.block_height <= $2
    UNION ALL
    SELECT t.from_id, COALESCE(k.address, ''), 0, t.amount, t.block_height
    FROM _joined j JOIN transfers t ON t.from_id = j.a LEFT JOIN tokens k ON k.id = t.asset_id
    WHERE t.chain = $3 AND t.block_height <= $1
"""
_JOINED_LABELS = """
INSERT INTO cluster_labelled_members (cluster_id, address_id)
SELECT DISTINCT j.c, j.a FROM _joined j JOIN labels l ON l.address_id = j.a ON CONFLICT DO NOTHING
"""


@dataclass(frozen=True, slots=True)
class Increment:
    chain: str
    utxo: bool  # Bitcoin (transaction ids) or an account chain (block heights)
    span: tuple[int, int]  # (last run's, this run's): tx ids on Bitcoin, block heights on account chains
    joined: Ids  # addresses that were in no cluster and are now in one
    joined_clusters: Ids  # their clusters, parallel


async def stash_folds(conn: asyncpg.Connection, retired: Ids, survivors: Ids) -> None:
    """Keep the aggregates of the clusters about to fold into ``survivors`` (parallel to ``retired``)."""
    await conn.execute("CREATE TEMP TABLE _fold (retired bigint, survivor bigint) ON COMMIT DROP")
    await copy_pairs_in(conn, "_fold", ("retired", "survivor"), retired, survivors)
    await conn.execute(_STASH)


async def add_increment(conn: asyncpg.Connection, increment: Increment, changed: Ids) -> None:
    """After the membership is written: fold the stashed aggregates into their survivors, add what changed,
    and redo the label summary of ``changed`` clusters (survivors and clusters that gained members)."""
    await conn.execute(_UNSTASH)
    await conn.execute("CREATE TEMP TABLE _joined (a bigint PRIMARY KEY, c bigint) ON COMMIT DROP")
    await copy_pairs_in(conn, "_joined", ("a", "c"), increment.joined, increment.joined_clusters)
    await conn.execute("ANALYZE _joined")
    activity = _UTXO_ACTIVITY if increment.utxo else _ACCOUNT_ACTIVITY
    await conn.execute(_APPLY.format(activity=activity), *increment.span, increment.chain)
    await conn.execute(_JOINED_LABELS)
    await conn.execute("DROP TABLE _joined")
    await refresh_summary(conn, changed.tolist())
