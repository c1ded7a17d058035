"""Clustering job: run the enabled heuristics over what is indexed and keep clusters with their evidence.

Incremental: a run continues from where the last one stopped (``cluster_state``), reading only new
transactions -- and the few below that the indexer resolved inputs of since (``cluster_late_inputs``); the
forest is rebuilt from the stored membership, so history is not recomputed, and the aggregates move by what
changed (tracer.store.cluster_increments), whatever the size of the clusters. A run recomputes the chain
from scratch (``full``) when asked, when the set of heuristics changed (undo: switch a heuristic off and its
merges go), when stored evidence disappeared (a reorg or a re-index deleted blocks, and their merges with
them), or when late-resolved inputs meet a heuristic the collapse guards decide in chain order. Batch and
incremental give the same clusters, evidence and aggregates (tests/integration/test_cluster_incremental.py).

Concurrent indexing: a run reads one snapshot (REPEATABLE READ). Writers draw transaction ids in commit order
(tracer.store.chaindata), so every transaction up to the largest id in the snapshot is in it, and what
commits later -- new transactions and inputs resolved late, queued in ``cluster_late_inputs`` -- is left for
the next run: the run deletes only the queue rows its snapshot holds. A reorg that commits during a run makes
the run's writes conflict (SQLSTATE 40001), and the run starts again on a new snapshot.

Reads: the default Bitcoin run (common input alone) reads inputs and outputs as integer columns through
binary COPY (tracer.clustering.columnar); other heuristics read rebuilt transactions, a span of ids at a time.
Evidence is written span by span as it is produced. Memory: the forest (8 bytes per address id), the owners
of labelled addresses, one span, and on a full Bitcoin run one set of totals per cluster.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import numpy as np

from chains.model import Chain
from heuristics import catalog
from heuristics.evidence import Heuristic
from tracer.clustering import columnar
from tracer.clustering.account import run_account
from tracer.clustering.bitcoin import CHANGE_HEURISTICS, Context, decide
from tracer.clustering.engine import ClusterEngine
from tracer.clustering.forest import Forest, IdArray
from tracer.clustering.guards import DEFAULT_MAX_WEAK_SIZE, OwnerIndex
from tracer.errors import InputError
from tracer.store import cluster_columns
from tracer.store import cluster_increments as increments
from tracer.store import cluster_totals as totals
from tracer.store import clusters as store
from tracer.store.cluster_aggregates import refresh_aggregates, refresh_labels
from tracer.store.errors import translate_errors
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)
# The default Bitcoin run (common input alone) reads columns, not rebuilt transactions; spans of tx ids.
COLUMNAR_HEURISTICS = frozenset({Heuristic.COMMON_INPUT})
COLUMNAR_SPAN = 100_000
# A reorg that commits while a run reads deletes rows its snapshot still holds, and the run's writes then fail
# with SQLSTATE 40001; the run starts again on a new snapshot (which sees the reorg), a few times at most.
SNAPSHOT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class ClusterReport:
    chain: str
    mode: str  # full | incremental
    heuristics: list[str]
    txs_examined: int
    merges: int
    refused: int
    vetoes: int
    clusters: int
    clustered_addresses: int
    largest_cluster: int
    seconds: float
    not_run: dict[str, str]  # heuristic -> why it did not run

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    heuristics: tuple[str, ...] | None = None  # None: the catalog's defaults for the chain
    full: bool = False
    max_weak_size: int = DEFAULT_MAX_WEAK_SIZE


async def indexed_chains(pool: asyncpg.Pool) -> list[str]:
    async with translate_errors():
        return [r[0] for r in await pool.fetch("SELECT DISTINCT chain FROM blocks ORDER BY chain")]


async def run_clustering(
    pool: asyncpg.Pool, chain: str = "bitcoin", options: ClusterOptions = ClusterOptions()
) -> ClusterReport:
    """Cluster ``chain``, then refresh the exposure screening reads over the new clusters."""
    report = await cluster_chain(pool, chain, options)
    await refresh_exposure(pool, report.chain)
    log.info("clustering done", extra=report.as_dict())
    return report


async def cluster_chain(
    pool: asyncpg.Pool, chain: str = "bitcoin", options: ClusterOptions = ClusterOptions()
) -> ClusterReport:
    """The clustering alone (one transaction); ``seconds`` is its time. Callers refresh exposure after."""
    clock = time.perf_counter()
    parsed = _chain(chain)
    try:
        enabled = catalog.for_chain(parsed, options.heuristics)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    async with translate_errors(), pool.acquire() as conn, _clustering_lock(conn):
        for attempt in range(1, SNAPSHOT_ATTEMPTS + 1):
            try:
                async with conn.transaction(isolation="repeatable_read"):  # one snapshot: see the module doc
                    report = await _cluster(conn, parsed, enabled, options)
                break
            except (asyncpg.SerializationError, asyncpg.DeadlockDetectedError) as exc:
                if attempt == SNAPSHOT_ATTEMPTS:
                    raise
                log.warning(
                    "clustering: a reorg conflicted with the run's snapshot; starting again",
                    extra={"chain": chain, "attempt": attempt, "sqlstate": exc.sqlstate},
                )
    await refresh_statistics(pool, store.CLUSTER_TABLES)
    return _with_seconds(report, time.perf_counter() - clock)


@contextlib.asynccontextmanager
async def _clustering_lock(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """One clustering write per database at a time; taken before the run's transaction, so that its
    snapshot is taken after the previous run committed."""
    await conn.execute("SELECT pg_advisory_lock($1)", store.LOCK_KEY)
    try:
        yield
    finally:
        with contextlib.suppress(asyncpg.PostgresError, OSError):  # a lost connection released it already
            await conn.execute("SELECT pg_advisory_unlock($1)", store.LOCK_KEY)


async def _cluster(
    conn: asyncpg.Connection, chain: Chain, enabled: tuple[Heuristic, ...], options: ClusterOptions
) -> ClusterReport:
    clock = time.perf_counter()
    names = tuple(h.value for h in enabled)
    upto, top_height, max_address = await store.chain_extent(conn, chain.value)
    state = await store.load_state(conn, chain.value)
    full = options.full or state is None or state.heuristics != names
    if state is not None and not full:
        full = not await store.still_valid(conn, chain.value, state)
    late: list[int] = []
    if chain is Chain.BITCOIN and state is not None and not full:
        late = await store.late_inputs(conn, chain.value, state.last_tx_id)
        full = bool(late) and not all(catalog.CATALOG[h].ownership for h in enabled)  # guards see order
    if full or state is None:
        await store.reset_chain(conn, chain.value)
        members, cluster_ids = np.empty(0, np.int64), np.empty(0, np.int64)
        after, after_height = 0, -1
        late = []
    else:
        members, cluster_ids = await store.load_membership(conn, chain.value)
        after, after_height = state.last_tx_id, state.last_height
    forest = Forest.from_labelling(members, cluster_ids, max_address + 1)
    owners = await store.owner_labels(conn, chain.value)
    labelled = np.fromiter(owners, dtype=np.int64, count=len(owners))
    engine = ClusterEngine(forest, OwnerIndex.build(owners, forest.roots(labelled)), options.max_weak_size)
    not_run: dict[str, str] = {}
    if chain is Chain.BITCOIN:
        counts = await _run_utxo(conn, chain, frozenset(enabled), engine, (after, upto, late))
        span = (after, max(upto, after))
    else:
        account = await run_account(conn, chain, frozenset(enabled), engine, (after_height, top_height))
        counts = {"txs": account.transfers, "merges": account.merges, "refused": account.refused}
        not_run = account.not_run
        span = (after_height, max(top_height, after_height))
    log.info("clustering: heuristics applied", extra={"seconds": round(time.perf_counter() - clock, 3)})
    change = _membership_change(forest, members, cluster_ids)
    if full:
        await store.write_membership(conn, chain.value, change.membership)
        await _full_aggregates(conn, chain, change.membership, (forest.capacity, max(upto, after)))
    else:
        await increments.stash_folds(conn, change.membership.retired, change.survivors)
        await store.write_membership(conn, chain.value, change.membership)
        increment = increments.Increment(
            chain.value, chain is Chain.BITCOIN, span, change.joined, change.joined_clusters
        )
        await increments.add_increment(conn, increment, change.changed)
    if chain is Chain.BITCOIN:
        await store.forget_late_inputs(conn, chain.value, max(upto, after))
    log.info("clustering: aggregates written", extra={"seconds": round(time.perf_counter() - clock, 3)})
    merges, refused = await store.stored_counts(conn, chain.value)
    await store.save_state(
        conn, chain.value, store.ClusterState(names, max(upto, after), top_height, merges, refused)
    )
    summary = await conn.fetchrow(
        "SELECT count(*), COALESCE(sum(size), 0), COALESCE(max(size), 1) FROM clusters WHERE chain = $1",
        chain.value,
    )
    return ClusterReport(
        chain=chain.value,
        mode="full" if full else "incremental",
        heuristics=list(names),
        txs_examined=counts.get("txs", 0),
        merges=counts.get("merges", 0),
        refused=counts.get("refused", 0),
        vetoes=counts.get("vetoes", 0),
        clusters=summary[0] if summary else 0,
        clustered_addresses=int(summary[1]) if summary else 0,
        largest_cluster=summary[2] if summary else 1,
        seconds=0.0,
        not_run=not_run,
    )


async def _run_utxo(
    conn: asyncpg.Connection,
    chain: Chain,
    enabled: frozenset[Heuristic],
    engine: ClusterEngine,
    span: tuple[int, int, list[int]],
) -> dict[str, int]:
    """Cluster the transactions with ids in (after, upto], and ``late`` ones below it whose inputs were
    resolved since the last run; span = (after, upto, late)."""
    after, upto, late = span
    counts = {"txs": 0, "merges": 0, "refused": 0, "vetoes": 0}
    if late:  # below the last run, their inputs resolved since: decided again with what is known now
        await store.forget_decisions(conn, chain.value, late)
        await _decide_and_apply(conn, chain, enabled, engine, await store.load_txs(conn, late), counts)
    if enabled == COLUMNAR_HEURISTICS:
        found = await _run_columnar(conn, chain, engine, (after, upto))
        return {name: counts[name] + found[name] for name in counts}
    every_spend = bool(enabled & CHANGE_HEURISTICS)
    async for chunk in store.iter_candidate_txs(conn, chain.value, after, upto, every_spend=every_spend):
        await _decide_and_apply(conn, chain, enabled, engine, chunk, counts)
    return counts


async def _decide_and_apply(  # noqa: PLR0917
    conn: asyncpg.Connection,
    chain: Chain,
    enabled: frozenset[Heuristic],
    engine: ClusterEngine,
    chunk: list[store.StoredTx],
    counts: dict[str, int],
) -> None:
    decisions = decide(chunk, enabled, await _context(conn, chain, enabled, chunk))
    outcomes = engine.apply(decisions.proposals)
    await store.write_outcomes(conn, chain.value, outcomes)
    await store.write_vetoes(conn, chain.value, decisions.vetoes)
    counts["txs"] += len(chunk)
    counts["refused"] += sum(1 for o in outcomes if o.refusal is not None)
    counts["merges"] += sum(1 for o in outcomes if o.refusal is None)
    counts["vetoes"] += len(decisions.vetoes)


async def _run_columnar(
    conn: asyncpg.Connection, chain: Chain, engine: ClusterEngine, span: tuple[int, int]
) -> dict[str, int]:
    """Common input alone, over columns (tracer.clustering.columnar), a span of ids at a time."""
    after, upto = span
    counts = {"txs": 0, "merges": 0, "refused": 0, "vetoes": 0}
    for low in range(after, upto, COLUMNAR_SPAN):
        high = min(low + COLUMNAR_SPAN, upto)
        inputs = await cluster_columns.input_columns(conn, chain.value, low, high)
        found = columnar.candidates(
            inputs, await cluster_columns.output_columns(conn, chain.value, low, high)
        )
        del inputs
        engine.merge_owned(*columnar.edges(found))
        headers = await cluster_columns.tx_headers(conn, found.tx_ids)
        await store.write_evidence_rows(conn, columnar.evidence_rows(chain.value, found, headers))
        counts["txs"] += found.total
        counts["merges"] += int(found.tx_ids.size)
        if found.rebuild.size:
            decisions = decide(await store.load_txs(conn, found.rebuild.tolist()), COLUMNAR_HEURISTICS)
            outcomes = engine.apply(decisions.proposals)
            await store.write_outcomes(conn, chain.value, outcomes)
            await store.write_vetoes(conn, chain.value, decisions.vetoes)
            counts["merges"] += len(outcomes)
            counts["vetoes"] += len(decisions.vetoes)
    return counts


async def _context(
    conn: asyncpg.Connection, chain: Chain, enabled: frozenset[Heuristic], chunk: list[store.StoredTx]
) -> Context:
    first_paid: dict[int, int] = {}
    parents: dict[str, store.StoredTx] = {}
    if Heuristic.CHANGE_FRESH_ADDRESS in enabled:
        paid = {s.address_ids[o.address] for s in chunk for o in s.tx.outputs if o.address is not None}
        first_paid = await store.first_paid(conn, sorted(paid))
    if Heuristic.CHANGE_FINGERPRINT in enabled:
        spent = {i.prevout.txid for s in chunk for i in s.tx.inputs if i.prevout is not None}
        parents = {p.tx.txid: p for p in await store.load_txs_by_txid(conn, chain.value, sorted(spent))}
    return Context(first_paid, parents)


async def _full_aggregates(
    conn: asyncpg.Connection, chain: Chain, membership: store.MembershipChange, extent: tuple[int, int]
) -> None:
    """Aggregates of every cluster: streamed and summed in arrays on Bitcoin, set-based SQL elsewhere."""
    if chain is not Chain.BITCOIN:
        await refresh_aggregates(conn, chain.value, None)
        return
    capacity, upto = extent
    clusters = (membership.members, membership.cluster_ids, capacity)
    await totals.write_bitcoin_totals(conn, await totals.bitcoin_totals(conn, chain.value, clusters, upto))
    await refresh_labels(conn, chain.value, None)


@dataclass(frozen=True, slots=True)
class _Change:
    membership: store.MembershipChange
    survivors: IdArray  # the cluster each of membership.retired folded into
    joined: IdArray  # addresses in no cluster before this run, in one now
    joined_clusters: IdArray
    changed: IdArray  # clusters that folded others in or gained members


def _membership_change(forest: Forest, old_members: IdArray, old_cluster_ids: IdArray) -> _Change:
    """What changed since the stored membership (union-find only folds clusters and adds members)."""
    new = forest.labelling().astype(np.int64)
    old = np.arange(new.shape[0], dtype=np.int64)
    old[old_members] = old_cluster_ids
    had_row = np.zeros(new.shape[0], dtype=bool)
    had_row[old_members] = True
    moved = np.flatnonzero(old != new)
    roots = np.unique(new[moved])
    members = np.union1d(moved, roots)  # a root that was a singleton needs its own row
    retired_candidates = np.unique(old[moved])
    retired = retired_candidates[new[retired_candidates] != retired_candidates]
    joined = members[~had_row[members]]
    membership = store.MembershipChange(members, new[members], forest.sizes(roots), retired)
    return _Change(membership, new[retired], joined, new[joined], roots)


def _chain(name: str) -> Chain:
    try:
        return Chain(name.strip().lower())
    except ValueError:
        raise InputError(f"unknown chain {name!r}; known: {', '.join(c.value for c in Chain)}") from None


def _with_seconds(report: ClusterReport, seconds: float) -> ClusterReport:
    values = report.as_dict()
    values["seconds"] = round(seconds, 3)
    return ClusterReport(**values)  # type: ignore[arg-type]
