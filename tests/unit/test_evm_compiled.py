"""The EVM parser compiled (mypyc: chains.evm.compiled) and its pure-Python reference give identical
records, and so do its two paths for a block fetched as ``trace_block`` + ``eth_getLogs``: the fast one
(``chains.evm.traced``, structs read in one pass) and the reference one (``tracereceipts.rebuild`` then
``parse.parse_block``). On real mainnet answers (tests/fixtures/ethereum: the helios block with its 202
receipts, ethereum-etl's blocks and traces) and TRON's (graphsense-lib's block 50,000,011); the anvil-made
chain is in tests/evm/test_anvil_node.py."""

from __future__ import annotations

import gzip
import json
import os
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
import pytest

from chains.errors import ParseError
from chains.evm import address, parse, traced
from chains.evm.compiled import is_compiled, load_pure
from chains.evm.node import RawBlock, TraceApi, _rebuild, parse_raw
from chains.model import AccountBlock, Chain
from chains.tron.address import from_hex as tron_from_hex
from tracer.devnode.tron_rows import jsonrpc_answers, load_rows

FIXTURES = Path(__file__).parents[1] / "fixtures"
ETL = FIXTURES / "ethereum" / "etl"


@cache
def pure() -> dict[str, ModuleType]:
    return load_pure()


def helios() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(FIXTURES / "ethereum" / "helios" / "receipts.json.gz", "rt") as fh:
        return json.loads((FIXTURES / "ethereum" / "helios" / "block.json").read_text()), json.load(fh)


def as_traced(block: dict[str, Any], receipts: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    """``trace_block`` top frames and ``eth_getLogs`` answers that say what ``receipts`` say (each
    transaction's value made up: receipts carry none), as a node serves them for ``block``."""
    frames, logs = [], []
    for n, r in enumerate(receipts):
        created = r.get("contractAddress")
        action = {"from": r["from"], "value": hex(n * 10**15)}
        action |= {} if created else {"to": r["to"], "callType": "call"}
        frame = {
            "action": action,
            "result": {"address": created} if created else {"gasUsed": "0x1"},
            "type": "create" if created else "call",
            "transactionHash": r["transactionHash"],
            "blockHash": block["hash"],
            "traceAddress": [],
        }
        frames.append(frame | ({"error": "Reverted"} if r.get("status") == "0x0" else {}))
        logs += [log | {"transactionHash": r["transactionHash"]} for log in r["logs"]]
    return orjson.dumps(frames), orjson.dumps(logs)


def reference(block: dict[str, Any], traces: bytes, logs: bytes) -> AccountBlock:
    """``parse_raw``'s reference path: the receipts rebuilt (``_rebuild``), then parsed."""
    raw = _rebuild(RawBlock(block, None, TraceApi.PARITY.value, traces, logs))
    return parse_raw(Chain.ETHEREUM, raw, address.from_hex)


@pytest.mark.skipif(bool(os.environ.get("TRACER_PURE_PYTHON")), reason="installed without compiling")
def test_the_installed_evm_parser_is_compiled() -> None:
    assert is_compiled(parse) and is_compiled(traced) and is_compiled(address)  # else: scripts/bootstrap
    assert not is_compiled(pure()["parse"]) and not is_compiled(pure()["traced"])
    assert pure()["traced"].topics_row is pure()["parse"].topics_row  # the pure modules use each other


def test_compiled_and_pure_agree_on_the_helios_block_and_its_receipts() -> None:
    block, receipts = helios()
    p = pure()
    expected = parse.parse_block(Chain.ETHEREUM, block, receipts)
    assert p["parse"].parse_block(Chain.ETHEREUM, block, receipts, codec=p["address"].from_hex) == expected
    assert len(expected.transfers) > 100 and expected.events  # a busy block: many logs of every kind


def test_fast_and_reference_paths_agree_compiled_and_pure_on_the_helios_block() -> None:
    block, receipts = helios()
    traces, logs = as_traced(block, receipts)
    fast = traced.parse_traced(Chain.ETHEREUM, block, traces, logs)
    assert fast is not None and len(fast.txs) == 202
    assert fast == reference(block, traces, logs)
    p = pure()
    assert p["traced"].parse_traced(Chain.ETHEREUM, block, traces, logs, p["address"].from_hex) == fast


def test_the_fast_paths_rows_hold_the_reference_records_compiled_and_pure() -> None:
    """``parse_traced_rows`` (what the indexer writes) holds the reference path's records field for field
    (``parse.block_rows``), and ``parse.block_record`` gives those records back."""
    block, receipts = helios()
    traces, logs = as_traced(block, receipts)
    expected = reference(block, traces, logs)
    rows = traced.parse_traced_rows(Chain.ETHEREUM, block, traces, logs)
    assert rows == parse.block_rows(expected) and rows is not None and rows[6]  # approvals among them
    assert parse.block_record(Chain.ETHEREUM, rows) == expected
    p = pure()
    assert p["traced"].parse_traced_rows(Chain.ETHEREUM, block, traces, logs, p["address"].from_hex) == rows
    assert p["parse"].block_rows(expected) == rows


def etl_traces() -> list[dict[str, Any]]:
    """Block 1,000,000's ``trace_block`` (ethereum-etl's recording: two transactions, a CALLCODE frame,
    a reward) and, in its first transaction, frames of every other kind: a value call, an errored call
    with a frame under it, a creation and a self-destruct."""
    traces = json.loads((ETL / "web3_response.trace_block_0xf4240.json").read_text())["result"]
    top, inner = traces[0], traces[1]
    a, b = top["action"]["from"], top["action"]["to"]
    more = [
        {**inner, "action": {**inner["action"], "callType": "call"}, "traceAddress": [1]},
        {**inner, "traceAddress": [2], "error": "Reverted"},
        {**inner, "traceAddress": [2, 0], "action": {**inner["action"], "callType": "call"}},
        {**inner, "type": "create", "action": {"from": b, "value": "0x5"}, "result": {"address": a},
         "traceAddress": [3]},
        {**inner, "type": "suicide", "action": {"address": a, "refundAddress": b, "balance": "0x7"},
         "traceAddress": [4]},
    ]  # fmt: skip
    return [top, inner, *more, *traces[2:]]


def test_compiled_and_pure_agree_on_ethereum_etl_blocks_and_traces() -> None:
    traces = etl_traces()
    p = pure()
    compiled_ref = parse.BlockRef(Chain.ETHEREUM, 1_000_000, 0)
    pure_ref = p["parse"].BlockRef(Chain.ETHEREUM, 1_000_000, 0, p["address"].from_hex)
    internal = parse.parse_parity_traces(compiled_ref, traces)
    assert [t.amount for t in internal] == [int(traces[0]["action"]["value"], 16), 5, 7]
    assert p["parse"].parse_parity_traces(pure_ref, traces) == internal
    assert p["parse"].parity_tx_values(traces) == parse.parity_tx_values(traces)
    block_hash = traces[0]["blockHash"]
    tx_hashes = list(dict.fromkeys(t["transactionHash"] for t in traces if t.get("transactionHash")))
    block = {"hash": block_hash, "parentHash": "0x" + "0" * 64, "number": "0xf4240", "timestamp": "0x0",
             "transactions": tx_hashes}  # fmt: skip
    raw = orjson.dumps(traces)
    fast = traced.parse_traced(Chain.ETHEREUM, block, raw, b"[]")
    assert fast is not None and fast == reference(block, raw, b"[]")
    assert fast.transfers[-len(internal) :] == tuple(internal)  # internal transfers last, as in the reference
    assert fast == p["traced"].parse_traced(Chain.ETHEREUM, block, raw, b"[]", p["address"].from_hex)
    calls = json.loads(
        (ETL / "web3_response.debug_traceBlockByNumber_0xf4240_tracer_calltracer.json").read_text()
    )
    hashes = ["0x" + f"{n}" * 64 for n in range(len(calls["result"]))]
    assert p["parse"].parse_call_traces(pure_ref, calls["result"], hashes) == parse.parse_call_traces(
        compiled_ref, calls["result"], hashes
    )


def test_compiled_and_pure_agree_on_a_block_with_bodies_and_its_receipts() -> None:
    body = json.loads((ETL / "web3_response.eth_getBlockByNumber_0x1ac9f3_true.json").read_text())["result"]
    receipts = [json.loads(path.read_text())["result"] for path in ETL.glob("*getTransactionReceipt*")]
    expected = parse.parse_block(Chain.ETHEREUM, body, receipts)
    assert len(expected.txs) == 2
    assert (
        pure()["parse"].parse_block(Chain.ETHEREUM, body, receipts, codec=pure()["address"].from_hex)
        == expected
    )


def test_compiled_and_pure_agree_on_a_real_tron_block() -> None:
    block, receipts = jsonrpc_answers(
        load_rows(FIXTURES / "tron" / "graphsense" / "trx_block_50000011.json.gz")
    )
    expected = parse.parse_block(Chain.TRON, block, receipts, codec=tron_from_hex)
    assert expected.transfers
    assert pure()["parse"].parse_block(Chain.TRON, block, receipts, codec=tron_from_hex) == expected
    traces, logs = as_traced(block, receipts)
    assert traced.parse_traced(Chain.TRON, block, traces, logs, tron_from_hex) is None  # TRON: reference
    assert parse.block_record(Chain.TRON, parse.block_rows(expected)) == expected  # rows keep every field


def test_answers_the_reference_path_must_judge_are_left_to_it() -> None:
    block, receipts = helios()
    traces, logs = as_traced(block, receipts)
    frames, entries = orjson.loads(traces), orjson.loads(logs)
    other = {**block, "hash": "0x" + "e" * 64}
    stray = {**entries[0], "transactionHash": "0x" + "9" * 64}
    cases = {
        "another block's traces": (other, traces, b"[]"),
        "a missing top frame": (block, orjson.dumps(frames[1:]), logs),
        "logs of a transaction the block lacks": (block, traces, orjson.dumps([*entries, stray])),
        "a log index that is null": (block, traces, orjson.dumps([{**entries[0], "logIndex": None}])),
        "not JSON": (block, b"[", logs),
    }  # fmt: skip
    for what, (b, t, answer) in cases.items():
        assert traced.parse_traced(Chain.ETHEREUM, b, t, answer) is None, what
        assert pure()["traced"].parse_traced(Chain.ETHEREUM, b, t, answer) is None, what
    missing = RawBlock(block, None, TraceApi.PARITY.value, orjson.dumps(frames[1:]), logs)
    with pytest.raises(ParseError, match="no top frame"):  # which the reference path says
        parse_raw(Chain.ETHEREUM, missing, address.from_hex)
