"""Bitcoin change heuristics on factory records: a happy path, a rejection and a false-positive class each."""

from __future__ import annotations

from heuristics_factories import P2PKH, P2WPKH, addr, make_tx, txin, txout

from chains.model import ScriptType, Tx
from heuristics.change import change_address_type, change_fingerprint, change_fresh_address, change_optimal
from heuristics.evidence import Confidence, Heuristic, MergeEvidence, Veto, VetoReason

PAYEE, CHANGE = addr("pay", 0), addr("chg", 0)


def three_input_payment(change_type: ScriptType = P2WPKH, payee_type: ScriptType = P2PKH) -> Tx:
    ins = [txin(addr("in", i), 1_000_000 + i) for i in range(3)]
    return make_tx(ins, [txout(2_500_000, PAYEE, payee_type), txout(400_000, CHANGE, change_type)])


def test_fresh_address_merges_the_payer_with_the_only_new_output_address() -> None:
    verdict = change_fresh_address(three_input_payment(), 800_000, seen_before={PAYEE})
    assert isinstance(verdict, MergeEvidence)
    assert verdict.heuristic is Heuristic.CHANGE_FRESH_ADDRESS
    assert verdict.addresses == tuple(sorted([addr("in", 0), addr("in", 1), addr("in", 2), CHANGE]))
    assert verdict.confidence is Confidence.LOW
    assert verdict.parameters["change_vout"] == 1


def test_fresh_address_says_nothing_when_two_outputs_are_new_or_change_goes_back_to_an_input() -> None:
    assert change_fresh_address(three_input_payment(), 800_000, seen_before=()) is None
    self_change = make_tx(
        [txin(addr("in", 0), 1_000_000)], [txout(600_000, PAYEE), txout(390_000, addr("in", 0))]
    )
    assert change_fresh_address(self_change, 800_000, seen_before={PAYEE}) is None


def test_optimal_change_is_the_only_output_below_every_input() -> None:
    verdict = change_optimal(three_input_payment(), 800_000)
    assert isinstance(verdict, MergeEvidence) and CHANGE in verdict.addresses
    assert verdict.confidence is Confidence.MEDIUM


def test_optimal_change_lowers_confidence_on_the_payjoin_shape_and_needs_input_values() -> None:
    two_by_two = make_tx(
        [txin(addr("in", 0), 1_000_000), txin(addr("in", 1), 900_000)],
        [txout(1_500_000, PAYEE), txout(390_000, CHANGE)],
    )
    verdict = change_optimal(two_by_two, 800_000)
    assert isinstance(verdict, MergeEvidence) and verdict.confidence is Confidence.LOW
    assert any("PayJoin" in c for c in verdict.conditions)
    unknown_value = make_tx([txin(addr("in", 0), None), txin(addr("in", 1), 900_000)], two_by_two.outputs)
    assert change_optimal(unknown_value, 800_000) is None


def test_address_type_picks_the_only_output_of_the_inputs_type() -> None:
    verdict = change_address_type(three_input_payment(), 800_000)
    assert isinstance(verdict, MergeEvidence) and CHANGE in verdict.addresses
    same_types = three_input_payment(change_type=P2WPKH, payee_type=P2WPKH)
    assert change_address_type(same_types, 800_000) is None  # both outputs could be change


def test_multisig_makes_every_change_heuristic_step_back() -> None:
    to_multisig = three_input_payment(payee_type=ScriptType.P2SH)
    for heuristic in (change_optimal, change_address_type):
        verdict = heuristic(to_multisig, 800_000)
        assert isinstance(verdict, Veto) and verdict.reason is VetoReason.MULTISIG
    assert isinstance(change_fresh_address(to_multisig, 800_000, {PAYEE}), Veto)


def test_fingerprint_matches_a_spender_with_the_payers_wallet_habits() -> None:
    parent = _with(three_input_payment(), version=2, locktime=799_990)
    spender = _with(
        make_tx([txin(CHANGE, 400_000)], [txout(390_000, addr("x", 1))]), version=2, locktime=800_100
    )
    verdict = change_fingerprint(parent, 1, spender, 800_101)
    assert isinstance(verdict, MergeEvidence) and CHANGE in verdict.addresses
    other_wallet = _with(spender, version=1, locktime=0)
    assert change_fingerprint(parent, 1, other_wallet, 800_101) is None


def _with(tx: Tx, *, version: int, locktime: int) -> Tx:
    return Tx(tx.txid, tx.index, version, locktime, tx.inputs, tx.outputs)
