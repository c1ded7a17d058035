"""common_input: nothing to merge, a CoinJoin veto, or merge evidence with its confidence and conditions;
property tests over generated transactions; the payout batches of the bundled blocks are merged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from heuristics_factories import (
    P2PKH,
    P2TR,
    P2WPKH,
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
from hypothesis import given, settings
from hypothesis import strategies as st

from chains.bitcoin.files import read_json_blocks, read_raw_blocks
from chains.model import Block, Tx
from heuristics.coinjoin import detect_coinjoin
from heuristics.common_input import coinjoin_resemblance, common_input
from heuristics.evidence import Confidence, Heuristic, MergeEvidence, Veto, VetoReason

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin"
NO_MATCH = "no CoinJoin detector matched: whirlpool, wasabi2, wasabi1, joinmarket, equal_outputs"


# --- nothing to merge ---------------------------------------------------------------------------------------
def test_coinbase_is_not_merged() -> None:
    assert common_input(coinbase_tx(), 800_000) is None


def test_one_address_is_not_merged() -> None:
    assert common_input(payment(4, distinct=False), 800_000) is None


def test_unresolved_inputs_do_not_count_as_addresses() -> None:
    tx = make_tx(
        [txin(addr("a", 0), 1_000), txin(None, None), txin(None, 5_000)], [txout(5_500, addr("b", 0))]
    )
    assert common_input(tx, None) is None


# --- merge evidence -----------------------------------------------------------------------------------------
def test_payment_merges_its_input_addresses_with_high_confidence() -> None:
    tx = make_tx(
        [txin(addr("c", 0), 600_000), txin(addr("a", 0), 500_000), txin(addr("c", 0), 400_000)],
        [txout(1_200_000, addr("pay", 0)), txout(290_000, addr("chg", 0))],
    )
    evidence = common_input(tx, 812_345)
    assert evidence == MergeEvidence(
        heuristic=Heuristic.COMMON_INPUT,
        txid=tx.txid,
        block_height=812_345,
        addresses=(addr("a", 0), addr("c", 0)),
        confidence=Confidence.HIGH,
        conditions=("3 inputs spend outputs of 2 distinct addresses", NO_MATCH),
        parameters={
            "input_count": 3,
            "resolved_inputs": 3,
            "unresolved_inputs": 0,
            "distinct_addresses": 2,
            "output_count": 2,
        },
    )


def test_unresolved_inputs_lower_confidence_and_are_counted() -> None:
    tx = make_tx(
        [txin(addr("a", 0), 600_000), txin(None, None), txin(addr("b", 0), 400_000)],
        [txout(1_200_000, addr("pay", 0))],
    )
    evidence = common_input(tx, None)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.confidence is Confidence.MEDIUM
    assert evidence.addresses == (addr("a", 0), addr("b", 0))
    assert "1 of 3 inputs have no known address and are left out" in evidence.conditions
    assert evidence.parameters["resolved_inputs"] == 2
    assert evidence.parameters["unresolved_inputs"] == 1


def test_a_coinjoin_like_shape_below_the_thresholds_lowers_confidence() -> None:
    # Stonewall / two-party CoinJoin shape: 2 inputs from 2 addresses, 2 equal outputs, 2 changes.
    tx = make_tx(
        [txin(addr("s", 0), 80_000_000), txin(addr("s", 1), 70_000_000)],
        [
            txout(50_000_000, addr("o", 0)),
            txout(50_000_000, addr("o", 1)),
            txout(29_990_000, addr("o", 2)),
            txout(19_990_000, addr("o", 3)),
        ],
    )
    assert detect_coinjoin(tx) is None
    evidence = common_input(tx, None)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.confidence is Confidence.MEDIUM
    assert evidence.conditions[-1] == (
        "confidence lowered: 2 outputs share the value 50000000 sat and 2 distinct addresses fund the "
        "2 inputs, a CoinJoin-like shape below every detector's threshold"
    )


@pytest.mark.parametrize(
    ("label", "tx"),
    [
        (
            "2 equal dust outputs",
            make_tx([txin(addr("d", i), 10_000) for i in range(2)], [txout(546, "x"), txout(546, "y")]),
        ),
        ("more equal outputs than inputs", batch_payout(2, equal=3, amount=1_000_000, others=0)),
        ("many other outputs", batch_payout(2, equal=2, amount=1_000_000, others=5)),
    ],
)
def test_no_resemblance(label: str, tx: Tx) -> None:
    assert coinjoin_resemblance(tx) is None, label


@pytest.mark.parametrize(
    "tx",
    [
        batch_payout(2, equal=40),
        batch_payout(2, equal=19, amount=1_795_961, others=10),
        batch_payout(2, equal=29, others=2_886),
    ],
)
def test_two_input_batch_payouts_are_merged_with_high_confidence(tx: Tx) -> None:
    # The payer owns both inputs; equal payouts to many payees are no CoinJoin.
    evidence = common_input(tx, 574_200)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.addresses == (addr("payer", 0), addr("payer", 1))
    assert evidence.confidence is Confidence.HIGH


def test_whirlpool_tx0_is_merged() -> None:
    evidence = common_input(whirlpool_tx0(), None)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.confidence is Confidence.HIGH


# --- vetoes: one per reason, each alone ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reason", "tx"),
    [
        (VetoReason.WHIRLPOOL, whirlpool_mix()),
        (VetoReason.WASABI_1, wasabi1_round()),
        (VetoReason.WASABI_2, wasabi2_round()),
        (VetoReason.JOINMARKET, joinmarket_tx(4)),
        (
            VetoReason.EQUAL_OUTPUTS,
            make_tx(
                [txin(addr("e", i), 2_600_000) for i in range(4)],
                [txout(2_000_000, addr("q", i)) for i in range(4)]
                + [txout(590_000, addr("r", i)) for i in range(4)],
            ),
        ),
    ],
)
def test_coinjoin_is_vetoed_with_the_detector_reason(reason: VetoReason, tx: Tx) -> None:
    match = detect_coinjoin(tx)
    assert match is not None
    veto = common_input(tx, 700_000)
    assert veto == Veto(Heuristic.COMMON_INPUT, tx.txid, 700_000, reason, match.detail, match.parameters)


# --- properties ---------------------------------------------------------------------------------------------
INPUT_ADDRESSES = [addr("h", i) for i in range(6)]
OUTPUT_ADDRESSES = [addr("k", i) for i in range(12)]
VALUES = [546, 100_000, 100_550, 1_000_000, 1_000_550, 2_000_000, 5_000_000, 10_000_000, 10_001_000, 123_456]
SCRIPT_TYPES = [P2WPKH, P2TR, P2PKH]

random_txs = st.builds(
    make_tx,
    st.lists(
        st.builds(
            txin,
            st.none() | st.sampled_from(INPUT_ADDRESSES),
            st.none() | st.sampled_from(VALUES),
            st.sampled_from(SCRIPT_TYPES),
        ),
        min_size=1,
        max_size=10,
    ),
    st.lists(
        st.builds(
            txout,
            st.sampled_from(VALUES),
            st.none() | st.sampled_from(OUTPUT_ADDRESSES),
            st.sampled_from(SCRIPT_TYPES),
        ),
        min_size=1,
        max_size=12,
    ),
)
shaped_txs = st.one_of(
    st.builds(whirlpool_mix, st.sampled_from([100_000, 1_000_000]), st.integers(4, 9), st.integers(0, 3)),
    st.builds(joinmarket_tx, st.integers(1, 6), taker_sweeps=st.booleans()),
    st.builds(wasabi1_round, st.integers(3, 12)),
    st.builds(wasabi2_round, st.integers(45, 55)),
    st.builds(batch_payout, st.integers(1, 4), st.integers(2, 12), others=st.integers(0, 4)),
    st.builds(payment, st.integers(1, 5)),
)
any_txs = random_txs | shaped_txs


@settings(max_examples=300)
@given(any_txs)
def test_verdict_follows_addresses_and_detectors(tx: Tx) -> None:
    verdict = common_input(tx, 1)
    known = {i.address for i in tx.inputs if i.address is not None}
    if len(known) < 2:
        assert verdict is None
    elif (match := detect_coinjoin(tx)) is not None:
        assert isinstance(verdict, Veto)
        assert verdict.reason is match.reason
    else:
        assert isinstance(verdict, MergeEvidence)


@settings(max_examples=300)
@given(any_txs)
def test_evidence_merges_two_or_more_of_the_input_addresses(tx: Tx) -> None:
    evidence = common_input(tx, None)
    if isinstance(evidence, MergeEvidence):
        assert len(evidence.addresses) >= 2
        assert list(evidence.addresses) == sorted(set(evidence.addresses))
        assert set(evidence.addresses) <= {i.address for i in tx.inputs}
        assert evidence.parameters["distinct_addresses"] == len(evidence.addresses)
        resolved = evidence.parameters["resolved_inputs"]
        assert resolved == sum(1 for i in tx.inputs if i.address is not None)
        if evidence.confidence is Confidence.HIGH:
            assert resolved == len(tx.inputs)


@settings(max_examples=300)
@given(st.data())
def test_order_of_inputs_and_outputs_does_not_change_the_verdict(data: st.DataObject) -> None:
    tx = data.draw(any_txs)
    inputs = data.draw(st.permutations(tx.inputs))
    outputs = data.draw(st.permutations(tx.outputs))
    shuffled = dataclasses.replace(tx, inputs=tuple(inputs), outputs=tuple(outputs))
    assert common_input(shuffled, 5) == common_input(tx, 5)
    assert detect_coinjoin(shuffled) == detect_coinjoin(tx)


# --- real transactions --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def block_574200() -> Block:
    (block,) = read_raw_blocks(
        FIXTURES / "raw/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk.gz"
    )
    return block


def only_tx(block: Block, prefix: str) -> Tx:
    (tx,) = [t for t in block.txs if t.txid.startswith(prefix)]
    return tx


def test_real_batch_payout_of_block_574200_is_merged(block_574200: Block) -> None:
    # 8d34c368…: 2 P2SH inputs from 2 addresses pay 46 outputs, 40 of them 10 BTC. One payer: merge both.
    tx = only_tx(block_574200, "8d34c368")
    evidence = common_input(tx, block_574200.height)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.addresses == ("34QKgwPZY6xbwHnvAfJXSjMHhWLjsJQEAd", "3JwqJYBSZTojAiaZGdLGCvZx8QjU4xbNTS")
    assert evidence.confidence is Confidence.HIGH
    assert evidence.block_height == 574_200


def test_real_batch_payout_from_one_address_has_nothing_to_merge(block_574200: Block) -> None:
    # b6b39233…: both inputs spend from 1Q7XEbsqoLjkySmXufkxdt4EhgdKS2uDu4; 30 outputs, 19 equal.
    assert common_input(only_tx(block_574200, "b6b39233"), 574_200) is None


def test_real_batch_payout_of_block_696394_is_merged() -> None:
    # a66d7995…: 2 P2WPKH inputs from 2 addresses pay 2,916 outputs.
    (block,) = read_raw_blocks(FIXTURES / "raw/rsksmart/block-696394-mainnet.txt.gz")
    evidence = common_input(only_tx(block, "a66d7995"), block.height)
    assert isinstance(evidence, MergeEvidence)
    assert evidence.addresses == (
        "bc1q6eq8ccdvhdyfrgepflka0gwj9kjpcg9sxztenj",
        "bc1qyfhcz2d023y3pqsw592apjfpmw4fm7t53a563g",
    )
    assert evidence.parameters["output_count"] == 2_916


def test_real_whirlpool_mix_is_vetoed() -> None:
    # Block 757753 (raito/full_757752.json.gz), tx 1d0beced…: a 0.05 BTC Whirlpool mix, 5 distinct owners.
    (block,) = read_json_blocks(FIXTURES / "raito/full_757752.json.gz")
    veto = common_input(only_tx(block, "1d0becedc7668049"), block.height)
    assert isinstance(veto, Veto)
    assert veto.reason is VetoReason.WHIRLPOOL
    assert veto.block_height == 757_753
