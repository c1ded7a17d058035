"""chains.evm.parse and chains.evm.tokens on recorded real mainnet answers (tests/fixtures/ethereum)."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import encode as eth_abi_encode
from eth_utils.crypto import keccak

from chains.evm import answers, params
from chains.evm.address import from_hex
from chains.evm.parse import BlockRef, decode_log, parse_block, parse_call_traces, parse_parity_traces
from chains.evm.tokens import abi_string, decode_decimals, decode_text
from chains.model import AccountBlock, AccountTx, Chain, TokenEvent, TokenEventKind, Transfer, TransferKind
from chains.tron.address import from_hex as tron_from_hex

ETH = Path(__file__).parents[1] / "fixtures" / "ethereum"


def _result(path: Path) -> Any:
    return json.loads(path.read_text())["result"]


def _helios() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(ETH / "helios" / "receipts.json.gz", "rt") as fh:
        return json.loads((ETH / "helios" / "block.json").read_text()), json.load(fh)


@pytest.mark.parametrize(
    ("topic", "signature"),
    [
        (params.TRANSFER_TOPIC, "Transfer(address,address,uint256)"),
        (params.APPROVAL_TOPIC, "Approval(address,address,uint256)"),
        (params.ADDED_BLACKLIST_TOPIC, "AddedBlackList(address)"),
        (params.REMOVED_BLACKLIST_TOPIC, "RemovedBlackList(address)"),
        (params.DESTROYED_BLACK_FUNDS_TOPIC, "DestroyedBlackFunds(address,uint256)"),
        (params.BLACKLISTED_TOPIC, "Blacklisted(address)"),
        (params.UNBLACKLISTED_TOPIC, "UnBlacklisted(address)"),
    ],
)
def test_event_topics_are_keccak_of_their_signatures(topic: str, signature: str) -> None:
    assert topic == "0x" + keccak(text=signature).hex()


def test_helios_block_token_transfers_are_exactly_the_three_topic_transfer_logs() -> None:
    # Mainnet block 21925176 (a16z/helios recording): 202 transactions, hashes only in the block.
    block, receipts = _helios()
    parsed = parse_block(Chain.ETHEREUM, block, receipts)
    expected = {
        (r["transactionHash"], int(log["logIndex"], 16), from_hex(log["address"]),
         from_hex(log["topics"][1]), from_hex(log["topics"][2]), int(log["data"], 16))
        for r in receipts
        for log in r["logs"]
        if log["topics"][:1] == [params.TRANSFER_TOPIC] and len(log["topics"]) == 3
    }  # fmt: skip
    tokens = {
        (t.tx_hash, t.index, t.asset, t.from_address, t.to_address, t.amount)
        for t in parsed.transfers
        if t.kind is TransferKind.TOKEN
    }
    assert len(expected) == 225  # plus 8 four-topic (ERC-721) Transfer logs, which are not amounts
    assert tokens == expected
    assert parsed.height == 21925176 and len(parsed.txs) == 202
    assert parsed.hash == "92dabfa3f61ff1c349d12f5fd0dd4c99760a0a41b77dee8f0a80f83efdcb307a"
    assert sum(not tx.success for tx in parsed.txs) == 3
    # Hashes only: no transaction body, so no native value is claimed.
    assert all(tx.value is None for tx in parsed.txs)
    assert not [t for t in parsed.transfers if t.kind is TransferKind.NATIVE]


def test_ethereum_etl_blocks_match_its_expected_exports() -> None:
    # Blocks 1755634-1755635 (ethereum-etl test_stream): full transactions + per-transaction receipts.
    etl = ETH / "etl"
    receipts = [_result(p) for p in etl.glob("web3_response.eth_getTransactionReceipt_*.json")]
    block = _result(etl / "web3_response.eth_getBlockByNumber_0x1ac9f3_true.json")
    parsed = parse_block(Chain.ETHEREUM, block, receipts)
    expected_txs = [
        json.loads(line) for line in (etl / "expected_transactions.json").read_text().splitlines()
    ]
    natives = {
        (t.tx_hash, t.from_address, t.to_address, t.amount) for t in parsed.transfers if t.asset is None
    }
    assert natives == {
        (e["hash"], from_hex(e["from_address"]), from_hex(e["to_address"]), int(e["value"]))
        for e in expected_txs
        if e["block_number"] == 1755635 and int(e["value"]) > 0
    }
    (token,) = [t for t in parsed.transfers if t.kind is TransferKind.TOKEN]
    (expected,) = [json.loads((etl / "expected_token_transfers.json").read_text())]
    assert (token.asset, token.from_address, token.to_address, token.amount, token.index) == (
        from_hex(expected["token_address"]),
        from_hex(expected["from_address"]),
        from_hex(expected["to_address"]),
        expected["value"],
        expected["log_index"],
    )
    assert token.time == expected["block_timestamp"]


def test_parity_and_geth_traces_give_the_same_internal_transfers() -> None:
    # Block 1,000,000 recorded both ways by ethereum-etl: a CALLCODE with value (credits the caller itself,
    # so no transfer) under a plain call; the second transaction has no inner calls.
    ref = BlockRef(Chain.ETHEREUM, 1_000_000, 0)
    etl = ETH / "etl"
    parity = parse_parity_traces(ref, _result(etl / "web3_response.trace_block_0xf4240.json"))
    geth_answer = _result(etl / "web3_response.debug_traceBlockByNumber_0xf4240_tracer_calltracer.json")
    flat = _result(etl / "web3_response.trace_block_0xf4240.json")
    hashes = [t["transactionHash"] for t in flat if t.get("transactionHash") and not t["traceAddress"]]
    geth = parse_call_traces(ref, geth_answer, hashes)
    assert len(hashes) == 2
    assert parity == geth == []
    # The same recording with the inner frame as a plain CALL: one internal transfer, found both ways.
    inner = next(t for t in flat if t["traceAddress"] == [0])
    as_call = [{**t, "action": {**t["action"], "callType": "call"}} if t is inner else t for t in flat]
    geth_call = json.loads(json.dumps(geth_answer).replace('"CALLCODE"', '"CALL"'))
    (from_parity,) = parse_parity_traces(ref, as_call)
    (from_geth,) = parse_call_traces(ref, geth_call, hashes)
    assert from_parity.amount == from_geth.amount == 100 * 10**18
    assert from_parity.kind is TransferKind.INTERNAL and from_parity.index == from_geth.index == 1


def _log(topics: list[str], data: str, address: str = "0xdac17f958d2ee523a2206206994597c13d831ec7") -> Any:
    return {"address": address, "topics": topics, "data": data, "logIndex": "0x5"}


WORD_A = "0x000000000000000000000000" + "ab" * 20
WORD_B = "0x000000000000000000000000" + "cd" * 20
REF = BlockRef(Chain.ETHEREUM, 7, 1_700_000_000)


def test_decode_log_kinds() -> None:
    amount = "0x" + f"{10**30:064x}"
    transfer = decode_log(REF, "0xaa", _log([params.TRANSFER_TOPIC, WORD_A, WORD_B], amount))
    assert isinstance(transfer, Transfer) and transfer.amount == 10**30 and transfer.index == 5
    assert transfer.asset == "0xdAC17F958D2ee523a2206206994597C13D831ec7"
    # ERC-721: the token id is a fourth topic; not a fungible amount.
    assert decode_log(REF, "0xaa", _log([params.TRANSFER_TOPIC, WORD_A, WORD_B, WORD_A], "0x")) is None
    approval = decode_log(REF, "0xaa", _log([params.APPROVAL_TOPIC, WORD_A, WORD_B], amount))
    assert isinstance(approval, TokenEvent) and approval.kind is TokenEventKind.APPROVAL
    assert approval.spender == from_hex(WORD_B)
    # USDT: the account in the data; USDC: indexed.
    usdt = decode_log(REF, "0xaa", _log([params.ADDED_BLACKLIST_TOPIC], WORD_A))
    usdc = decode_log(REF, "0xaa", _log([params.BLACKLISTED_TOPIC, WORD_A], "0x"))
    assert isinstance(usdt, TokenEvent) and isinstance(usdc, TokenEvent)
    assert usdt.kind is usdc.kind is TokenEventKind.FREEZE and usdt.subject == usdc.subject == from_hex(
        WORD_A
    )
    destroyed = decode_log(REF, "0xaa", _log([params.DESTROYED_BLACK_FUNDS_TOPIC], WORD_A + amount[2:]))
    assert isinstance(destroyed, TokenEvent) and destroyed.amount == 10**30
    assert decode_log(REF, "0xaa", _log([params.TRANSFER_TOPIC, WORD_A, WORD_B], "0x")) is None  # bad data
    assert (
        decode_log(REF, "0xaa", {**_log([params.TRANSFER_TOPIC, WORD_A, WORD_B], amount), "removed": True})
        is None
    )


def test_token_metadata_decoding_on_recorded_eth_call_answers() -> None:
    # ethereum-etl's recordings: EOS (0x86fa...) answers bytes32 symbol and an empty name; 0xf763... strings.
    def answer(selector: str, token: str) -> object:
        name = f"web3_response.eth_call_data_{selector}_to_{token}_latest.json"
        return _result(ETH / "tokens" / name)

    eos, eth = "0x86fa049857e0209aa7d9e616f7eb3b3b78ecfdb0", "0xf763be8b3263c268e9789abfb3934564a7b80054"
    assert decode_text(answer(params.SYMBOL_SELECTOR, eos)) == "EOS"
    assert decode_text(answer(params.NAME_SELECTOR, eos)) is None
    assert decode_decimals(answer(params.DECIMALS_SELECTOR, eos)) == 18
    assert decode_text(answer(params.SYMBOL_SELECTOR, eth)) == "ETH"
    assert decode_text("0x") is None and decode_decimals("0x" + "ff" * 32) is None


def test_account_records_pickle_as_their_fields() -> None:
    # Parse processes hand blocks back pickled (chains.model._by_fields): they must come back equal.
    transfer = Transfer(Chain.ETHEREUM, 7, "0xab", 2, TransferKind.TOKEN, "0xT", "0xA", "0xB", 2**200, 9)
    tx = AccountTx("0xab", 0, "0xA", None, None, False, "0xC")
    event = TokenEvent("0xab", 3, TokenEventKind.DESTROY, "0xT", "0xA", None, 5)
    block = AccountBlock(Chain.TRON, "ff", 7, "ee", 9, (tx,), (transfer,), (event,))
    assert pickle.loads(pickle.dumps(block)) == block


@pytest.mark.parametrize("text", ["", "USDT", "Tether USD", "ünïcödé ✓", "x" * 100])
def test_abi_strings_read_as_eth_abi_writes_them(text: str) -> None:
    raw = eth_abi_encode(["string"], [text])
    assert abi_string(raw) == text
    assert abi_string(raw[:-32]) is None  # cut short
    assert abi_string((64).to_bytes(32, "big") + raw[32:]) is None  # an offset past the answer


def test_tron_json_rpc_value_counts_as_trx_only_for_a_contract_call() -> None:
    """java-tron's JSON-RPC puts a TRC-10 amount, a vote count or a frozen amount into ``value`` of
    transactions without call data, as it does a plain TRX send's: only a call's value is surely TRX."""
    sender, receiver, contract = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    bodies = [
        {"hash": "0x" + "aa" * 32, "from": sender, "to": receiver, "value": "0x3e8", "input": "0x"},
        {"hash": "0x" + "bb" * 32, "from": sender, "to": contract, "value": "0x7d0", "input": "0xa9059cbb"},
    ]
    block = {"hash": "0x" + "cc" * 32, "parentHash": "0x" + "dd" * 32, "number": "0x5", "timestamp": "0x1",
             "transactions": bodies}  # fmt: skip
    receipts = [{"transactionHash": b["hash"], "status": "0x1", "from": sender, "to": b["to"], "logs": []}
                for b in bodies]  # fmt: skip
    reply = json.dumps([{"jsonrpc": "2.0", "id": 0, "result": block}]).encode()
    typed = answers.BLOCKS(reply)[0]["result"]  # the node client's decoding keeps the call data
    for chain, codec in ((Chain.TRON, tron_from_hex), (Chain.ETHEREUM, from_hex)):
        parsed = parse_block(chain, typed, receipts, codec=codec)
        values = [tx.value for tx in parsed.txs]
        natives = [t.amount for t in parsed.transfers if t.kind is TransferKind.NATIVE]
        assert (values, natives) == (
            ([None, 2000], [2000]) if chain is Chain.TRON else ([1000, 2000], [1000, 2000])
        )
