"""Common-input-ownership: the inputs of one transaction are spent by one entity (Nakamoto 2008, §10;
Meiklejohn et al. 2013, "A Fistful of Bitcoins", heuristic 1).

``common_input`` returns
- ``None`` when there is nothing to merge: a coinbase, or fewer than 2 distinct known input addresses;
- a ``Veto`` when a CoinJoin detector matches (the inputs belong to many people; reason from the match);
- otherwise ``MergeEvidence`` for the sorted distinct input addresses, with the conditions that held.

Confidence is HIGH when every input's address is known and nothing looks like a CoinJoin; MEDIUM when some
inputs are unresolved (the merge is still right, but incomplete) or when the transaction has a CoinJoin-like
shape that stayed below every detector's threshold: k >= 2 equal non-dust outputs, at least k inputs from k
distinct addresses, and at most k + 1 other outputs (a Stonewall or a two-party CoinJoin looks like this).
"""

from __future__ import annotations

from typing import NamedTuple

from chains.model import Tx
from heuristics.coinjoin import (
    DETECTORS,
    DUST_THRESHOLD_SAT,
    EQUAL_OUTPUTS_EXTRA_OUTPUTS_COUNT,
    detect_coinjoin,
    most_common_output,
)
from heuristics.evidence import Confidence, Heuristic, MergeEvidence, Veto

MIN_DISTINCT_ADDRESSES_COUNT = 2  # fewer: nothing to merge
# A CoinJoin needs at least two participants, each with an equal output and an input: the smallest shape that
# could be one (graphsense-lib _is_stonewall: "exactly two of them equal"). Lowers confidence, never vetoes.
RESEMBLANCE_MIN_EQUAL_OUTPUTS_COUNT = 2


def common_input(tx: Tx, block_height: int | None) -> MergeEvidence | Veto | None:
    """Merge the distinct input addresses of ``tx``; veto a CoinJoin; ``None`` when there is nothing to do."""
    if tx.is_coinbase:
        return None
    addresses = sorted({i.address for i in tx.inputs if i.address is not None})
    if len(addresses) < MIN_DISTINCT_ADDRESSES_COUNT:
        return None
    match = detect_coinjoin(tx) if _repeats_a_value(tx) else None
    if match is not None:
        return Veto(
            Heuristic.COMMON_INPUT, tx.txid, block_height, match.reason, match.detail, dict(match.parameters)
        )
    return _evidence(tx, block_height, tuple(addresses))


def _evidence(tx: Tx, block_height: int | None, addresses: tuple[str, ...]) -> MergeEvidence:
    resemblance = coinjoin_resemblance(tx) if _repeats_a_value(tx) else None
    resolved = sum(1 for i in tx.inputs if i.address is not None)
    found = describe(len(tx.inputs), resolved, len(addresses), len(tx.outputs), resemblance)
    return MergeEvidence(
        heuristic=Heuristic.COMMON_INPUT,
        txid=tx.txid,
        block_height=block_height,
        addresses=addresses,
        confidence=found.confidence,
        conditions=found.conditions,
        parameters=found.parameters,
    )


class Described(NamedTuple):
    confidence: Confidence
    conditions: tuple[str, ...]
    parameters: dict[str, int | str]


def describe(
    input_count: int,
    resolved_inputs: int,
    distinct_addresses: int,
    output_count: int,
    resemblance: str | None = None,
) -> Described:
    """Confidence, conditions and parameters of a common-input merge from its counts (the clustering job
    calls this directly for transactions that cannot resemble a CoinJoin: no two outputs share a value)."""
    conditions = [f"{input_count} inputs spend outputs of {distinct_addresses} distinct addresses"]
    if resolved_inputs < input_count:
        conditions.append(
            f"{input_count - resolved_inputs} of {input_count} inputs have no known address and are left out"
        )
    conditions.append("no CoinJoin detector matched: " + ", ".join(name for name, _ in DETECTORS))
    if resemblance is not None:
        conditions.append(f"confidence lowered: {resemblance}")
    high = resolved_inputs == input_count and resemblance is None
    return Described(
        Confidence.HIGH if high else Confidence.MEDIUM,
        tuple(conditions),
        {
            "input_count": input_count,
            "resolved_inputs": resolved_inputs,
            "unresolved_inputs": input_count - resolved_inputs,
            "distinct_addresses": distinct_addresses,
            "output_count": output_count,
        },
    )


def _repeats_a_value(tx: Tx) -> bool:
    """Whether two outputs above dust share a value. Every CoinJoin detector and the resemblance need such
    a pair (equal outputs, or a shared standard denomination, all above DUST_THRESHOLD_SAT), so without one
    they cannot match: checking this first spares them on most transactions."""
    values = [o.value for o in tx.outputs if o.value > DUST_THRESHOLD_SAT]
    return len(values) != len(set(values))


def coinjoin_resemblance(tx: Tx) -> str | None:
    """A sentence when ``tx`` has the smallest CoinJoin-like shape: k >= 2 equal non-dust outputs, at least
    k inputs from k distinct known addresses, at most one change per participant plus one fee output.
    ``None`` otherwise. Not a veto: the detectors decide."""
    top = most_common_output(tx)
    if top is None or top[1] < RESEMBLANCE_MIN_EQUAL_OUTPUTS_COUNT:
        return None
    value, k = top
    distinct = len({i.address for i in tx.inputs if i.address is not None})
    if len(tx.inputs) < k or distinct < k:
        return None
    if len(tx.outputs) - k > k + EQUAL_OUTPUTS_EXTRA_OUTPUTS_COUNT:
        return None
    return (
        f"{k} outputs share the value {value} sat and {distinct} distinct addresses fund the "
        f"{len(tx.inputs)} inputs, a CoinJoin-like shape below every detector's threshold"
    )
