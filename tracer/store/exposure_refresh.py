"""Precompute exposure: wallet flows, address activity, wallet labels, and each wallet's exposure to each
labelled actor up to ``hops`` away, so that screening is a read.

Call ``refresh_exposure(pool)`` after anything that changes labels or clusters (the clustering and label
import jobs do). Each chain is rebuilt in one transaction; readers see the old rows or the new, never half.

The search, per (tenant, actor, direction), is breadth-first over ``wallet_flows``, set-based in SQL:
hop k joins the hop k-1 frontier to its flows. Invariants:
- a wallet's exposure to an actor is found at the fewest hops (a wallet already reached is not revisited);
- the actor's own wallets are ownership, not exposure (never reached);
- indirect exposure does not pass through a wallet that carries a label of its own: an identified service
  (exchange, mixer, another sanctioned party) is reported as its own actor, and stopping there keeps hubs
  from flooding the search;
- direct exposure is kept whole; each further hop keeps the ``max_reach`` largest per (tenant, actor,
  direction), and expands at most ``max_frontier`` of them, the largest amounts first, and no hub
  (more than ``max_fanout`` counterparties in the direction it would be
  expanded); a cut is recorded (``exposure_runs.truncated``), never silent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import asyncpg

from tracer.risk.rules import Direction, Relation, default_rules
from tracer.store import coverage_cache
from tracer.store.errors import translate_errors
from tracer.store.flows import FLOW_SOURCES, chains_with_data
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

EXPOSURE_TABLES = ("wallet_flows", "wallet_totals", "address_stats", "wallet_labels", "wallet_exposure")

# How labels are grouped into actors: the actor record a label links to (labels.actor_id, so an OFAC list
# label resolved to its designated owner joins that owner's other labels), else the actor text a source
# names; a label without either stands for whoever controls its address, so the lists that name one
# address without an actor count as one actor.
ACTOR_KEY_SQL = (
    "CASE WHEN l.actor_id IS NOT NULL THEN 'actor_id:' || l.actor_id"
    " WHEN l.actor IS NOT NULL AND l.actor <> '' THEN 'actor:' || l.actor"
    " ELSE 'address:' || l.address_id END"
)


@dataclass(frozen=True, slots=True)
class ExposureParams:
    hops: int = 3  # indirect exposure reaches this far; 1 = direct counterparties only
    max_frontier: int = 500  # wallets expanded per (tenant, actor, direction) and hop
    # A wallet that paid (or was paid by) more wallets than this is a hub, an unlabelled service: through it
    # everyone is two hops from everyone. It is reached, not expanded (counted as a cut).
    max_fanout: int = 500
    # Indirect exposures kept per (tenant, actor, direction) and hop, largest first; direct ones all.
    max_reach: int = 5000


@dataclass(frozen=True, slots=True)
class ExposureReport:
    chains: list[str]
    flows: int
    exposures: int
    truncated: bool
    seconds: float


_CLEAR = [
    "DELETE FROM wallet_exposure WHERE chain = $1",
    "DELETE FROM wallet_labels WHERE chain = $1",
    "DELETE FROM wallet_totals WHERE chain = $1",
    "DELETE FROM wallet_flows WHERE chain = $1",
    "DELETE FROM address_stats WHERE chain = $1",
]
_TOTALS = """
INSERT INTO wallet_totals (chain, wallet, asset_id, incoming, outgoing, senders, receivers)
SELECT $1, wallet, asset_id, sum(incoming), sum(outgoing), sum(sender), sum(receiver) FROM (
    SELECT dst AS wallet, asset_id, amount AS incoming, 0 AS outgoing, 1 AS sender, 0 AS receiver
    FROM wallet_flows WHERE chain = $1
    UNION ALL
    SELECT src, asset_id, 0, amount, 0, 1 FROM wallet_flows WHERE chain = $1) x
GROUP BY wallet, asset_id
"""
_WALLET_LABELS = f"""
INSERT INTO wallet_labels (chain, wallet, label_id, tenant, actor_key)
SELECT a.chain, COALESCE(ac.cluster_id, l.address_id), l.id, l.tenant, {ACTOR_KEY_SQL}
FROM labels l JOIN addresses a ON a.id = l.address_id
LEFT JOIN address_clusters ac ON ac.address_id = l.address_id
WHERE a.chain = $1
"""
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
# Seeds carry the actor's weight (its worst label's category score, from the rules), so each exposure row
# can be stored with its score and screening reads the riskiest first.
_SEED = """
INSERT INTO exposure_frontier
SELECT l.tenant, l.actor_key, d.direction, l.wallet, NULL::bigint, NULL::numeric, 0,
       ARRAY[l.wallet], '{}'::bytea[], max(w.score)
FROM wallet_labels l JOIN labels x ON x.id = l.label_id
JOIN unnest($2::text[], $3::real[]) w (category, score) ON w.category = x.category
CROSS JOIN (VALUES ('incoming'), ('outgoing')) d (direction)
WHERE l.chain = $1
GROUP BY l.tenant, l.actor_key, d.direction, l.wallet
"""
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
_COVERAGE = """
SELECT chain, min(height) AS min_height, max(height) AS max_height, count(*) AS blocks
FROM blocks GROUP BY chain ORDER BY chain
"""


async def refresh_exposure(
    pool: asyncpg.Pool, chain: str | None = None, params: ExposureParams = ExposureParams()
) -> ExposureReport:
    """Rebuild the precomputed exposure of ``chain`` (default: every chain with addresses)."""
    clock = time.perf_counter()
    flows = exposures = 0
    truncated = False
    async with translate_errors(), pool.acquire() as conn:
        chains = [chain] if chain else await chains_with_data(conn)
        for name in chains:
            async with conn.transaction():
                n_flows, n_exp, cut = await _refresh_chain(conn, name, params)
            flows, exposures, truncated = flows + n_flows, exposures + n_exp, truncated or cut
        report = ExposureReport(chains, flows, exposures, truncated, round(time.perf_counter() - clock, 3))
        await _record_run(conn, report, params)
    await refresh_statistics(pool, EXPOSURE_TABLES)
    log.info("exposure refreshed", extra=asdict(report))
    return report


async def _refresh_chain(
    conn: asyncpg.Connection, chain: str, params: ExposureParams
) -> tuple[int, int, bool]:
    for statement in _CLEAR:
        await conn.execute(statement, chain)
    for source in FLOW_SOURCES:
        if await source.applies(conn, chain):
            await source.write(conn, chain)
    await conn.execute(_TOTALS, chain)
    await conn.execute(_WALLET_LABELS, chain)
    await conn.execute("ANALYZE wallet_flows, wallet_labels")  # the search's joins need real row counts
    truncated = await _search(conn, chain, params)
    flows = await conn.fetchval("SELECT count(*) FROM wallet_flows WHERE chain = $1", chain)
    exposures = await conn.fetchval("SELECT count(*) FROM wallet_exposure WHERE chain = $1", chain)
    return flows, exposures, truncated


async def _search(conn: asyncpg.Connection, chain: str, params: ExposureParams) -> bool:
    truncated = False
    await conn.execute(_FRONTIER_TABLES)
    rules = default_rules()
    categories = [c.value for c in rules.category]
    await conn.execute(_SEED, chain, categories, [rules.category[c] for c in rules.category])
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
            truncated |= await _any(
                "SELECT EXISTS (SELECT 1 FROM exposure_hop WHERE rank > $1)", conn, params.max_reach
            )
        if hop == params.hops:
            break
        await conn.execute("TRUNCATE exposure_next")
        await conn.execute(_NEXT_FRONTIER, hop, params.max_reach)
        await conn.execute(_HUB_RANK, chain, params.max_fanout)
        truncated |= await _any(
            "SELECT EXISTS (SELECT 1 FROM exposure_next WHERE rank > $1 OR rank = 0)",
            conn,
            params.max_frontier,
        )
        await conn.execute("TRUNCATE exposure_frontier")
        await conn.execute(
            """INSERT INTO exposure_frontier
               SELECT tenant, actor_key, direction, wallet, asset_id, amount, unknown_txs, path, path_txids,
                      weight
               FROM exposure_next WHERE rank BETWEEN 1 AND $1""",
            params.max_frontier,
        )
        if not await _any("SELECT EXISTS (SELECT 1 FROM exposure_frontier)", conn):
            break
    await conn.execute("DROP TABLE exposure_frontier, exposure_next, exposure_hop")
    return truncated


async def _any(query: str, conn: asyncpg.Connection, *args: object) -> bool:
    return bool(await conn.fetchval(query, *args))


async def _record_run(conn: asyncpg.Connection, report: ExposureReport, params: ExposureParams) -> None:
    coverage_cache.invalidate()  # screenings report the last run
    coverage = {
        r["chain"]: {"min_height": r["min_height"], "max_height": r["max_height"], "blocks": r["blocks"]}
        for r in await conn.fetch(_COVERAGE)
    }
    await conn.execute(
        """INSERT INTO exposure_runs (chains, parameters, flows, exposures, truncated, seconds)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        coverage,
        asdict(params),
        report.flows,
        report.exposures,
        report.truncated,
        report.seconds,
    )
