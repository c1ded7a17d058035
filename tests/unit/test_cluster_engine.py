"""The engine applies merges in order through the collapse guards (tracer.clustering.guards)."""

from __future__ import annotations

from heuristics.evidence import Confidence, Heuristic, MergeEvidence
from tracer.clustering.engine import ClusterEngine, Proposal
from tracer.clustering.forest import Forest
from tracer.clustering.guards import OwnerIndex, RefusalReason


def proposal(heuristic: Heuristic, *ids: int) -> Proposal:
    evidence = MergeEvidence(heuristic, "ab" * 32, 1, tuple(f"a{i}" for i in ids), Confidence.MEDIUM)
    return Proposal(evidence, tuple(sorted(ids)), 0, None)


def engine(owners: dict[int, list[str]], max_weak_size: int = 100) -> ClusterEngine:
    forest = Forest(64)
    index = OwnerIndex.build(owners, forest.roots(list(owners)))
    return ClusterEngine(forest, index, max_weak_size)


def test_a_behavioural_heuristic_never_joins_two_labelled_owners() -> None:
    e = engine({1: ["binance"], 5: ["kraken"]})
    outcomes = e.apply([proposal(Heuristic.COMMON_INPUT, 1, 2), proposal(Heuristic.DEPOSIT_ADDRESS, 2, 5)])
    assert outcomes[0].refusal is None
    refusal = outcomes[1].refusal
    assert refusal is not None and refusal.reason is RefusalReason.OWNER_CONFLICT
    assert "binance" in refusal.detail and "kraken" in refusal.detail
    assert e.forest.find(5) == 5  # not merged


def test_owners_follow_ownership_merges_made_in_the_compiled_batch() -> None:
    e = engine({7: ["binance"], 9: ["kraken"]})
    outcomes = e.apply(
        [
            proposal(Heuristic.COMMON_INPUT, 3, 7),  # 3 joins binance's cluster in a batch
            proposal(Heuristic.CHANGE_OPTIMAL, 3, 9),  # so 3 (root 3) now carries binance
        ]
    )
    refusal = outcomes[1].refusal
    assert refusal is not None and refusal.reason is RefusalReason.OWNER_CONFLICT


def test_ownership_evidence_passes_the_guards() -> None:
    e = engine({1: ["binance"], 2: ["kraken"]}, max_weak_size=1)
    (outcome,) = e.apply([proposal(Heuristic.COMMON_INPUT, 1, 2)])
    assert outcome.refusal is None and e.forest.find(2) == 1


def test_a_weak_heuristic_may_not_grow_a_cluster_past_the_limit() -> None:
    e = engine({}, max_weak_size=3)
    outcomes = e.apply(
        [
            proposal(Heuristic.COMMON_INPUT, 1, 2, 3),
            proposal(Heuristic.CHANGE_OPTIMAL, 3, 4),  # 4 members: past 3
            proposal(Heuristic.DEPOSIT_ADDRESS, 3, 4),  # not a weak heuristic: allowed
        ]
    )
    refusal = outcomes[1].refusal
    assert refusal is not None and refusal.reason is RefusalReason.SIZE_LIMIT
    assert refusal.parameters["resulting_size"] == 4
    assert outcomes[2].refusal is None and e.forest.size(4) == 4
