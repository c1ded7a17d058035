"""CoinJoin detectors: per detector a happy path, each guard's rejection, and the batch-payout false-positive
class; then the real transactions in the bundled blocks (tests/fixtures/bitcoin, see its README)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from heuristics_factories import (
    P2PKH,
    P2TR,
    P2WPKH,
    WASABI1_COORDINATOR,
    addr,
    batch_payout,
    coinbase_tx,
    joinmarket_tx,
    make_tx,
    payment,
    txin,
    txout,
    wasabi1_round,
    wasabi2_round,
    whirlpool_mix,
    whirlpool_tx0,
)

from chains.bitcoin.files import read_json_blocks, read_raw_blocks
from chains.model import Block, ScriptType, Tx
from heuristics.coinjoin import (
    DETECTORS,
    WASABI2_STANDARD_DENOMINATIONS_SAT,
    WHIRLPOOL_POOL_DENOMINATIONS_SAT,
    CoinJoinMatch,
    detect_coinjoin,
    detect_equal_outputs,
    detect_joinmarket,
    detect_wasabi1,
    detect_wasabi2,
    detect_whirlpool,
    most_common_output,
)
from heuristics.evidence import VetoReason

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin"


def replace_output(tx: Tx, index: int, **changes: Any) -> Tx:
    outputs = list(tx.outputs)
    outputs[index] = dataclasses.replace(outputs[index], **changes)
    return dataclasses.replace(tx, outputs=tuple(outputs))


def replace_input(tx: Tx, index: int, **changes: Any) -> Tx:
    inputs = list(tx.inputs)
    inputs[index] = dataclasses.replace(inputs[index], **changes)
    return dataclasses.replace(tx, inputs=tuple(inputs))


def add_output(tx: Tx, value: int, address: str | None, script_type: ScriptType = P2WPKH) -> Tx:
    return make_tx(tx.inputs, [*tx.outputs, txout(value, address, script_type)])


# --- shared measurement -------------------------------------------------------------------------------------
def test_most_common_output_ignores_dust_and_breaks_ties_by_larger_value() -> None:
    tx = make_tx(
        [txin(addr("a", 0), 10_000_000)],
        [txout(546, addr("d", i)) for i in range(5)]
        + [txout(v, addr("o", v)) for v in (7_000, 7_000, 9_000, 9_000)],
    )
    assert most_common_output(tx) == (9_000, 2)
    assert most_common_output(make_tx([], [txout(546, "x")])) is None


# --- Whirlpool ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("denomination", sorted(WHIRLPOOL_POOL_DENOMINATIONS_SAT))
@pytest.mark.parametrize("n", [5, 6, 7, 8])
def test_whirlpool_matches_every_pool_and_surge_cycle_size(denomination: int, n: int) -> None:
    match = detect_whirlpool(whirlpool_mix(denomination, n))
    assert match is not None
    assert match.reason is VetoReason.WHIRLPOOL
    assert match.parameters == {
        "denomination_sat": denomination,
        "equal_outputs": n,
        "inputs": n,
        "premix_inputs": 2,
    }
    assert f"every output {denomination} sat" in match.detail


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("4 participants", whirlpool_mix(n=4)),
        ("9 participants", whirlpool_mix(n=9)),
        ("more outputs than inputs", add_output(whirlpool_mix(), 1_000_000, addr("x", 0))),
        ("not a pool denomination", whirlpool_mix(denomination=2_000_000)),
        ("outputs not all equal", replace_output(whirlpool_mix(), 0, value=1_000_001)),
        ("an OP_RETURN output", replace_output(whirlpool_mix(), 0, value=0, script_type=ScriptType.NULLDATA)),
        ("a P2TR output", replace_output(whirlpool_mix(), 0, script_type=P2TR)),
        ("two outputs to one address", replace_output(whirlpool_mix(), 0, address=addr("wo", 1))),
        ("one input address twice", replace_input(whirlpool_mix(), 0, address=addr("wi", 1))),
        ("a P2PKH input", replace_input(whirlpool_mix(), 0, script_type=P2PKH)),
        ("an input below the denomination", replace_input(whirlpool_mix(), 4, value=999_999)),
        ("an input above the fee margin", replace_input(whirlpool_mix(), 0, value=1_110_001)),
        ("nobody pays the miner fee", whirlpool_mix(premix=0)),
    ],
)
def test_whirlpool_rejects(label: str, tx: Tx) -> None:
    assert detect_whirlpool(tx) is None, label


def test_whirlpool_matches_without_input_values_and_says_so() -> None:
    tx = whirlpool_mix()
    for i in range(5):
        tx = replace_input(tx, i, value=None)
    match = detect_whirlpool(tx)
    assert match is not None
    assert "5 input values unknown, not checked" in match.detail


def test_whirlpool_leaves_tx0_and_equal_payouts_alone() -> None:
    # tx0: one wallet's premix split (with an OP_RETURN); merging its inputs is correct.
    assert detect_whirlpool(whirlpool_tx0()) is None
    # A payer paying 5 x 0.01 BTC from 5 arbitrary inputs: the input values give it away.
    payer = make_tx(
        [txin(addr("p", i), 1_300_000 + i) for i in range(5)],
        [txout(1_000_000, addr("q", i)) for i in range(5)],
    )
    assert detect_whirlpool(payer) is None


# --- Wasabi 1 -----------------------------------------------------------------------------------------------
def test_wasabi1_matches_a_round_near_the_base_denomination() -> None:
    match = detect_wasabi1(wasabi1_round(participants=30, denomination=10_003_000))
    assert match is not None
    assert match.reason is VetoReason.WASABI_1
    assert match.parameters["denomination_sat"] == 10_003_000
    assert match.parameters["equal_outputs"] == 30
    assert match.parameters["unique_outputs"] == 31
    assert match.parameters["mixing_levels"] == 1


def test_wasabi1_matches_few_equal_outputs_when_the_coordinator_is_paid() -> None:
    match = detect_wasabi1(
        wasabi1_round(participants=5, denomination=5_000_000, coordinator=WASABI1_COORDINATOR)
    )
    assert match is not None
    assert match.parameters["coordinator_address"] == WASABI1_COORDINATOR
    assert WASABI1_COORDINATOR in match.detail


def test_wasabi1_counts_mixing_levels() -> None:
    tx = wasabi1_round(participants=20)
    doubles = [txout(20_006_000, addr("lvl", i)) for i in range(3)]
    match = detect_wasabi1(
        make_tx([*tx.inputs, *[txin(addr("li", i), 30_000_000) for i in range(3)]], [*tx.outputs, *doubles])
    )
    assert match is not None
    assert match.parameters["mixing_levels"] == 2


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("9 equal outputs, no coordinator", wasabi1_round(participants=9)),
        ("base denomination off by more than 0.02 BTC", wasabi1_round(denomination=12_100_000)),
        ("a P2TR output", replace_output(wasabi1_round(), 0, script_type=P2TR)),
        ("a P2SH input", replace_input(wasabi1_round(), 0, script_type=ScriptType.P2SH)),
        (
            "coordinator paid but only 2 equal outputs",
            wasabi1_round(participants=2, coordinator=WASABI1_COORDINATOR),
        ),
        ("equal outputs to one address", replace_output(wasabi1_round(), 1, address=addr("zo", 0))),
    ],
)
def test_wasabi1_rejects(label: str, tx: Tx) -> None:
    assert detect_wasabi1(tx) is None, label


def _zerolink(unique_outputs: int) -> Tx:
    """12 participants at 0.1 BTC; their 12 changes come in equal pairs except ``unique_outputs`` of them."""
    ins = [txin(addr("zi", i), 15_000_000 + 1_000 * i) for i in range(12)]
    changes = [4_900_000 + 1_000 * (i if i < unique_outputs else i // 2 * 2) for i in range(12)]
    outs = [txout(10_000_000, addr("zo", i)) for i in range(12)] + [
        txout(v, addr("zc", i)) for i, v in enumerate(changes)
    ]
    return make_tx(ins, outs)


def test_wasabi1_needs_two_uniquely_valued_outputs() -> None:
    assert Counter(Counter(o.value for o in _zerolink(2).outputs).values())[1] == 2
    assert detect_wasabi1(_zerolink(2)) is not None
    assert detect_wasabi1(_zerolink(0)) is None


def test_wasabi1_leaves_a_p2wpkh_batch_payout_alone() -> None:
    # 40 payees at exactly 0.1 BTC from 2 inputs: fewer inputs than equal outputs.
    assert detect_wasabi1(batch_payout(equal=40, amount=10_000_000, script_type=P2WPKH)) is None


# --- Wasabi 2 -----------------------------------------------------------------------------------------------
def test_wabisabi_standard_denominations_follow_walletwasabi() -> None:
    # 2^i, 3^i, 2*3^i, 10^i, 2*10^i, 5*10^i between 5_000 sat and 1343.75 BTC.
    assert len(WASABI2_STANDARD_DENOMINATIONS_SAT) == 78
    assert min(WASABI2_STANDARD_DENOMINATIONS_SAT) == 5_000
    assert {
        8_192,
        6_561,
        13_122,
        10_000,
        20_000,
        50_000,
        1_062_882,
        2**30,
    } <= WASABI2_STANDARD_DENOMINATIONS_SAT
    assert not {4_096, 3_000_000, 30_000, 7_000} & WASABI2_STANDARD_DENOMINATIONS_SAT


def test_wasabi2_matches_a_round() -> None:
    match = detect_wasabi2(wasabi2_round())
    assert match is not None
    assert match.reason is VetoReason.WASABI_2
    assert match.parameters["inputs"] == 60
    assert match.parameters["standard_outputs"] == 72
    assert match.parameters["equal_outputs"] == 9
    assert match.parameters["shared_denominations"] == 8


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("49 inputs", wasabi2_round(inputs=49)),
        ("a P2SH output", replace_output(wasabi2_round(), 0, script_type=ScriptType.P2SH)),
        ("a P2PKH input", replace_input(wasabi2_round(), 0, script_type=P2PKH)),
        ("exactly 80 % standard outputs", wasabi2_round(standard_outputs=20, changes=5)),
        ("no standard value shared", wasabi2_round(standard_outputs=8, changes=0)),
    ],
)
def test_wasabi2_rejects(label: str, tx: Tx) -> None:
    assert detect_wasabi2(tx) is None, label


def test_wasabi2_leaves_a_round_amount_consolidation_alone() -> None:
    # 60 inputs swept to one output of exactly 0.01 BTC: a standard denomination, but nothing shared.
    consolidation = make_tx(
        [txin(addr("c", i), 20_000) for i in range(60)], [txout(1_000_000, addr("dst", 0))]
    )
    assert detect_wasabi2(consolidation) is None
    assert detect_coinjoin(consolidation) is None


# --- JoinMarket ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("makers", [2, 4, 9])
@pytest.mark.parametrize("taker_sweeps", [False, True])
def test_joinmarket_matches(makers: int, taker_sweeps: bool) -> None:
    match = detect_joinmarket(joinmarket_tx(makers, taker_sweeps=taker_sweeps))
    assert match is not None
    assert match.reason is VetoReason.JOINMARKET
    assert match.parameters == {
        "denomination_sat": 6_300_000,
        "equal_outputs": makers + 1,
        "inputs": makers + 1,
        "changes": makers if taker_sweeps else makers + 1,
    }


def _jm_with_outputs(extra: list[int]) -> Tx:
    tx = joinmarket_tx(4)
    return make_tx(tx.inputs, [*tx.outputs, *(txout(v, addr("extra", i)) for i, v in enumerate(extra))])


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("only 2 equal outputs (taker + 1 maker)", joinmarket_tx(1)),
        ("more changes than participants", _jm_with_outputs([777_777])),
        ("a change value repeated", replace_output(joinmarket_tx(4), 6, value=2_000_250)),
        ("equal outputs to one address", replace_output(joinmarket_tx(4), 1, address=addr("jo", 0))),
        (
            "fewer inputs than equal outputs",
            make_tx(joinmarket_tx(4).inputs[:4], joinmarket_tx(4).outputs),
        ),
        (
            "one input funds several payees",
            replace_input(joinmarket_tx(4), 0, value=6_300_000 * 3 + 2_050_000),
        ),
    ],
)
def test_joinmarket_rejects(label: str, tx: Tx) -> None:
    assert detect_joinmarket(tx) is None, label


def test_joinmarket_rejects_no_change_at_all() -> None:
    no_change = make_tx(
        [txin(addr("n", i), 1_000_100) for i in range(4)], [txout(1_000_000, addr("m", i)) for i in range(4)]
    )
    assert detect_joinmarket(no_change) is None


# --- any other equal-output CoinJoin ------------------------------------------------------------------------
def _equal_output_coinjoin(participants: int = 6) -> Tx:
    """Each participant: one input, one 0.02 BTC output; two participants' changes happen to be equal."""
    ins = [txin(addr("ei", i), 2_600_000 + 1_000 * i) for i in range(participants)]
    outs = [txout(2_000_000, addr("eo", i)) for i in range(participants)]
    outs += [txout(590_000 + (1_000 * i if i > 1 else 0), addr("ec", i)) for i in range(participants)]
    return make_tx(ins, outs)


def test_equal_outputs_matches_what_the_protocol_detectors_do_not() -> None:
    tx = _equal_output_coinjoin()
    assert [name for name, detector in DETECTORS if detector(tx)] == ["equal_outputs"]
    match = detect_equal_outputs(tx)
    assert match is not None
    assert match.reason is VetoReason.EQUAL_OUTPUTS
    assert match.parameters == {
        "denomination_sat": 2_000_000,
        "equal_outputs": 6,
        "inputs": 6,
        "other_outputs": 6,
    }


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("2 equal outputs", _equal_output_coinjoin(2)),
        (
            "fewer inputs than equal outputs",
            make_tx(_equal_output_coinjoin().inputs[:5], _equal_output_coinjoin().outputs),
        ),
        (
            "all inputs from one address",
            make_tx(
                [dataclasses.replace(i, address=addr("one", 0)) for i in _equal_output_coinjoin().inputs],
                _equal_output_coinjoin().outputs,
            ),
        ),
        ("equal outputs to one address", replace_output(_equal_output_coinjoin(), 1, address=addr("eo", 0))),
        (
            "too many other outputs",
            add_output(add_output(_equal_output_coinjoin(), 77_777, "x1"), 88_888, "x2"),
        ),
        ("one input funds several payees", replace_input(_equal_output_coinjoin(), 0, value=7_000_000)),
        (
            "dust-valued equal outputs",
            make_tx(
                [txin(addr("t", i), 10_000) for i in range(4)], [txout(546, addr("u", i)) for i in range(4)]
            ),
        ),
    ],
)
def test_equal_outputs_rejects(label: str, tx: Tx) -> None:
    assert detect_equal_outputs(tx) is None, label


# --- the false-positive class: batch payouts ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("label", "tx"),
    [
        ("2 inputs, 40 of 47 outputs at 10 BTC", batch_payout(2, equal=40, amount=1_000_000_000, others=6)),
        ("2 inputs, 19 of 30 outputs equal", batch_payout(2, equal=19, amount=1_795_961, others=10)),
        ("2 inputs, 2,916 outputs", batch_payout(2, equal=29, amount=405_735, others=2_886)),
        (
            "16 inputs of one address, 41 equal",
            batch_payout(16, equal=41, amount=268_000, others=100, same_address=True),
        ),
        ("3 inputs, 16 equal", batch_payout(3, equal=16, amount=60_000, others=8)),
    ],
)
@pytest.mark.parametrize(("name", "detector"), DETECTORS)
def test_batch_payouts_are_not_coinjoins(
    label: str, tx: Tx, name: str, detector: Callable[[Tx], CoinJoinMatch | None]
) -> None:
    assert detector(tx) is None, f"{name} flagged {label}"


def test_nothing_matches_coinbase_or_ordinary_payments() -> None:
    for tx in (coinbase_tx(), payment(), payment(12), payment(3, distinct=False), whirlpool_tx0()):
        assert detect_coinjoin(tx) is None


# --- detect_coinjoin: order ---------------------------------------------------------------------------------
def test_detect_coinjoin_runs_the_most_specific_detector_first() -> None:
    assert [name for name, _ in DETECTORS] == [
        "whirlpool",
        "wasabi2",
        "wasabi1",
        "joinmarket",
        "equal_outputs",
    ]
    cases = {
        VetoReason.WHIRLPOOL: whirlpool_mix(),  # also matches equal_outputs
        VetoReason.WASABI_1: wasabi1_round(),  # also matches equal_outputs
        VetoReason.JOINMARKET: joinmarket_tx(4),  # also matches equal_outputs
        VetoReason.WASABI_2: wasabi2_round(),
    }
    for reason, tx in cases.items():
        match = detect_coinjoin(tx)
        assert match is not None
        assert match.reason is reason


def test_wabisabi_round_with_ten_outputs_at_0_1_btc_is_wasabi2() -> None:
    # 10_000_000 sat is a WabiSabi standard denomination and the Wasabi 1 base: WabiSabi is checked first.
    ins = [txin(addr("i", i), 11_000_000) for i in range(60)]
    outs = [txout(10_000_000, addr("o", i)) for i in range(12)] + [
        txout(1_048_576, addr("s", i)) for i in range(10)
    ]
    outs += [txout(1_000_001, addr("c", 0)), txout(1_000_003, addr("c", 1))]
    tx = make_tx(ins, outs)
    assert detect_wasabi1(tx) is not None
    match = detect_coinjoin(tx)
    assert match is not None
    assert match.reason is VetoReason.WASABI_2


# --- real transactions from the bundled blocks --------------------------------------------------------------
@pytest.fixture(scope="module")
def block_574200() -> Block:
    (block,) = read_raw_blocks(
        FIXTURES / "raw/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk.gz"
    )
    assert block.height == 574_200
    return block


@pytest.fixture(scope="module")
def block_696394() -> Block:
    (block,) = read_raw_blocks(FIXTURES / "raw/rsksmart/block-696394-mainnet.txt.gz")
    assert block.height == 696_394
    return block


def tx_by_prefix(block: Block, prefix: str) -> Tx:
    (tx,) = [t for t in block.txs if t.txid.startswith(prefix)]
    return tx


@pytest.mark.parametrize(
    ("block_name", "prefix", "shape"),
    [
        # block 574200: 2 inputs (P2SH-P2WSH, two addresses), 46 outputs, 40 of them 10 BTC: a payout batch.
        ("block_574200", "8d34c368", (2, 46, 40)),
        # block 574200: 2 inputs from one address, 30 outputs, 19 equal: a payout batch.
        ("block_574200", "b6b39233", (2, 30, 19)),
        # block 696394: 2 inputs, 2,916 outputs (29 share the most common value): a payout batch.
        ("block_696394", "a66d7995", (2, 2_916, 29)),
    ],
)
def test_real_batch_payouts_are_not_coinjoins(
    request: pytest.FixtureRequest, block_name: str, prefix: str, shape: tuple[int, int, int]
) -> None:
    tx = tx_by_prefix(request.getfixturevalue(block_name), prefix)
    top = most_common_output(tx)
    assert top is not None
    assert (len(tx.inputs), len(tx.outputs), top[1]) == shape
    assert detect_coinjoin(tx) is None


WHIRLPOOL_TXID = "1d0becedc76680493f098504dd24139a546228c15b13430d7b9128e648180535"


def test_real_whirlpool_mix() -> None:
    # raito/full_757752.json.gz holds block 757753 (Oct 2022); its tx 1d0beced… is a Whirlpool mix in the
    # 0.05 BTC pool: 3 remixed inputs of exactly 5_000_000 sat, 2 premix inputs of 5_000_302 and 5_000_605 sat
    # (the miner-fee margin), 5 outputs of 5_000_000 sat to distinct P2WPKH addresses.
    (block,) = read_json_blocks(FIXTURES / "raito/full_757752.json.gz")
    assert block.height == 757_753
    (tx,) = [t for t in block.txs if t.txid == WHIRLPOOL_TXID]
    match = detect_coinjoin(tx)
    assert match is not None
    assert match.reason is VetoReason.WHIRLPOOL
    assert match.parameters == {
        "denomination_sat": 5_000_000,
        "equal_outputs": 5,
        "inputs": 5,
        "premix_inputs": 2,
    }
    assert "605 sat of miner fee" in match.detail


def test_scan_of_all_bundled_blocks() -> None:
    # Every bundled block (11 raito files, blocks 1-256, 277647, 540107, 574200, 696394; 7,895 txs). The
    # only CoinJoin among them is the Whirlpool mix above (equal_outputs also fires on it, detect_coinjoin
    # reports Whirlpool); nothing else, in particular none of the payout batches, is flagged.
    blocks: list[Block] = []
    for path in sorted(FIXTURES.glob("raito/*.json.gz")):
        blocks += read_json_blocks(path)
    for path in sorted(FIXTURES.glob("raw/*/*")):
        if "utxostore" not in path.name:
            blocks += read_raw_blocks(path)
    txs = [tx for block in blocks for tx in block.txs]
    assert len(txs) == 7_895
    flagged = Counter((name, tx.txid) for tx in txs for name, detector in DETECTORS if detector(tx))
    assert set(flagged) == {("whirlpool", WHIRLPOOL_TXID), ("equal_outputs", WHIRLPOOL_TXID)}
