"""Account chains (Ethereum, TRON): run the enabled heuristics over stored transfers, a span of blocks at a
time, each span with a look-back window so a decision sees the history it needs.

Decisions are dated by the transfer that completes them (a sweep, a forward, a spend by an approved
account) and only decisions dated inside the span are applied, so runs that split the chain differently
find the same deposit merges; a deposit address's first customer is remembered between runs
(deposit_customers). Airdrop decisions aggregate over their window and are the weak, off-by-default kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from chains.model import Chain
from heuristics.airdrop import airdrop_evidence
from heuristics.catalog import CATALOG
from heuristics.deposit import DEPOSIT_MAX_BLOCK_GAP, deposit_evidence
from heuristics.evidence import Heuristic, MergeEvidence, NotRun
from heuristics.self_authorization import self_authorization_evidence
from tracer.clustering.engine import ClusterEngine, Outcome, Proposal
from tracer.store import account_clusters as store
from tracer.store.clusters import write_outcomes

SPAN_BLOCKS = 5_000  # blocks per read; memory stays bounded by a span plus its look-back
AIRDROP_LOOKBACK_BLOCKS = 50_000  # blocks of history an airdrop decision sees (~1 week of Ethereum)
_ORDER = {h: n for n, h in enumerate(CATALOG)}


@dataclass(slots=True)
class AccountCounts:
    merges: int = 0
    refused: int = 0
    transfers: int = 0
    not_run: dict[str, str] = field(default_factory=dict)


async def run_account(
    conn: asyncpg.Connection,
    chain: Chain,
    enabled: frozenset[Heuristic],
    engine: ClusterEngine,
    span: tuple[int, int],
) -> AccountCounts:
    """Cluster blocks (after, top] of ``chain``; span = (after, top)."""
    after, top = span
    counts = AccountCounts()
    exchanges = await store.exchange_wallets(conn, chain)
    if Heuristic.DEPOSIT_ADDRESS in enabled and not exchanges:
        counts.not_run[Heuristic.DEPOSIT_ADDRESS.value] = _not_run_reason()
    contracts = await store.contracts(conn, chain) if Heuristic.SELF_AUTHORIZATION in enabled else frozenset()
    for low in range(after + 1, top + 1, SPAN_BLOCKS):
        high = min(low + SPAN_BLOCKS - 1, top)
        back = AIRDROP_LOOKBACK_BLOCKS if Heuristic.AIRDROP in enabled else DEPOSIT_MAX_BLOCK_GAP
        window = await store.load_window(conn, chain, max(low - back, 0), high)
        counts.transfers += sum(1 for t in window.transfers if t.block_height >= low)
        found = await _decide(conn, chain, enabled, window, (low, exchanges, contracts))
        proposals = sorted(
            (_proposal(ev, window) for ev in found if ev.block_height is not None and ev.block_height >= low),
            key=lambda p: (p.evidence.block_height or 0, p.position, _ORDER[p.evidence.heuristic]),
        )
        outcomes: list[Outcome] = engine.apply([p for p in proposals if len(p.address_ids) >= 2])
        await write_outcomes(conn, chain.value, outcomes)
        counts.merges += sum(1 for o in outcomes if o.refusal is None)
        counts.refused += sum(1 for o in outcomes if o.refusal is not None)
    return counts


async def _decide(
    conn: asyncpg.Connection,
    chain: Chain,
    enabled: frozenset[Heuristic],
    window: store.AccountWindow,
    context: tuple[int, frozenset[str], frozenset[str]],
) -> list[MergeEvidence]:
    low, exchanges, contracts = context
    found: list[MergeEvidence] = []
    if Heuristic.DEPOSIT_ADDRESS in enabled and exchanges:
        known = await store.deposit_customers(conn, chain)
        result = deposit_evidence(window.transfers, exchanges, known, after_height=low - 1)
        if not isinstance(result, NotRun):
            await store.remember_customers(conn, chain, result.customers, window.ids)
            found.extend(result.evidence)
    if Heuristic.SELF_AUTHORIZATION in enabled:
        recent = [t for t in window.transfers if t.block_height >= low]
        found.extend(self_authorization_evidence(window.approvals, recent, window.senders, contracts))
    if Heuristic.AIRDROP in enabled:
        found.extend(airdrop_evidence(window.transfers))
    return found


def _proposal(evidence: MergeEvidence, window: store.AccountWindow) -> Proposal:
    ids = tuple(sorted({window.ids[a] for a in evidence.addresses}))
    return Proposal(evidence, ids, window.positions.get(evidence.txid, 0), None)


def _not_run_reason() -> str:
    result = deposit_evidence([], frozenset())
    return result.reason if isinstance(result, NotRun) else ""
