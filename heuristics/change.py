"""Bitcoin change heuristics: which output of a payment returns the remainder to the payer. Each one merges
the payer's input addresses with that change address. All are OFF by default (heuristics.catalog): they
infer ownership from wallet behaviour, and their errors are what builds superclusters. Each is switchable
on its own (``tracer cluster --heuristics common_input,change_optimal``), and the engine's collapse guards
apply to all of them.

Sources and published precision: the ``PUBLISHED`` records below, one per heuristic, which the catalog
(heuristics.catalog, ``tracer cluster --heuristics list``) shows. A figure is quoted only where we read it,
with where we read it; where we found none, the record says "no figure found" -- never an estimate of
ours. The figures come from the evaluation Moser & Narayanan 2022 ran of BlockSci's change heuristics on
their ground truth of transactions with known change, as printed by the analysis notebooks Moser published
(``MOSER_NOTEBOOK``). They are for BlockSci's versions of the rules, which ours follow (ours also step
back on self-change and multisig), on a ground truth of July 2021 -- not a promise for any one cluster.
Ours is measured on the bundled data by ``python -m bench.cluster_quality`` (merges, refusals and owner
purity per heuristic). BlockSci's documentation recommends against using any of them for clustering
without further refinement: a few percent of wrong merges is what the collapse guards are for.

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
    precision: str  # a figure as read, with where it was read; or starts "no figure found"


NO_FIGURE_FOUND = "no figure found"
# Where the figures below were read: the analysis notebooks Malte Moser published with the code of his
# dissertation, which evaluate BlockSci's change heuristics on the ground truth of Moser & Narayanan 2022
# (35,257,428 transactions whose change output is known), with their printed output. Precision there is
# the share of identified change outputs that were the true change; coverage the share of ground-truth
# transactions in which the heuristic named exactly one change output. We did not have the paper's text.
MOSER_NOTEBOOK = (
    "github.com/maltemoeser/dissertation-code, 'Address clustering - Analysis/5a) Heuristics Accuracy - "
    "ALL.ipynb' (commit 92b4545), printed output"
)
FRESH_ADDRESS_PUBLISHED = Published(
    "Meiklejohn et al. 2013, 'A Fistful of Bitcoins' (IMC 2013; CACM 2016), heuristic 2 (one-time change); "
    "Androulaki et al. 2013, 'Evaluating User Privacy in Bitcoin' (FC 2013), shadow addresses; "
    "Ermilov et al. 2017, 'Automatic Bitcoin Address Clustering' (ICMLA 2017), one-time change as a vote; "
    "BlockSci client_change_address_behavior, evaluated by Moser & Narayanan 2022",
    "95.98% of identified change outputs correct (19,378,533 of 20,190,698), one identified in 57.27% of "
    "the ground-truth transactions: BlockSci's client_change_address_behavior (the same rule) on the "
    f"ground truth of Moser & Narayanan 2022, read in {MOSER_NOTEBOOK}. Meiklejohn et al. give no "
    "figure; they built the rule to be safe at the cost of many false negatives and skip self-change, "
    "which they saw in 23% of transactions in the first half of 2013.",
)
OPTIMAL_CHANGE_PUBLISHED = Published(
    "Nick 2015, 'Data-driven de-anonymization in Bitcoin' (ETH Zurich); BlockSci optimal_change "
    "(Kalodner et al. 2020); evaluated by Moser & Narayanan 2022, 'Resurrecting Address Clustering in "
    "Bitcoin' (FC 2022)",
    "92.08% of identified change outputs correct (10,788,126 of 11,715,979), one identified in 33.23% of "
    "the ground-truth transactions: BlockSci's optimal_change on the ground truth of Moser & Narayanan "
    f"2022, read in {MOSER_NOTEBOOK}",
)
ADDRESS_TYPE_PUBLISHED = Published(
    "BlockSci address_type (Kalodner et al. 2020); evaluated by Moser & Narayanan 2022 on their ground "
    "truth of transactions with known change",
    "88.58% of identified change outputs correct (8,353,435 of 9,430,321), one identified in 26.75% of "
    "the ground-truth transactions: BlockSci's address_type on the ground truth of Moser & Narayanan "
    f"2022, read in {MOSER_NOTEBOOK}",
)
FINGERPRINT_PUBLISHED = Published(
    "Kappos et al. 2022, 'How to Peel a Million: Validating and Expanding Bitcoin Clusters' (USENIX "
    "Security 2022); BlockSci locktime; Moser & Narayanan 2022 (wallet fingerprints of the spending "
    "transaction)",
    "for each fingerprint alone (this heuristic requires version, locktime and RBF signalling to match "
    "together): locktime 98.78% of identified change outputs correct (10,865,262 of 10,999,489, one "
    "identified in 31.2% of the ground-truth transactions), version 98.33% (8,668,413 of 8,815,548; "
    "25.0%), RBF 96.34% (2,662,483 of 2,763,509; 7.84%): fingerprint heuristics on the ground truth of "
    f"Moser & Narayanan 2022, read in {MOSER_NOTEBOOK}. Kappos et al. 2022: {NO_FIGURE_FOUND} (their "
    "text was not available to us).",
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
