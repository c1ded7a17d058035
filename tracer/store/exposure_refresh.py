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
- each frontier keeps at most ``max_frontier`` wallets per (tenant, actor, direction), the largest
  amounts first; a cut is recorded (``exposure_runs.truncated``), never silent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import asyncpg

from tracer.store.errors import translate_errors
from tracer.store.flows import FLOW_SOURCES, chains_with_data
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

EXPOSURE_TABLES = ("wallet_flows", "wallet_totals", "address_stats", "wallet_labels", "wallet_exposure")

# How labels are grouped into actors: the actor a source names; a label without one stands for whoever
# controls its address, so the lists that name one address without an actor count as one actor.
ACTOR_KEY_SQL = (
    "CASE WHEN l.actor IS NOT NULL AND l.actor <> '' THEN 'actor:' || l.actor"
    " ELSE 'address:' || l.address_id END"
)


@dataclass(frozen=True, slots=True)
class ExposureParams:
    hops: int = 3  # indirect exposure reaches this far; 1 = direct counterparties only
    max_frontier: int = 2000  # wallets expanded per (tenant, actor, direction) and hop


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
INSERT INTO wallet_totals (chain, wallet, asset_id, incoming, outgoing)
SELECT $1, wallet, asset_id, sum(incoming), sum(outgoing) FROM (
    SELECT dst AS wallet, asset_id, amount AS incoming, 0 AS outgoing FROM wallet_flows WHERE chain = $1
    UNION ALL
    SELECT src, asset_id, 0, amount FROM wallet_flows WHERE chain = $1) x
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
    unknown_txs integer, path bigint[], path_txids bytea[]) ON COMMIT DROP;
CREATE TEMP TABLE exposure_next (LIKE exposure_frontier, rank bigint) ON COMMIT DROP;
"""
_SEED = """
INSERT INTO exposure_frontier
SELECT DISTINCT l.tenant, l.actor_key, d.direction, l.wallet, NULL::bigint, NULL::numeric, 0,
       ARRAY[l.wallet], '{}'::bytea[]
FROM wallet_labels l CROSS JOIN (VALUES ('incoming'), ('outgoing')) d (direction)
WHERE l.chain = $1
"""
# One hop for every frontier at once. Incoming: the frontier wallet paid the reached one; outgoing: the
# reached wallet paid the frontier. The amount is the bottleneck of the path (a path carries at most its
# smallest hop); of several paths to a wallet the widest wins.
_HOP = """
WITH cand AS (
    SELECT f.tenant, f.actor_key, f.direction, n.wallet, n.asset_id,
           CASE WHEN f.amount IS NULL THEN n.amount ELSE least(f.amount, n.amount) END AS amount,
           f.unknown_txs + n.unknown_txs AS unknown_txs, n.tx_count, f.path || n.wallet AS path,
           f.path_txids || n.txids[1] AS path_txids, n.txids
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
                      AND e.asset_id = n.asset_id))
INSERT INTO wallet_exposure (chain, wallet, tenant, actor_key, direction, asset_id, hops, amount,
                             unknown_txs, tx_count, path, path_txids, txids)
SELECT DISTINCT ON (tenant, actor_key, direction, wallet, asset_id)
       $1, wallet, tenant, actor_key, direction, asset_id, $2, amount, unknown_txs, tx_count, path,
       path_txids, txids
FROM cand
ORDER BY tenant, actor_key, direction, wallet, asset_id, amount DESC, unknown_txs, path
"""
_NEXT_FRONTIER = """
INSERT INTO exposure_next
SELECT e.tenant, e.actor_key, e.direction, e.wallet, e.asset_id, e.amount, e.unknown_txs, e.path,
       e.path_txids,
       row_number() OVER (PARTITION BY e.tenant, e.actor_key, e.direction ORDER BY e.amount DESC, e.wallet)
           AS rank
FROM wallet_exposure e
WHERE e.chain = $1 AND e.hops = $2
  AND NOT EXISTS (SELECT 1 FROM wallet_labels l
                  WHERE l.wallet = e.wallet AND l.tenant IN ('public', e.tenant))
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
    await conn.execute(_SEED, chain)
    for hop in range(1, params.hops + 1):
        await conn.execute(_HOP, chain, hop)
        if hop == params.hops:
            break
        await conn.execute("TRUNCATE exposure_next")
        await conn.execute(_NEXT_FRONTIER, chain, hop)
        cut = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM exposure_next WHERE rank > $1)", params.max_frontier
        )
        truncated |= bool(cut)
        await conn.execute("TRUNCATE exposure_frontier")
        await conn.execute(
            """INSERT INTO exposure_frontier
               SELECT tenant, actor_key, direction, wallet, asset_id, amount, unknown_txs, path, path_txids
               FROM exposure_next WHERE rank <= $1""",
            params.max_frontier,
        )
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM exposure_frontier)"):
            break
    await conn.execute("DROP TABLE exposure_frontier, exposure_next")
    return truncated


async def _record_run(conn: asyncpg.Connection, report: ExposureReport, params: ExposureParams) -> None:
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
