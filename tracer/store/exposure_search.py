"""The exposure search: each labelled actor's reach through ``wallet_flows``, up to ``hops`` away.

Per (tenant, actor, direction), breadth-first, set-based in SQL: hop k joins the hop k-1 frontier to its
flows. Invariants:
- a wallet's exposure to an actor is found at the fewest hops (a wallet already reached is not revisited);
- the actor's own wallets are ownership, not exposure (never reached);
- indirect exposure does not pass through a wallet that carries a label of its own: an identified service
  (exchange, mixer, another sanctioned party) is reported as its own actor, and stopping there keeps hubs
  from flooding the search;
- direct exposure is kept whole; each further hop keeps the ``max_reach`` largest per (tenant, actor,
  direction), and expands at most ``max_frontier`` of them, the largest amounts first, and no hub
  (more than ``max_fanout`` counterparties in the direction it would be expanded); a cut is recorded per
  actor (``exposure_cuts``), never silent.

Each actor's search reads only its seeds, the flows of the wallets it expands, the labels and totals of the
wallets it reaches, and its own earlier hops: so searching some actors again (``actors_only``) gives
exactly the rows a search of all of them gives for those actors.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tracer.risk.rules import Direction, Relation, default_rules


@dataclass(frozen=True, slots=True)
class ExposureParams:
    hops: int = 3  # indirect exposure reaches this far; 1 = direct counterparties only
    max_frontier: int = 500  # wallets expanded per (tenant, actor, direction) and hop
    # A wallet that paid (or was paid by) more wallets than this is a hub, an unlabelled service: through it
    # everyone is two hops from everyone. It is reached, not expanded (counted as a cut).
    max_fanout: int = 500
    # Indirect exposures kept per (tenant, actor, direction) and hop, largest first; direct ones all.
    max_reach: int = 5000


_FRONTIER_TABLES = """
CREATE TEMP TABLE exposure_frontier (
    tenant text, actor_key text, direction text, wallet bigint, asset_id bigint, amount numeric,
    unknown_txs integer, path bigint[], path_txids bytea[], weight real) ON COMMIT DROP;
CREATE TEMP TABLE exposure_next (LIKE exposure_frontier, rank bigint) ON COMMIT DROP;
CREATE TEMP TABLE exposure_hop (
    tenant text, actor_key text, direction text, wallet bigint, asset_id bigint, amount numeric,
    unknown_txs integer, tx_count integer, path bigint[], path_txids bytea[], txids bytea[], weight real,
    rank bigint
) ON COMMIT DROP;
"""
# An actor's seeds: its wallets, each with the actor's weight there (its worst label's category score, from
# the rules), so each exposure row is stored with its score and screening reads the riskiest first.
# Stored per chain (``exposure_seeds``): an incremental refresh compares them to find changed actors.
_SEEDS = """
SELECT l.tenant, l.actor_key, l.wallet, max(w.score)::real AS weight
FROM wallet_labels l {keys} JOIN labels x ON x.id = l.label_id
JOIN unnest($2::text[], $3::real[]) w (category, score) ON w.category = x.category
WHERE l.chain = $1
GROUP BY l.tenant, l.actor_key, l.wallet
"""
SEEDS_SQL = _SEEDS.format(keys="")
# Only the seeds of the (tenant, actor, wallet) keys in the temp table ``exposure_seed_keys`` (an
# incremental refresh's changed labels: tracer/store/exposure_labels.py).
SEEDS_OF_KEYS_SQL = _SEEDS.format(
    keys="JOIN exposure_seed_keys k"
    " ON k.tenant = l.tenant AND k.actor_key = l.actor_key AND k.wallet = l.wallet"
)
_SEED = """
INSERT INTO exposure_frontier
SELECT s.tenant, s.actor_key, d.direction, s.wallet, NULL::bigint, NULL::numeric, 0,
       ARRAY[s.wallet], '{}'::bytea[], s.weight
FROM exposure_seeds s CROSS JOIN (VALUES ('incoming'), ('outgoing')) d (direction)
WHERE s.chain = $1
"""
_ONLY_AFFECTED = " AND (s.tenant, s.actor_key) IN (SELECT tenant, actor_key FROM exposure_affected)"
# One hop for every frontier at once. Incoming: the frontier wallet paid the reached one; outgoing: the
# reached wallet paid the frontier. The amount is the bottleneck of the path (a path carries at most its
# smallest hop); of several paths to a wallet the widest wins.
_HOP = """
WITH cand AS (
    SELECT f.tenant, f.actor_key, f.direction, n.wallet, n.asset_id,
           CASE WHEN f.amount IS NULL THEN n.amount ELSE least(f.amount, n.amount) END AS amount,
           f.unknown_txs + n.unknown_txs AS unknown_txs, n.tx_count, f.path || n.wallet AS path,
           f.path_txids || n.txids[1] AS path_txids, n.txids, f.weight
    FROM exposure_frontier f
    CROSS JOIN LATERAL (
        SELECT w.dst AS wallet, w.asset_id, w.amount, w.unknown_txs, w.tx_count, w.txids
        FROM wallet_flows w
        WHERE f.direction = 'incoming' AND w.chain = $1 AND w.src = f.wallet
          AND w.asset_id = COALESCE(f.asset_id, w.asset_id)
        UNION ALL
        SELECT w.src, w.asset_id, w.amount, w.unknown_txs, w.tx_count, w.txids
        FROM wallet_flows w
        WHERE f.direction = 'outgoing' AND w.chain = $1 AND w.dst = f.wallet
          AND w.asset_id = COALESCE(f.asset_id, w.asset_id)) n
    WHERE NOT EXISTS (SELECT 1 FROM wallet_labels l WHERE l.wallet = n.wallet AND l.tenant = f.tenant
                      AND l.actor_key = f.actor_key)
      AND NOT EXISTS (SELECT 1 FROM wallet_exposure e WHERE e.wallet = n.wallet AND e.tenant = f.tenant
                      AND e.actor_key = f.actor_key AND e.direction = f.direction
                      AND e.asset_id = n.asset_id)),
    best AS (
    SELECT DISTINCT ON (tenant, actor_key, direction, wallet, asset_id) * FROM cand
    ORDER BY tenant, actor_key, direction, wallet, asset_id, amount DESC, unknown_txs, path)
INSERT INTO exposure_hop
SELECT *, row_number() OVER (PARTITION BY tenant, actor_key, direction ORDER BY amount DESC, wallet) AS rank
FROM best
"""
# Direct exposure is kept whole; indirect, the ``max_reach`` largest per (tenant, actor, direction).
_KEEP_HOP = """
INSERT INTO wallet_exposure (chain, wallet, tenant, actor_key, direction, asset_id, hops, amount,
                             unknown_txs, tx_count, path, path_txids, txids, score)
SELECT $1, wallet, tenant, actor_key, direction, asset_id, $2, amount, unknown_txs, tx_count, path,
       path_txids, txids,
       round(weight * $4::float8 * CASE WHEN direction = 'incoming' THEN $5::float8 ELSE $6::float8 END
             * power($7::float8, $2::int - 1))
FROM exposure_hop WHERE $2::int = 1 OR rank <= $3
"""
_NEXT_FRONTIER = """
INSERT INTO exposure_next
SELECT e.tenant, e.actor_key, e.direction, e.wallet, e.asset_id, e.amount, e.unknown_txs, e.path,
       e.path_txids, e.weight,
       row_number() OVER (PARTITION BY e.tenant, e.actor_key, e.direction ORDER BY e.amount DESC, e.wallet)
           AS rank
FROM exposure_hop e
WHERE ($1::int = 1 OR e.rank <= $2)
  AND NOT EXISTS (SELECT 1 FROM wallet_labels l
                  WHERE l.wallet = e.wallet AND l.tenant IN ('public', e.tenant))
"""
# Hubs stay out of the frontier: rank 0 marks them, so the cut is counted.
_HUB_RANK = """
UPDATE exposure_next n SET rank = 0
FROM wallet_totals t
WHERE t.chain = $1 AND t.wallet = n.wallet AND t.asset_id = n.asset_id
  AND CASE WHEN n.direction = 'incoming' THEN t.receivers ELSE t.senders END > $2
"""
_CUT_REACH = """
INSERT INTO exposure_cuts (chain, tenant, actor_key)
SELECT DISTINCT $1, tenant, actor_key FROM exposure_hop WHERE rank > $2 ON CONFLICT DO NOTHING
"""
_CUT_FRONTIER = """
INSERT INTO exposure_cuts (chain, tenant, actor_key)
SELECT DISTINCT $1, tenant, actor_key FROM exposure_next WHERE rank > $2 OR rank = 0 ON CONFLICT DO NOTHING
"""
_ADVANCE = """
INSERT INTO exposure_frontier
SELECT tenant, actor_key, direction, wallet, asset_id, amount, unknown_txs, path, path_txids, weight
FROM exposure_next WHERE rank BETWEEN 1 AND $1
"""
# Kept, so an incremental refresh knows which wallets' flows each actor read.
_KEEP_FRONTIER = """
INSERT INTO exposure_frontiers (chain, tenant, actor_key, wallet)
SELECT DISTINCT $1, tenant, actor_key, wallet FROM exposure_frontier ON CONFLICT DO NOTHING
"""


_HAS_FLOWS = "SELECT EXISTS (SELECT 1 FROM wallet_flows WHERE chain = $1)"


def rule_weights() -> tuple[list[str], list[float]]:
    """Each category's score under the rules: an actor's seed weight is its worst label's."""
    rules = default_rules()
    return [c.value for c in rules.category], [float(rules.category[c]) for c in rules.category]


async def search(
    conn: asyncpg.Connection, chain: str, params: ExposureParams, *, actors_only: bool = False
) -> None:
    """Write ``wallet_exposure``, ``exposure_cuts`` and ``exposure_frontiers`` of the chain's actors from
    ``exposure_seeds``: all of
    them, or (``actors_only``) those in the temp table ``exposure_affected``, whose old rows the caller
    deleted."""
    if not await conn.fetchval(_HAS_FLOWS, chain):
        return  # nothing to reach: no actor has exposure (the caller deleted the old rows)
    await conn.execute(_FRONTIER_TABLES)
    await conn.execute(_SEED + (_ONLY_AFFECTED if actors_only else ""), chain)
    rules = default_rules()
    weights = (
        rules.relation[Relation.COUNTERPARTY],
        rules.direction[Direction.INCOMING],
        rules.direction[Direction.OUTGOING],
        rules.hop_decay,
    )
    for hop in range(1, params.hops + 1):
        await conn.execute("TRUNCATE exposure_hop")
        await conn.execute(_HOP, chain)
        await conn.execute(_KEEP_HOP, chain, hop, params.max_reach, *weights)
        if hop > 1:
            await conn.execute(_CUT_REACH, chain, params.max_reach)
        if hop == params.hops:
            break
        await conn.execute("TRUNCATE exposure_next")
        await conn.execute(_NEXT_FRONTIER, hop, params.max_reach)
        await conn.execute(_HUB_RANK, chain, params.max_fanout)
        await conn.execute(_CUT_FRONTIER, chain, params.max_frontier)
        await conn.execute("TRUNCATE exposure_frontier")
        await conn.execute(_ADVANCE, params.max_frontier)
        await conn.execute(_KEEP_FRONTIER, chain)
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM exposure_frontier)"):
            break
    await conn.execute("DROP TABLE exposure_frontier, exposure_next, exposure_hop")
