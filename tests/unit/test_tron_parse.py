"""chains.tron: addresses and the HTTP API parser, on real mainnet transactions (tests/fixtures/tron:
TronGrid answers recorded in LedgerHQ/ledger-live; each txID is re-derived from its raw_data_hex)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chains.errors import AddressError, ParseError
from chains.evm import params
from chains.model import Chain, TokenEventKind, TransferKind
from chains.tron.address import from_hex, normalize_address, to_hex
from chains.tron.parse import parse_asset_issue, parse_block, parse_transaction, tx_id

TRON = Path(__file__).parents[1] / "fixtures" / "tron"
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # tronscan "Tether USD"; its HTTP-API hex is below
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
LEDGER_WALLET = "TAVrrARNdnjHgCGMQYeQV7hv4PSu7mVsMj"  # 4105cc12...: the account the recording is about


def recorded() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((TRON / "trongrid_transactions.json").read_text())
    return data


def test_address_forms_agree() -> None:
    assert from_hex(USDT_HEX) == from_hex("0x" + USDT_HEX[2:]) == from_hex("00" * 12 + USDT_HEX[2:]) == USDT
    assert to_hex(USDT) == USDT_HEX and normalize_address(USDT_HEX) == USDT
    with pytest.raises(AddressError):
        normalize_address(USDT[:-1] + "u")  # checksum


def test_real_trx_transfers() -> None:
    txs = [parse_transaction(tx, n) for n, tx in enumerate(recorded())]
    assert [t.hash for t in txs] == ["0x" + tx_id(tx["raw_data_hex"]) for tx in recorded()]
    assert [(t.from_address, t.to_address, t.value) for t in txs] == [
        ("TQ7pF3NTDL2Tjz5rdJ6ECjQWjaWHpLZJMH", LEDGER_WALLET, 5),
        (LEDGER_WALLET, from_hex("41f03c5fb459d4f746ff01692b940c5a8a01480db1"), 100_000_000),
        (LEDGER_WALLET, from_hex("41a2ff80f95ce3740235dc46a4dffe00d9f9b91f37"), 2_000_000),
    ]
    assert all(t.success for t in txs)
    tampered = {**recorded()[0], "txID": "00" * 32}
    with pytest.raises(ParseError, match="sha256"):
        parse_transaction(tampered, 0)


def _usdt_call(sender_hex: str, result: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A USDT-TRC20 transfer call and its info in the HTTP API's shapes (the log of a real transfer's
    layout: 20-byte contract address and topics without 0x)."""
    tx = {
        "txID": "ab" * 32,
        "ret": [{"contractRet": result}],
        "raw_data": {"contract": [{"type": "TriggerSmartContract", "parameter": {"value": {
            "owner_address": sender_hex, "contract_address": USDT_HEX, "data": "a9059cbb"}}}]},
    }  # fmt: skip
    word = "00" * 12 + sender_hex[2:]
    info = {
        "id": "ab" * 32,
        "receipt": {"result": result},
        "log": [{
            "address": USDT_HEX[2:],
            "topics": [params.TRANSFER_TOPIC[2:], "00" * 12 + sender_hex[2:], "00" * 12 + USDT_HEX[2:]],
            "data": f"{25_000_000:064x}",
        }, {"address": USDT_HEX[2:], "topics": [params.ADDED_BLACKLIST_TOPIC[2:]], "data": word}],
        "internal_transactions": [
            {"caller_address": USDT_HEX, "transferTo_address": sender_hex,
             "callValueInfo": [{"callValue": 7}]},
            {"caller_address": USDT_HEX, "transferTo_address": sender_hex,
             "callValueInfo": [{"callValue": 9}], "rejected": True},
        ],
    }  # fmt: skip
    return tx, info


def test_block_with_a_trc20_transfer_a_freeze_and_internal_trx() -> None:
    sender_hex = "4105cc125604448afeb6867eb688efb7e80411d57a"
    tx, info = _usdt_call(sender_hex, "SUCCESS")
    block = {
        "blockID": "0000000003b5f0d1" + "cd" * 24,
        "block_header": {"raw_data": {"number": 62255313, "parentHash": "0000000003b5f0d0" + "ef" * 24,
                                      "timestamp": 1717419792000}},
        "transactions": [recorded()[0], tx],
    }  # fmt: skip
    parsed = parse_block(block, [info])
    assert (parsed.chain, parsed.height, parsed.time) == (Chain.TRON, 62255313, 1717419792)
    kinds = [(t.kind, t.asset, t.from_address, t.to_address, t.amount) for t in parsed.transfers]
    assert kinds == [
        (TransferKind.NATIVE, None, "TQ7pF3NTDL2Tjz5rdJ6ECjQWjaWHpLZJMH", LEDGER_WALLET, 5),
        (TransferKind.TOKEN, USDT, LEDGER_WALLET, USDT, 25_000_000),
        (TransferKind.INTERNAL, None, USDT, LEDGER_WALLET, 7),  # the rejected one moved nothing
    ]
    (freeze,) = parsed.events
    assert (freeze.kind, freeze.token, freeze.subject) == (TokenEventKind.FREEZE, USDT, LEDGER_WALLET)
    failed_tx, failed_info = _usdt_call(sender_hex, "REVERT")
    failed = parse_block({**block, "transactions": [failed_tx]}, [failed_info])
    assert not failed.txs[0].success and failed.transfers == () and failed.events == ()


def test_trc10_asset_ids_in_both_api_forms() -> None:
    from chains.tron.parse import trc10_id

    assert trc10_id("31303035303635") == trc10_id("1005065") == "1005065"  # java-tron hex / TronGrid digits
    assert trc10_id("zz") == "zz"  # not hex: kept as given


def test_trc10_issue_records() -> None:
    """getassetissuebyid answers in java-tron's JSON (visible false): text as hex of its bytes, precision
    left out when 0, ``{}`` for an id the node does not have."""
    record = {"id": "1000000", "abbr": b"EXM".hex(), "name": b"Example asset".hex(), "precision": 6}
    assert parse_asset_issue(record) == ("EXM", "Example asset", 6)
    assert parse_asset_issue({"id": "1000001", "abbr": "5345454420"[:8], "name": "zz"}) == ("SEED", None, 0)
    assert parse_asset_issue({}) == (None, None, None)
    assert parse_asset_issue({"id": "1", "abbr": "00", "precision": 40}) == (None, None, None)
