"""Applies heuristic decisions to the forest in chain order, through the collapse guards.

Order is what makes batch and incremental clustering agree: proposals are applied in (block, position in
block, heuristic) order, whether the run covers the whole chain or only the blocks since the last run, so
the forest and every guard decision come out the same. Ownership merges are batched into the compiled
kernel between guarded ones (a guard must see the clusters as they are at that point of the chain).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from heuristics.catalog import CATALOG
from heuristics.evidence import MergeEvidence
from tracer.clustering.forest import Forest
from tracer.clustering.guards import DEFAULT_MAX_WEAK_SIZE, OwnerIndex, Refusal, check


@dataclass(frozen=True, slots=True)
class Proposal:
    """A heuristic's merge, with the store ids it names."""

    evidence: MergeEvidence
    address_ids: tuple[int, ...]  # sorted, distinct; parallel to evidence.addresses
    position: int  # of the transaction in its block
    tx_id: int | None  # transactions.id on UTXO chains


@dataclass(frozen=True, slots=True)
class Outcome:
    proposal: Proposal
    refusal: Refusal | None  # None: merged


class ClusterEngine:
    __slots__ = ("forest", "max_weak_size", "owners", "unions")

    def __init__(self, forest: Forest, owners: OwnerIndex, max_weak_size: int = DEFAULT_MAX_WEAK_SIZE):
        self.forest = forest
        self.owners = owners
        self.max_weak_size = max_weak_size
        self.unions = 0  # unions that joined two sets

    def apply(self, proposals: Sequence[Proposal]) -> list[Outcome]:
        """Apply ``proposals`` (already in chain order); one outcome each, in the same order."""
        outcomes: list[Outcome] = []
        left: list[int] = []
        right: list[int] = []
        for proposal in proposals:
            ids = proposal.address_ids
            if CATALOG[proposal.evidence.heuristic].ownership:
                left.extend(ids[:1] * (len(ids) - 1))
                right.extend(ids[1:])
                outcomes.append(Outcome(proposal, None))
                continue
            self._union(left, right)
            left, right = [], []
            outcomes.append(Outcome(proposal, self._guarded(proposal)))
        self._union(left, right)
        return outcomes

    def merge_owned(self, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]) -> None:
        """Union ownership edges (never refused) decided outside ``apply`` (tracer.clustering.columnar)."""
        if left.size:
            retired, survivor = self.forest.union_edges_logged(left, right)
            self.unions += int(retired.size)
            self.owners.relink(retired.tolist(), survivor.tolist())

    def _guarded(self, proposal: Proposal) -> Refusal | None:
        ids = proposal.address_ids
        roots = sorted(set(self.forest.roots(np.asarray(ids)).tolist()))
        sizes = [self.forest.size(root) for root in roots]
        refusal = check(proposal.evidence.heuristic, roots, sizes, self.owners, self.max_weak_size)
        if refusal is None:
            self._union(list(ids[:1]) * (len(ids) - 1), list(ids[1:]))
        return refusal

    def _union(self, left: Iterable[int], right: Iterable[int]) -> None:
        a = np.fromiter(left, dtype=np.int64)
        if a.size == 0:
            return
        b = np.fromiter(right, dtype=np.int64)
        retired, survivor = self.forest.union_edges_logged(a, b)
        self.unions += int(retired.size)
        self.owners.relink(retired.tolist(), survivor.tolist())


def ids_array(values: Iterable[int]) -> npt.NDArray[np.int64]:
    return np.fromiter(values, dtype=np.int64)
