"""Bitcoin proposals: run the enabled UTXO heuristics over stored transactions, in transaction order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from heuristics import change
from heuristics.common_input import common_input
from heuristics.evidence import Heuristic, MergeEvidence, Veto
from tracer.clustering.engine import Proposal
from tracer.store.clusters import StoredTx

CHANGE_HEURISTICS = frozenset({*change.RUNNERS, Heuristic.CHANGE_FINGERPRINT})


@dataclass(slots=True)
class Decisions:
    proposals: list[Proposal] = field(default_factory=list)
    vetoes: list[tuple[int, Veto]] = field(default_factory=list)  # (tx id, veto)


@dataclass(frozen=True, slots=True)
class Context:
    """What some change heuristics need beyond the transaction."""

    first_paid: Mapping[int, int] = field(default_factory=dict)  # address id -> first tx id paying it
    parents: Mapping[str, StoredTx] = field(default_factory=dict)  # txid -> the tx an input spends from


def decide(txs: Iterable[StoredTx], enabled: frozenset[Heuristic], context: Context = Context()) -> Decisions:
    """Proposals and vetoes for ``txs`` (in id order), heuristics in catalog order within a transaction."""
    out = Decisions()
    for stored in txs:
        if Heuristic.COMMON_INPUT in enabled:
            _add(out, stored, stored, common_input(stored.tx, stored.block_height))
        for heuristic, runner in change.RUNNERS.items():
            if heuristic in enabled:
                _add(
                    out, stored, stored, runner(stored.tx, stored.block_height, _seen_before(stored, context))
                )
        if Heuristic.CHANGE_FINGERPRINT in enabled:
            _fingerprints(out, stored, context)
    return out


def _fingerprints(out: Decisions, spender: StoredTx, context: Context) -> None:
    for txin in spender.tx.inputs:
        parent = context.parents.get(txin.prevout.txid) if txin.prevout else None
        if parent is not None and txin.prevout is not None:
            verdict = change.change_fingerprint(
                parent.tx, txin.prevout.vout, spender.tx, spender.block_height
            )
            if isinstance(verdict, MergeEvidence):  # vetoes of a parent are recorded when the parent is seen
                _add(out, spender, parent, verdict)


def _seen_before(stored: StoredTx, context: Context) -> frozenset[str]:
    return frozenset(
        address
        for address, address_id in stored.address_ids.items()
        if context.first_paid.get(address_id, stored.tx_id) < stored.tx_id
    )


def _add(out: Decisions, at: StoredTx, named: StoredTx, verdict: MergeEvidence | Veto | None) -> None:
    """Record ``verdict`` at transaction ``at``; its addresses are those of ``named`` (the same tx, or the
    parent whose change a fingerprint found)."""
    if isinstance(verdict, MergeEvidence):
        ids = tuple(sorted({named.address_ids[a] for a in verdict.addresses}))
        if len(ids) >= 2:
            out.proposals.append(Proposal(verdict, ids, at.tx.index, named.tx_id))
    elif isinstance(verdict, Veto):
        out.vetoes.append((at.tx_id, verdict))
