"""Precompute exposure: wallet flows, address activity, wallet labels, and each wallet's exposure to each
labelled actor up to ``hops`` away (tracer/store/exposure_search.py), so that screening is a read.

Call ``refresh_exposure(pool)`` after anything that changes labels, clusters or blocks (the clustering and
label import jobs do). It is incremental (tracer/store/exposure_changes.py): new blocks' flows are added,
the flows of wallets a clustering run regrouped are recomputed, and only the actors whose seeds changed or
whose reach touched a changed wallet are searched again; ``full=True`` (and the first refresh of a chain,
other bounds, or a reorg) rebuilds everything. Both give the same rows. Each chain is refreshed in one
transaction; readers see the old rows or the new, never half.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import asyncpg

from tracer.store import coverage_cache, exposure_labels, wallet_answers
from tracer.store import exposure_changes as changes
from tracer.store.errors import translate_errors
from tracer.store.exposure_labels import ACTOR_KEY_SQL, CURRENT_WALLET_LABELS
from tracer.store.exposure_search import SEEDS_SQL, ExposureParams, rule_weights, search
from tracer.store.flows import FLOW_SOURCES, FULL, Scope, chains_with_data
from tracer.store.pool import refresh_grown_statistics, refresh_statistics

__all__ = ["ACTOR_KEY_SQL", "EXPOSURE_TABLES", "ExposureParams", "ExposureReport", "refresh_exposure"]

log = logging.getLogger(__name__)

EXPOSURE_TABLES = (
    "wallet_answers",
    "wallet_flows",
    "wallet_totals",
    "address_stats",
    "address_assets",
    "wallet_labels",
    "wallet_exposure",
    "exposure_seeds",
    "exposure_wallets",
    "exposure_frontiers",
)

DEFAULT_PARAMS = ExposureParams()
_LABELS_ONLY: dict[str, object] = {"labels_only": True}  # the saved parameters of a chain without flows


@dataclass(frozen=True, slots=True)
class ExposureReport:
    chains: list[str]
    flows: int
    exposures: int
    truncated: bool
    seconds: float
    mode: str = "full"  # "incremental" when every chain was refreshed incrementally
    actors: int = 0  # actors searched


@dataclass(frozen=True, slots=True)
class _ChainResult:
    full: bool
    actors: int
    labels_only: bool = False  # a chain without transactions: only wallet_labels was written


_CLEAR = [
    "DELETE FROM wallet_exposure WHERE chain = $1",
    "DELETE FROM exposure_cuts WHERE chain = $1",
    "DELETE FROM exposure_frontiers WHERE chain = $1",
    "DELETE FROM exposure_seeds WHERE chain = $1",
    "DELETE FROM exposure_wallets WHERE chain = $1",
    "DELETE FROM wallet_labels WHERE chain = $1",
    "DELETE FROM wallet_totals WHERE chain = $1",
    "DELETE FROM wallet_flows WHERE chain = $1",
    "DELETE FROM address_stats WHERE chain = $1",
    "DELETE FROM address_assets WHERE chain = $1",
]
# A chain without transactions stores no answer parts (tracer.store.wallet_answers): its screenings are
# answered the reference way, from wallet_labels.
_FORGET_ANSWERS = [
    "DELETE FROM wallet_answers WHERE chain = $1",
    "DELETE FROM answer_digests WHERE chain = $1",
    "DELETE FROM answer_chains WHERE chain = $1",
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
SELECT $1, wallet, label_id, tenant, actor_key FROM ({CURRENT_WALLET_LABELS}) l
"""
_STORE_SEEDS = f"""
INSERT INTO exposure_seeds (chain, tenant, actor_key, wallet, weight)
SELECT $1, tenant, actor_key, wallet, weight FROM ({SEEDS_SQL}) s
"""
_COVERAGE = """
SELECT chain, min(height) AS min_height, max(height) AS max_height, count(*) AS blocks
FROM blocks GROUP BY chain ORDER BY chain
"""


async def refresh_exposure(
    pool: asyncpg.Pool,
    chain: str | None = None,
    params: ExposureParams = DEFAULT_PARAMS,
    *,
    full: bool = False,
) -> ExposureReport:
    """Bring the precomputed exposure of ``chain`` (default: every chain with addresses) up to date:
    incrementally, or rebuilt from scratch with ``full``."""
    clock = time.perf_counter()
    results = []
    async with translate_errors(), pool.acquire() as conn:
        chains = [chain] if chain else await chains_with_data(conn)
        for name in chains:
            async with conn.transaction():
                # One refresh of a chain at a time: a label import and a clustering run may both call it.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tracer exposure ' || $1))", name)
                results.append(await _refresh_chain(conn, name, params, full))
        report = await _report(conn, chains, results, time.perf_counter() - clock)
        await _record_run(conn, report, params)
        if report.mode == "incremental":
            await refresh_grown_statistics(conn, EXPOSURE_TABLES)
    if report.mode == "full":
        labels_only = all(r.labels_only for r in results)
        await refresh_statistics(pool, ("wallet_labels",) if labels_only else EXPOSURE_TABLES)
    log.info("exposure refreshed", extra=asdict(report))
    return report


async def _refresh_chain(
    conn: asyncpg.Connection, chain: str, params: ExposureParams, full: bool
) -> _ChainResult:
    # The rules' category scores weigh the seeds: other scores need a full refresh, as other bounds do.
    parameters = {**asdict(params), "category_scores": dict(zip(*rule_weights(), strict=True))}
    mark = await changes.current_mark(conn, chain)
    if not [source for source in FLOW_SOURCES if await source.applies(conn, chain)]:
        last = None if full else await changes.continuable(conn, chain, _LABELS_ONLY)
        result = await _labels_only(conn, chain, incremental=last is not None)
        await changes.save_mark(conn, chain, _LABELS_ONLY, mark)
        return result
    last = None if full else await changes.continuable(conn, chain, parameters)
    if last is None:
        result = await _rebuild(conn, chain, params)
    else:
        result = await _update(conn, chain, params, last, mark)
    await changes.save_mark(conn, chain, parameters, mark)
    return result


async def _labels_only(conn: asyncpg.Connection, chain: str, *, incremental: bool) -> _ChainResult:
    """A chain without transactions (labels imported before its first block) has no flows: no exposure, no
    actor to search. Its refresh keeps only which wallets hold which labels; its state's parameters say so,
    so the refresh after its first transactions is a full one (measured on the bundled lists: 1.2 s to
    rebuild seeds and search nothing, now ~0.3 s to write their wallet labels, ~0.05 s to find none
    changed)."""
    if incremental:
        await exposure_labels.update_wallet_labels(conn, chain)
    else:
        for statement in (*_CLEAR, *_FORGET_ANSWERS):
            await conn.execute(statement, chain)
        await conn.execute(_WALLET_LABELS, chain)
    return _ChainResult(full=not incremental, actors=0, labels_only=True)


async def _rebuild(conn: asyncpg.Connection, chain: str, params: ExposureParams) -> _ChainResult:
    for statement in _CLEAR:
        await conn.execute(statement, chain)
    for source in FLOW_SOURCES:
        if await source.applies(conn, chain):
            await source.write(conn, chain, FULL)
    await conn.execute(_TOTALS, chain)
    await conn.execute(_WALLET_LABELS, chain)
    await conn.execute(changes.SNAPSHOT_WALLETS, chain)
    await conn.execute(_STORE_SEEDS, chain, *rule_weights())
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM wallet_flows WHERE chain = $1)", chain):
        # The search's joins need row counts (with no flows it reaches nothing and is skipped).
        await conn.execute("ANALYZE wallet_flows, wallet_labels, exposure_seeds")
        await search(conn, chain, params)
    actors = await conn.fetchval(
        "SELECT count(*) FROM (SELECT DISTINCT tenant, actor_key FROM exposure_seeds WHERE chain = $1) a",
        chain,
    )
    await wallet_answers.rebuild_all(conn, chain)
    return _ChainResult(full=True, actors=int(actors))


async def _update(
    conn: asyncpg.Connection, chain: str, params: ExposureParams, last: changes.Mark, mark: changes.Mark
) -> _ChainResult:
    await conn.execute(changes.TEMP_TABLES)
    applicable = [s for s in FLOW_SOURCES if await s.applies(conn, chain)]
    if await changes.find_regrouped(conn, chain):
        for statement in changes.DROP_REGROUPED_FLOWS:
            await conn.execute(statement, chain)
        for source in applicable:
            await source.write(conn, chain, Scope(regrouped=True))
        await conn.execute(changes.REGROUPED_FLOWS_CHANGED, chain)
    if mark.last_height > last.last_height:
        for source in applicable:
            await source.write(conn, chain, Scope(after_height=last.last_height, add=True))
    await conn.execute(changes.KEEP_OLD_HUBS, chain, params.max_fanout)
    for statement in changes.TOUCHED_TOTALS:
        await conn.execute(statement, chain)
    await conn.execute(changes.REHUBBED, chain, params.max_fanout)
    if await exposure_labels.update_wallet_labels(conn, chain):
        await exposure_labels.update_seeds(conn, chain, rule_weights())
    await conn.execute(changes.REACHED_TOUCHED, chain, params.hops)
    await wallet_answers.mark_affected(conn, chain)  # their old rows' wallets
    for statement in changes.DROP_AFFECTED:
        await conn.execute(statement, chain)
    actors = int(await conn.fetchval("SELECT count(*) FROM exposure_affected"))
    if actors:
        await search(conn, chain, params, actors_only=True)
        await wallet_answers.mark_affected(conn, chain)  # their new rows' wallets
    await wallet_answers.rebuild_changed(conn, chain)
    return _ChainResult(full=False, actors=actors)


async def _report(
    conn: asyncpg.Connection, chains: list[str], results: list[_ChainResult], seconds: float
) -> ExposureReport:
    counts = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM wallet_flows WHERE chain = ANY($1::text[])) AS flows,
                  (SELECT count(*) FROM wallet_exposure WHERE chain = ANY($1::text[])) AS exposures,
                  EXISTS (SELECT 1 FROM exposure_cuts WHERE chain = ANY($1::text[])) AS truncated""",
        chains,
    )
    mode = "full" if not results or any(r.full for r in results) else "incremental"
    return ExposureReport(
        chains,
        counts["flows"],
        counts["exposures"],
        counts["truncated"],
        round(seconds, 3),
        mode,
        sum(r.actors for r in results),
    )


async def _record_run(conn: asyncpg.Connection, report: ExposureReport, params: ExposureParams) -> None:
    coverage_cache.invalidate()  # screenings report the last run
    coverage = {
        r["chain"]: {"min_height": r["min_height"], "max_height": r["max_height"], "blocks": r["blocks"]}
        for r in await conn.fetch(_COVERAGE)
    }
    await conn.execute(
        """INSERT INTO exposure_runs (chains, parameters, flows, exposures, truncated, seconds, mode, actors)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        coverage,
        asdict(params),
        report.flows,
        report.exposures,
        report.truncated,
        report.seconds,
        report.mode,
        report.actors,
    )
