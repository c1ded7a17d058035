"""Bitcoin change heuristics: which output of a payment returns the remainder to the payer. Each one merges
the payer's input addresses with that change address. All are OFF by default (heuristics.catalog): they
infer ownership from wallet behaviour, and their errors are what builds superclusters. Each is switchable
on its own (``tracer cluster --heuristics common_input,change_optimal``), and the engine's collapse guards
apply to all of them.

Sources and published precision: the ``PUBLISHED`` records below, one per heuristic, which the catalog
(heuristics.catalog, ``tracer cluster --heuristics list``) shows. A precision figure is quoted only where we
found it in the paper's own text; where we did not, the record says "no figure found" -- never an estimate
of ours. Moser & Narayanan 2022 and Kappos et al. 2022 measure change heuristics against ground truth, but
their full text was not available to us (no internet here beyond package registries); their figures belong
in these records once someone reads them. Ours is measured on the bundled data by
``python -m bench.cluster_quality`` (merges, refusals and owner purity per heuristic). BlockSci's
documentation, which implements three of them, recommends against using any of them for clustering
without further refinement.

Caution, as the literature gives it:
- multisig (bare multisig, P2SH, P2WSH): the keys behind one may belong to several co-signers or to a
  custodian; a multisig output or input makes every change heuristic step back (veto MULTISIG).
- PayJoin: the receiver adds an input, so the inputs are not one payer's; indistinguishable by design. The
  optimal-change heuristic, which PayJoin targets, lowers its confidence on the 2-input/2-output shape.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import NamedTuple

from chains.model import ScriptType, Tx, TxOut
from heuristics.evidence import Confidence, Heuristic, MergeEvidence, Veto, VetoReason

MIN_OUTPUTS_COUNT = 2  # one output is a sweep: no change to find
# Script types whose keys may be shared among co-signers (BIP11, BIP16 P2SH, BIP141 P2WSH).
MULTISIG_SCRIPT_TYPES = frozenset({ScriptType.MULTISIG, ScriptType.P2SH, ScriptType.P2WSH})
PAYJOIN_SHAPE_INPUTS_COUNT = 2  # BIP78 PayJoins are most often 2 inputs (payer + receiver), 2 outputs
PAYJOIN_SHAPE_OUTPUTS_COUNT = 2
LOCKTIME_FINGERPRINT_MIN = 1  # a non-zero locktime: anti-fee-sniping (Bitcoin Core since 0.11)


class Published(NamedTuple):
    """Where a heuristic is published, and the precision the publication gives for it."""

    source: str
    precision: str  # starts "no figure found" when we could not find one in the source's text


NO_FIGURE_FOUND = "no figure found"
FRESH_ADDRESS_PUBLISHED = Published(
    "Meiklejohn et al. 2013, 'A Fistful of Bitcoins' (IMC 2013; CACM 2016), heuristic 2 (one-time change); "
    "Androulaki et al. 2013, 'Evaluating User Privacy in Bitcoin' (FC 2013), shadow addresses; "
    "Ermilov et al. 2017, 'Automatic Bitcoin Address Clustering' (ICMLA 2017), one-time change as a vote",
    f"{NO_FIGURE_FOUND}. Meiklejohn et al. give no precision figure; they built the rule to be as safe as "
    "possible at the cost of many false negatives, and skip self-change, which they saw in 23% of "
    "transactions in the first half of 2013. Androulaki et al. report only the combined effect with "
    "multi-input clustering (almost 40% of user profiles largely recovered, in a simulated university).",
)
OPTIMAL_CHANGE_PUBLISHED = Published(
    "Nick 2015, 'Data-driven de-anonymization in Bitcoin' (ETH Zurich); BlockSci optimal_change "
    "(Kalodner et al. 2020); evaluated by Moser & Narayanan 2022, 'Resurrecting Address Clustering in "
    "Bitcoin' (FC 2022)",
    f"{NO_FIGURE_FOUND} (not for this rule alone, in the text available to us; Nick 2015 reports "
    "68.59% of a victim's addresses found by the multi-input heuristic, not by this one)",
)
ADDRESS_TYPE_PUBLISHED = Published(
    "BlockSci address_type (Kalodner et al. 2020); evaluated by Moser & Narayanan 2022 on their ground "
    "truth of transactions with known change",
    f"{NO_FIGURE_FOUND} (in the text available to us)",
)
FINGERPRINT_PUBLISHED = Published(
    "Kappos et al. 2022, 'How to Peel a Million: Validating and Expanding Bitcoin Clusters' (USENIX "
    "Security 2022); BlockSci locktime; Moser & Narayanan 2022",
    f"{NO_FIGURE_FOUND} (in the text available to us)",
)


def _payer(tx: Tx) -> tuple[str, ...] | None:
    """Sorted distinct known input addresses, or None when the transaction has no payer to merge."""
    if tx.is_coinbase or len(tx.outputs) < MIN_OUTPUTS_COUNT:
        return None
    addresses = tuple(sorted({i.address for i in tx.inputs if i.address is not None}))
    return addresses or None


def _multisig_veto(tx: Tx, heuristic: Heuristic, block_height: int | None) -> Veto | None:
    inputs = [i.script_type for i in tx.inputs if i.script_type in MULTISIG_SCRIPT_TYPES]
    outputs = [o.script_type for o in tx.outputs if o.script_type in MULTISIG_SCRIPT_TYPES]
    if not inputs and not outputs:
        return None
    return Veto(
        heuristic,
        tx.txid,
        block_height,
        VetoReason.MULTISIG,
        f"{len(inputs)} inputs and {len(outputs)} outputs are multisig-capable (P2SH, P2WSH or bare "
        "multisig): their keys may belong to co-signers",
        {"multisig_inputs": len(inputs), "multisig_outputs": len(outputs)},
    )


class _At(NamedTuple):
    heuristic: Heuristic
    tx: Tx
    block_height: int | None


def _evidence(
    at: _At,
    payer: tuple[str, ...],
    change: TxOut,
    conditions: list[str],
    confidence: Confidence = Confidence.MEDIUM,
) -> MergeEvidence:
    heuristic, tx, block_height = at
    assert change.address is not None
    return MergeEvidence(
        heuristic=heuristic,
        txid=tx.txid,
        block_height=block_height,
        addresses=tuple(sorted({*payer, change.address})),
        confidence=confidence,
        conditions=(*conditions, f"change output {change.index} pays {change.address}"),
        parameters={
            "change_vout": change.index,
            "change_value_sat": change.value,
            "outputs": len(tx.outputs),
        },
    )


def _candidates(tx: Tx, payer: tuple[str, ...]) -> list[TxOut] | None:
    """Outputs that could be change; None when an output pays an input address (self-change: nothing new)."""
    if any(o.address in payer for o in tx.outputs):
        return None
    return [o for o in tx.outputs if o.address is not None]


def change_fresh_address(
    tx: Tx, block_height: int | None, seen_before: Collection[str]
) -> MergeEvidence | Veto | None:
    """The only output whose address had never been paid before this transaction is the change.
    ``seen_before``: the output addresses that some earlier transaction paid."""
    heuristic = Heuristic.CHANGE_FRESH_ADDRESS
    payer = _payer(tx)
    if payer is None or (outputs := _candidates(tx, payer)) is None:
        return None
    if (veto := _multisig_veto(tx, heuristic, block_height)) is not None:
        return veto
    fresh = [o for o in outputs if o.address not in seen_before]
    if len(fresh) != 1 or len({o.address for o in outputs}) != len(outputs):
        return None
    conditions = [f"{len(outputs) - 1} other outputs pay addresses seen before; this one is new"]
    return _evidence(_At(heuristic, tx, block_height), payer, fresh[0], conditions, Confidence.LOW)


def change_optimal(
    tx: Tx, block_height: int | None, _seen: Collection[str] = ()
) -> MergeEvidence | Veto | None:
    """The only output smaller than every input is the change (a wallet would not add an input it did not
    need). Needs every input's value."""
    heuristic = Heuristic.CHANGE_OPTIMAL
    payer = _payer(tx)
    if payer is None or (outputs := _candidates(tx, payer)) is None:
        return None
    values = [i.value for i in tx.inputs]
    if any(v is None for v in values):
        return None
    if (veto := _multisig_veto(tx, heuristic, block_height)) is not None:
        return veto
    smallest_input = min(v for v in values if v is not None)
    below = [o for o in outputs if o.value < smallest_input]
    if len(below) != 1 or len(tx.outputs) != len(outputs):
        return None
    conditions = [f"the only output below the smallest input ({smallest_input} sat)"]
    payjoin_shape = (
        len(tx.inputs) == PAYJOIN_SHAPE_INPUTS_COUNT and len(tx.outputs) == PAYJOIN_SHAPE_OUTPUTS_COUNT
    )
    if payjoin_shape:
        conditions.append("confidence lowered: 2 inputs / 2 outputs is also the shape of a PayJoin (BIP78)")
    confidence = Confidence.LOW if payjoin_shape else Confidence.MEDIUM
    return _evidence(_At(heuristic, tx, block_height), payer, below[0], conditions, confidence)


def change_address_type(
    tx: Tx, block_height: int | None, _seen: Collection[str] = ()
) -> MergeEvidence | Veto | None:
    """Every input has one script type and exactly one output has it too: that output is the change."""
    heuristic = Heuristic.CHANGE_ADDRESS_TYPE
    payer = _payer(tx)
    if payer is None or (outputs := _candidates(tx, payer)) is None:
        return None
    types = {i.script_type for i in tx.inputs}
    if len(types) != 1 or None in types:
        return None
    if (veto := _multisig_veto(tx, heuristic, block_height)) is not None:
        return veto
    script_type = next(iter(types))
    assert script_type is not None
    same = [o for o in outputs if o.script_type == script_type]
    if len(same) != 1 or len(tx.outputs) != len(outputs):
        return None
    conditions = [f"all inputs and only this output are {script_type.value}"]
    return _evidence(_At(heuristic, tx, block_height), payer, same[0], conditions)


def change_fingerprint(
    parent: Tx, vout: int, spender: Tx, block_height: int | None
) -> MergeEvidence | Veto | None:
    """Evaluated when output ``vout`` of ``parent`` is spent by ``spender``: if the spender carries the
    parent's wallet fingerprint (same version, non-zero anti-fee-sniping locktime in both, same opt-in RBF
    signalling) and no other output of the parent pays that address, the spent output was the parent's change.
    Evidence is dated by the spender, so a run that sees the spender sees everything it needs."""
    heuristic = Heuristic.CHANGE_FINGERPRINT
    payer = _payer(parent)
    if (
        payer is None
        or (outputs := _candidates(parent, payer)) is None
        or not 0 <= vout < len(parent.outputs)
    ):
        return None
    change = parent.outputs[vout]
    if change.address is None or sum(1 for o in outputs if o.address == change.address) != 1:
        return None
    if (veto := _multisig_veto(parent, heuristic, block_height)) is not None:
        return veto
    if _fingerprint(parent) != _fingerprint(spender) or parent.locktime < LOCKTIME_FINGERPRINT_MIN:
        return None
    if spender.locktime < LOCKTIME_FINGERPRINT_MIN:
        return None
    version, _, rbf = _fingerprint(parent)
    conditions = [
        f"spent by {spender.txid} with the payer's fingerprint: version {version}, non-zero locktime, "
        f"RBF signalled: {rbf}"
    ]
    return _evidence(_At(heuristic, parent, block_height), payer, change, conditions, Confidence.LOW)


def _fingerprint(tx: Tx) -> tuple[int, bool, bool]:
    rbf = any(i.sequence < 0xFFFFFFFE for i in tx.inputs)  # BIP125 opt-in
    return tx.version, tx.locktime >= LOCKTIME_FINGERPRINT_MIN, rbf


# The change heuristics that need only the transaction (and which of its output addresses were seen before).
Runner = Callable[[Tx, int | None, Collection[str]], MergeEvidence | Veto | None]
RUNNERS: dict[Heuristic, Runner] = {
    Heuristic.CHANGE_FRESH_ADDRESS: change_fresh_address,
    Heuristic.CHANGE_OPTIMAL: change_optimal,
    Heuristic.CHANGE_ADDRESS_TYPE: change_address_type,
}
