"""What changed since a chain's last exposure refresh, so an incremental refresh redoes only that.

Three kinds of change, each found set-based in SQL from what the last refresh stored:
- new blocks: heights above ``exposure_state.last_height`` (their flows and activity are *added*);
- regrouped wallets: addresses whose cluster differs from ``exposure_wallets`` (a clustering run); the
  flows touching their old and new wallets are recomputed from those wallets' transactions;
- labels: ``wallet_labels`` rows and actor seeds that differ from the stored ones
  (tracer/store/exposure_labels.py).
The wallets whose flows changed land in the temp table ``exposure_touched``; those whose labels or hub
state changed in ``exposure_flagged``. An actor is searched again when its seeds changed, when a wallet it
expanded has new flows, or when a wallet it reached before its last hop was flagged (see REACHED_TOUCHED);
every other actor keeps its rows, which a new search would give again.
A reorg at the last height, other search bounds, or input values resolved since (they change old flows)
make the refresh a full one.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

TEMP_TABLES = """
CREATE TEMP TABLE exposure_regrouped (wallet bigint PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE exposure_touched (wallet bigint PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE exposure_flagged (wallet bigint PRIMARY KEY) ON COMMIT DROP;
CREATE TEMP TABLE exposure_affected (tenant text, actor_key text, PRIMARY KEY (tenant, actor_key))
    ON COMMIT DROP;
CREATE TEMP TABLE exposure_moved (address_id bigint PRIMARY KEY, old bigint, new bigint, clustered boolean)
    ON COMMIT DROP;
CREATE TEMP TABLE exposure_old_flows (LIKE wallet_flows) ON COMMIT DROP;
"""


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a chain's data stands: the top block, its hash, and the inputs of unknown value below it."""

    last_height: int
    last_hash: bytes | None
    pending_inputs: int


_TOP = "SELECT height, hash FROM blocks WHERE chain = $1 ORDER BY height DESC LIMIT 1"
_PENDING = """
SELECT count(*) FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
WHERE i.value IS NULL AND i.prev_txid IS NOT NULL AND t.chain = $1 AND t.block_height <= $2
"""


async def current_mark(conn: asyncpg.Connection, chain: str) -> Mark:
    top = await conn.fetchrow(_TOP, chain)
    height = top["height"] if top else -1
    return Mark(height, top["hash"] if top else None, await conn.fetchval(_PENDING, chain, height))


async def continuable(conn: asyncpg.Connection, chain: str, parameters: dict[str, object]) -> Mark | None:
    """The mark of the last refresh if an incremental one can follow it, else None (a full one must)."""
    row = await conn.fetchrow("SELECT * FROM exposure_state WHERE chain = $1", chain)
    if row is None or row["parameters"] != parameters:
        return None
    mark = Mark(row["last_height"], row["last_hash"], row["pending_inputs"])
    if mark.last_height >= 0:
        now = await conn.fetchval(
            "SELECT hash FROM blocks WHERE chain = $1 AND height = $2", chain, mark.last_height
        )
        if now != mark.last_hash:
            return None  # the block we stopped at was replaced or removed: a reorg or a re-index
    if await conn.fetchval(_PENDING, chain, mark.last_height) != mark.pending_inputs:
        return None  # an old input's value became known: old flows changed
    return mark


async def save_mark(conn: asyncpg.Connection, chain: str, parameters: dict[str, object], mark: Mark) -> None:
    await conn.execute(
        """INSERT INTO exposure_state (chain, parameters, last_height, last_hash, pending_inputs)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (chain) DO UPDATE SET parameters = $2, last_height = $3, last_hash = $4,
               pending_inputs = $5, refreshed_at = now()""",
        chain,
        parameters,
        mark.last_height,
        mark.last_hash,
        mark.pending_inputs,
    )


_CLUSTERED = """
SELECT ac.address_id, ac.cluster_id FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
WHERE a.chain = $1
"""
SNAPSHOT_WALLETS = f"""
INSERT INTO exposure_wallets (address_id, chain, wallet)
SELECT address_id, $1, cluster_id FROM ({_CLUSTERED}) c
"""
_MOVED = f"""
INSERT INTO exposure_moved
SELECT address_id, COALESCE(was.wallet, address_id), COALESCE(now.cluster_id, address_id),
       now.cluster_id IS NOT NULL
FROM ({_CLUSTERED}) now FULL JOIN (SELECT address_id, wallet FROM exposure_wallets WHERE chain = $1) was
    USING (address_id)
WHERE now.cluster_id IS DISTINCT FROM was.wallet
"""
_REGROUPED = """
INSERT INTO exposure_regrouped SELECT old FROM exposure_moved UNION SELECT new FROM exposure_moved
"""
_UPDATE_SNAPSHOT = [
    "DELETE FROM exposure_wallets w USING exposure_moved m WHERE w.address_id = m.address_id",
    """INSERT INTO exposure_wallets (address_id, chain, wallet)
       SELECT address_id, $1, new FROM exposure_moved WHERE clustered""",
]


async def find_regrouped(conn: asyncpg.Connection, chain: str) -> int:
    """Fill ``exposure_regrouped`` with the old and new wallets of addresses whose cluster changed, and
    bring the stored snapshot up to date. Returns how many wallets."""
    await conn.execute(_MOVED, chain)
    await conn.execute(_REGROUPED)
    await conn.execute(_UPDATE_SNAPSHOT[0])
    await conn.execute(_UPDATE_SNAPSHOT[1], chain)
    return int(await conn.fetchval("SELECT count(*) FROM exposure_regrouped"))


# The regrouped wallets' flows go, kept aside in ``exposure_old_flows`` until they are written again.
DROP_REGROUPED_FLOWS = [
    f"""WITH gone AS (DELETE FROM wallet_flows w USING exposure_regrouped r
                      WHERE w.chain = $1 AND w.{side} = r.wallet RETURNING w.*)
        INSERT INTO exposure_old_flows SELECT * FROM gone"""
    for side in ("src", "dst")
]
# Once they are written again: both ends of each flow that differs from before (new, gone or changed)
# count as touched. A regrouped wallet's other flows are what they were (a cluster that grew by a few
# addresses keeps most of its counterparties, amounts and transactions), so the actors that expanded those
# wallets read the same flows as before and need no new search.
REGROUPED_FLOWS_CHANGED = """
WITH now AS (
    SELECT w.* FROM wallet_flows w
    WHERE w.chain = $1 AND (w.src IN (SELECT wallet FROM exposure_regrouped)
                            OR w.dst IN (SELECT wallet FROM exposure_regrouped))),
differ AS (
    (TABLE exposure_old_flows EXCEPT ALL TABLE now)
    UNION ALL
    (TABLE now EXCEPT ALL TABLE exposure_old_flows))
INSERT INTO exposure_touched SELECT src FROM differ UNION SELECT dst FROM differ
ON CONFLICT DO NOTHING
"""
# Totals of the touched wallets, from their flows (as the full refresh computes every wallet's).
TOUCHED_TOTALS = [
    "DELETE FROM wallet_totals t USING exposure_touched x WHERE t.chain = $1 AND t.wallet = x.wallet",
    """INSERT INTO wallet_totals (chain, wallet, asset_id, incoming, outgoing, senders, receivers)
       SELECT $1, wallet, asset_id, sum(incoming), sum(outgoing), sum(sender), sum(receiver) FROM (
           SELECT w.dst AS wallet, w.asset_id, w.amount AS incoming, 0 AS outgoing, 1 AS sender, 0 AS receiver
           FROM wallet_flows w JOIN exposure_touched x ON x.wallet = w.dst WHERE w.chain = $1
           UNION ALL
           SELECT w.src, w.asset_id, 0, w.amount, 0, 1
           FROM wallet_flows w JOIN exposure_touched x ON x.wallet = w.src WHERE w.chain = $1) f
       GROUP BY wallet, asset_id""",
]
# A touched wallet that is (or was) a hub by the search's rule (more counterparties than max_fanout, $2) in
# either direction: one that turns hub or stops being one is flagged.
_HUBS = """
SELECT t.wallet, t.asset_id, t.senders > $2 AS hub_out, t.receivers > $2 AS hub_in
FROM wallet_totals t JOIN exposure_touched x ON x.wallet = t.wallet
WHERE t.chain = $1 AND (t.senders > $2 OR t.receivers > $2)
"""
KEEP_OLD_HUBS = f"CREATE TEMP TABLE exposure_old_hubs ON COMMIT DROP AS {_HUBS}"
REHUBBED = f"""
INSERT INTO exposure_flagged
SELECT wallet FROM (
    (TABLE exposure_old_hubs EXCEPT {_HUBS}) UNION ALL ({_HUBS} EXCEPT TABLE exposure_old_hubs)) d
ON CONFLICT DO NOTHING
"""
# Actors whose search read what changed: flows of a wallet it expanded (a seed, or a frontier: stored in
# exposure_frontiers), or the labels or hub state of a wallet it reached before its last hop ($2) (which
# decide whether that wallet is expanded). A wallet reached otherwise changes an actor's rows only through
# a flow from a wallet it expanded, which is touched too.
REACHED_TOUCHED = """
INSERT INTO exposure_affected
SELECT s.tenant, s.actor_key FROM exposure_seeds s
WHERE s.chain = $1
  AND s.wallet IN (SELECT wallet FROM exposure_touched UNION SELECT wallet FROM exposure_flagged)
UNION
SELECT f.tenant, f.actor_key FROM exposure_frontiers f JOIN exposure_touched t ON t.wallet = f.wallet
WHERE f.chain = $1
UNION
SELECT e.tenant, e.actor_key FROM wallet_exposure e JOIN exposure_flagged g ON g.wallet = e.wallet
WHERE e.chain = $1 AND e.hops < $2
ON CONFLICT DO NOTHING
"""
DROP_AFFECTED = [
    """DELETE FROM wallet_exposure e USING exposure_affected a
       WHERE e.chain = $1 AND e.tenant = a.tenant AND e.actor_key = a.actor_key""",
    """DELETE FROM exposure_cuts c USING exposure_affected a
       WHERE c.chain = $1 AND c.tenant = a.tenant AND c.actor_key = a.actor_key""",
    """DELETE FROM exposure_frontiers f USING exposure_affected a
       WHERE f.chain = $1 AND f.tenant = a.tenant AND f.actor_key = a.actor_key""",
]
