"""Clustering job: run the heuristics over everything indexed and store clusters with their evidence.

Idempotent: every run recomputes from the stored transactions and replaces the previous result in one
transaction, so cluster ids (smallest member id) come out the same for the same data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from heuristics.common_input import common_input
from heuristics.evidence import MergeEvidence, Veto
from tracer.clustering.unionfind import UnionFind
from tracer.store.clusters import (
    CLUSTER_TABLES,
    ClusteringResult,
    EvidenceRow,
    StoredTx,
    VetoRow,
    iter_candidate_txs,
    replace_clustering,
)
from tracer.store.errors import translate_errors
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClusterReport:
    chain: str
    txs_examined: int
    merges: int
    vetoes: int
    clusters: int
    clustered_addresses: int
    largest_cluster: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


async def run_clustering(pool: asyncpg.Pool, chain: str = "bitcoin") -> ClusterReport:
    started, clock = datetime.now(UTC), time.perf_counter()
    forest = UnionFind()
    decided: list[tuple[StoredTx, MergeEvidence]] = []
    vetoes: list[VetoRow] = []
    examined = 0
    async with translate_errors(), pool.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for chunk in iter_candidate_txs(conn, chain):
                examined += len(chunk)
                for stored in chunk:
                    verdict = common_input(stored.tx, stored.block_height)
                    if isinstance(verdict, MergeEvidence):
                        forest.union_all(stored.address_ids[a] for a in verdict.addresses)
                        decided.append((stored, verdict))
                    elif isinstance(verdict, Veto):
                        vetoes.append(_veto_row(stored, verdict))
        clusters = forest.clusters()
        result = ClusteringResult(
            chain=chain,
            clusters=clusters,
            evidence=[_evidence_row(stored, ev, forest) for stored, ev in decided],
            vetoes=vetoes,
            txs_examined=examined,
            started_at=started,
            finished_at=datetime.now(UTC),
        )
        await replace_clustering(conn, result)
    await refresh_statistics(pool, CLUSTER_TABLES)
    await refresh_exposure(pool, chain)  # screening reads exposure precomputed over the new clusters
    report = ClusterReport(
        chain=chain,
        txs_examined=examined,
        merges=len(decided),
        vetoes=len(vetoes),
        clusters=len(clusters),
        clustered_addresses=sum(len(m) for m in clusters.values()),
        largest_cluster=max((len(m) for m in clusters.values()), default=1),
        seconds=round(time.perf_counter() - clock, 3),
    )
    log.info("clustering done", extra=report.as_dict())
    return report


def _evidence_row(stored: StoredTx, evidence: MergeEvidence, forest: UnionFind) -> EvidenceRow:
    ids = sorted(stored.address_ids[a] for a in evidence.addresses)
    return EvidenceRow(
        cluster_id=forest.cluster_id(ids[0]),
        heuristic=evidence.heuristic.value,
        tx_id=stored.tx_id,
        block_height=evidence.block_height,
        address_ids=ids,
        confidence=evidence.confidence.value,
        conditions=list(evidence.conditions),
        parameters=dict(evidence.parameters),
    )


def _veto_row(stored: StoredTx, veto: Veto) -> VetoRow:
    return VetoRow(
        tx_id=stored.tx_id,
        heuristic=veto.heuristic.value,
        reason=veto.reason.value,
        block_height=veto.block_height,
        detail=veto.detail,
        parameters=dict(veto.parameters),
    )
