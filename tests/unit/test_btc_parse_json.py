"""JSON block sources: Bitcoin Core getblock (recorded by bitcoin-etl) checked against bitcoin-etl's own
expected export, getblock verbosity 3 built from recorded getrawtransaction replies, and raito files."""

from __future__ import annotations

import copy
import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin import params
from chains.bitcoin.parse import btc_to_sat, detect_and_parse_json, parse_getblock, parse_tx_bytes
from chains.bitcoin.raito import parse_raito
from chains.errors import ParseError
from chains.model import Block, InputSource, OutPoint, ScriptType

BITCOIN = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin"
RPC = BITCOIN / "rpc"
GETBLOCK_FILES = sorted(RPC.glob("*/rpc_response_getblock_*_2.json"))
BLOCK_50001 = (
    RPC / "block_with_transactions"
    / "rpc_response_getblock_000000001c920d495e1eeef2452b6d1c6c229a919b28196c103ecffebabee141_2.json"
)  # fmt: skip
GENESIS = RPC / "block_0" / f"rpc_response_getblock_{params.GENESIS_HASH}_2.json"


def _load(path: Path, *, exact: bool = True) -> Any:
    text = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return json.loads(text, parse_float=Decimal) if exact else json.loads(text)


def _expected_txs(case: Path) -> dict[str, dict[str, Any]]:
    lines = (case / "expected_transactions.json").read_text().splitlines()
    return {row["hash"]: row for row in map(json.loads, filter(None, lines))}


# --- getblock verbosity 2 -------------------------------------------------------------------------------
@pytest.mark.parametrize("path", GETBLOCK_FILES, ids=lambda p: f"{p.parent.name}-{p.name[22:30]}")
def test_getblock_v2_matches_bitcoin_etl_export(path: Path) -> None:
    obj = _load(path)
    block = parse_getblock(obj)
    (expected_block,) = [
        json.loads(line)
        for line in (path.parent / "expected_blocks.json").read_text().splitlines()
        if line and json.loads(line)["hash"] == obj["hash"]
    ]
    assert (block.hash, block.height, block.time) == (
        expected_block["hash"],
        expected_block["number"],
        expected_block["timestamp"],
    )
    assert len(block.txs) == expected_block["transaction_count"]
    expected = _expected_txs(path.parent)
    for tx in block.txs:
        row = expected[tx.txid]
        assert (tx.index, tx.size, tx.vsize, tx.version, tx.locktime) == (
            row["index"],
            row["size"],
            row["virtual_size"],
            row["version"],
            row["lock_time"],
        )
        assert tx.is_coinbase == row["is_coinbase"]
        assert [(o.index, o.value, o.script_type.value, o.address) for o in tx.outputs] == [
            (o["index"], o["value"], o["type"], (o["addresses"] or [None])[0]) for o in row["outputs"]
        ]
        assert [(i.prevout.txid, i.prevout.vout, i.sequence) for i in tx.inputs if i.prevout] == [
            (i["spent_transaction_hash"], i["spent_output_index"], i["sequence"]) for i in row["inputs"]
        ]


@pytest.mark.parametrize("path", GETBLOCK_FILES, ids=lambda p: f"{p.parent.name}-{p.name[22:30]}")
def test_getblock_v2_agrees_with_its_own_hex_and_addresses(path: Path) -> None:
    obj = _load(path)
    block = parse_getblock(obj)
    for tx_json, tx in zip(obj["tx"], block.txs, strict=True):
        assert parse_tx_bytes(bytes.fromhex(tx_json["hex"]), tx.index) == tx  # JSON path == raw path
        for vout, out in zip(tx_json["vout"], tx.outputs, strict=True):
            spk = vout["scriptPubKey"]
            assert spk["type"] == out.script_type.value
            assert spk.get("addresses", [spk.get("address")])[0] == out.address


def test_getblock_v2_inputs_without_prevouts() -> None:
    # Block 50001 tx 7940cdde... spends two P2PK outputs: the spends carry only signatures -> UNRESOLVED.
    block = parse_getblock(_load(BLOCK_50001))
    tx = block.txs[1]
    assert tx.txid == "7940cdde4d713e171849efc6bd89939185be270266c94e92369e3877ad89455a"
    assert [i.source for i in tx.inputs] == [InputSource.UNRESOLVED, InputSource.UNRESOLVED]
    assert tx.fee is None
    assert block.txs[0].inputs[0].source is InputSource.COINBASE


def test_float_amounts_give_the_same_records() -> None:
    for path in GETBLOCK_FILES:
        assert parse_getblock(_load(path, exact=False)) == parse_getblock(_load(path))


def test_getblock_without_hex_or_with_modern_address_field() -> None:
    obj = _load(BLOCK_50001)
    reference = parse_getblock(obj)
    older = copy.deepcopy(obj)  # no "hex": type and "addresses" are used
    modern = copy.deepcopy(obj)  # Core >= 22: "address" instead of "addresses"
    for tx_old, tx_new in zip(older["tx"], modern["tx"], strict=True):
        for vout in tx_old["vout"]:
            del vout["scriptPubKey"]["hex"]
        for vout in tx_new["vout"]:
            spk = vout["scriptPubKey"]
            spk["address"] = spk.pop("addresses")[0]
    assert parse_getblock(older) == reference
    assert parse_getblock(modern) == reference


# --- getblock verbosity 3 -----------------------------------------------------------------------------------
def _as_verbosity_3(block: dict[str, Any], spent_txs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """getblock v3 = v2 + each vin's "prevout"; built from recorded getrawtransaction replies."""
    block = copy.deepcopy(block)
    for tx in block["tx"]:
        for vin in tx["vin"]:
            if "coinbase" not in vin:
                vout = spent_txs[vin["txid"]]["vout"][vin["vout"]]
                vin["prevout"] = {"generated": True, "height": 0, "value": vout["value"],
                                  "scriptPubKey": vout["scriptPubKey"]}  # fmt: skip
    return block


def test_getblock_v3_inputs_carry_value_and_address() -> None:
    case = RPC / "stream_50001_50002"
    spent = {tx["txid"]: tx for tx in map(_load, case.glob("rpc_response_getrawtransaction_*.json"))}
    for txid, tx in spent.items():  # the recorded replies are what they claim to be
        assert parse_tx_bytes(bytes.fromhex(tx["hex"])).txid == txid
    block = parse_getblock(_as_verbosity_3(_load(BLOCK_50001), spent))
    payments = block.txs[1:]
    assert all(i.source is InputSource.PREVOUT for tx in payments for i in tx.inputs)
    tx = payments[0]  # 7940cdde...: 2 x 50 BTC coinbase outputs (P2PK) -> 100 BTC to one P2PKH
    assert [(i.value, i.script_type) for i in tx.inputs] == [(5_000_000_000, ScriptType.P2PK)] * 2
    for inp in tx.inputs:  # the address the recording node gave for each spent output
        assert inp.prevout is not None
        spk = spent[inp.prevout.txid]["vout"][inp.prevout.vout]["scriptPubKey"]
        assert inp.address == spk["addresses"][0]
    assert tx.fee == 0
    assert payments[1].fee == 0


# --- detect_and_parse_json ---------------------------------------------------------------------------------
def test_detect_and_parse_json_shapes() -> None:
    obj = _load(GENESIS)
    (genesis,) = detect_and_parse_json(obj)
    assert genesis.prev_hash == params.NULL_HASH and genesis.hash == params.GENESIS_HASH
    assert detect_and_parse_json({"result": obj, "error": None, "id": 1}) == [genesis]
    assert detect_and_parse_json([{"jsonrpc": "2.0", "result": obj, "id": 0}, obj]) == [genesis, genesis]
    raito = _load(BITCOIN / "raito" / "full_169.json.gz")
    assert detect_and_parse_json(raito) == parse_raito(raito)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"result": None, "error": {"code": -5, "message": "Block not found"}, "id": 1}, "Block not found"),
        ({"hash": "00" * 32, "tx": ["4a5e1e4b" + "00" * 28]}, "verbosity 1"),
        ({"bits": "1d00ffff"}, "unrecognised"),
        ("0100000001", "expected a JSON object"),
    ],
)
def test_detect_and_parse_json_refuses(obj: object, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        detect_and_parse_json(obj)


def test_header_only_and_mangled_getblock_raise() -> None:
    header_only = _load(next((RPC / "stream_50001_50002").glob("*_None.json")))  # "tx": [] but nTx 3
    with pytest.raises(ParseError, match="no transactions"):
        parse_getblock(header_only)
    obj = _load(BLOCK_50001)
    obj["tx"][1]["txid"] = obj["tx"][2]["txid"]
    with pytest.raises(ParseError, match="merkleroot"):
        parse_getblock(obj)
    del obj["time"]
    with pytest.raises(ParseError, match="time"):
        parse_getblock(obj)


# --- amounts ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "sat"),
    [
        (Decimal("50.00000000"), 5_000_000_000),
        (Decimal("0.00000001"), 1),
        (Decimal("20999999.97690000"), 2_099_999_997_690_000),
        (0.1 + 0.2, 30_000_000),  # a float off by 4e-17 BTC still names 0.3 BTC
        (20999999.99999999, 2_099_999_999_999_999),
        (0.00000001, 1),
        (7, 700_000_000),
        ("0.5", 50_000_000),
    ],
)
def test_btc_to_sat(value: object, sat: int) -> None:
    assert btc_to_sat(value) == sat


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.000000001"),
        "0.123456789",
        Decimal("-1"),
        21_000_001,
        True,
        None,
        "abc",
        [1],
        float("nan"),
        "Infinity",
    ],
)
def test_btc_to_sat_refuses(value: object) -> None:
    with pytest.raises(ParseError):
        btc_to_sat(value)


@given(st.integers(min_value=0, max_value=params.MAX_MONEY_SAT))
def test_btc_to_sat_is_exact_for_every_amount(sat: int) -> None:
    btc = Decimal(sat).scaleb(-8)
    assert btc_to_sat(btc) == sat
    assert btc_to_sat(float(btc)) == sat  # what json.loads gives without parse_float=Decimal
    assert btc_to_sat(json.loads(json.dumps(float(btc)))) == sat


# --- raito ------------------------------------------------------------------------------------------------
RAITO_FILES = sorted((BITCOIN / "raito").glob("full_*.json.gz"), key=lambda p: int(p.name[5:-8]))
RAITO_TX_COUNTS = {170: 2, 24835: 2, 57043: 2, 116928: 10, 150013: 47, 210000: 457, 255018: 146,
                   403200: 443, 478558: 331, 757739: 63, 757753: 81}  # fmt: skip


@pytest.fixture(scope="module")
def raito_blocks() -> dict[int, Block]:
    blocks = {}
    for path in RAITO_FILES:
        (block,) = parse_raito(_load(path))
        blocks[block.height] = block
    return blocks


def test_raito_blocks_rebuild_to_the_expected_hashes(raito_blocks: dict[int, Block]) -> None:
    # parse_raito raises unless the rebuilt header hashes to the file's expected best_block_hash.
    assert {h: len(b.txs) for h, b in raito_blocks.items()} == RAITO_TX_COUNTS
    for path in RAITO_FILES:
        obj = _load(path)
        (block,) = parse_raito(obj)
        assert (block.hash, block.height) == (
            obj["expected"]["best_block_hash"],
            obj["expected"]["block_height"],
        )
        assert block.prev_hash == obj["chain_state"]["best_block_hash"]


def test_raito_values_add_up(raito_blocks: dict[int, Block]) -> None:
    """Every input carries its value; fees are non-negative and the coinbase claims subsidy + fees exactly."""
    for height, block in raito_blocks.items():
        payments = block.txs[1:]
        assert all(
            i.source is InputSource.PREVOUT and i.value is not None for tx in payments for i in tx.inputs
        )
        fees = [tx.fee for tx in payments]
        assert all(fee is not None and fee >= 0 for fee in fees)
        subsidy = 50 * params.COIN_SAT >> height // 210_000
        assert block.txs[0].output_value == subsidy + sum(f for f in fees if f is not None)


def test_raito_known_transactions(raito_blocks: dict[int, Block]) -> None:
    # Block 170: the first person-to-person payment, 10 BTC from block 9's coinbase output to Hal Finney.
    first = raito_blocks[170].txs[1]
    assert first.txid == "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    (spend,) = first.inputs
    assert spend.prevout == OutPoint("0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9", 0)
    assert (spend.value, spend.address) == (5_000_000_000, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S")
    assert [(o.value, o.address) for o in first.outputs] == [
        (1_000_000_000, "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"),
        (4_000_000_000, "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"),
    ]
    # Block 757753: a Whirlpool 0.05 BTC mix (5 P2WPKH in, 5 x 5,000,000 sat out; the two fresh
    # premix inputs carry the 907 sat miner fee) -- a real positive case for a CoinJoin detector.
    (mix,) = [t for t in raito_blocks[757753].txs if t.txid.startswith("1d0becedc766")]
    assert [o.value for o in mix.outputs] == [5_000_000] * 5
    assert sorted(i.value or 0 for i in mix.inputs) == [5_000_000] * 3 + [5_000_302, 5_000_605]
    assert {i.script_type for i in mix.inputs} == {ScriptType.P2WPKH} and mix.fee == 907
    assert all(i.witness_items == 2 for i in mix.inputs) and mix.vsize < mix.size


def test_raito_tampering_is_detected() -> None:
    obj = _load(RAITO_FILES[0])
    obj["blocks"][0]["data"]["transactions"][1]["outputs"][0]["value"] += 1
    with pytest.raises(ParseError, match="rebuilt hash"):
        parse_raito(obj)
    del obj["chain_state"]
    with pytest.raises(ParseError, match="chain_state"):
        parse_raito(obj)


def test_outputs_paying_more_than_can_exist_raise() -> None:
    obj = _load(GENESIS)
    vout = obj["tx"][0]["vout"]
    vout[0]["value"] = Decimal(21_000_000)  # all that can exist: still a block
    parse_getblock(obj)
    vout.append(dict(vout[0], n=1, value=Decimal("0.00000001")))  # each output in range, their sum not
    with pytest.raises(ParseError, match="more than the 2100000000000000 that can exist"):
        parse_getblock(obj)
