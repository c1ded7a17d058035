"""chains.evm.tracereceipts: receipts from trace_block's top frames and eth_getLogs, on hand-made answers
shaped as anvil's (the anvil tests compare whole chains against the node's own receipts)."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from chains.errors import ParseError
from chains.evm.node import TraceApi, _same_branch
from chains.evm.tracereceipts import OtherBranch, rebuild, rebuildable

BLOCK = "0x" + "b" * 64
A, B, TOKEN = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40
CALL, CREATE, FAILED = "0x" + "1" * 64, "0x" + "2" * 64, "0x" + "3" * 64


def _top(tx: str, kind: str, *, error: str | None = None, to: str | None = B) -> dict[str, Any]:
    action = {"from": A, "to": to, "value": "0x0"} if kind == "call" else {"from": A, "value": "0x0"}
    result = {"address": TOKEN} if kind == "create" and not error else None
    trace: dict[str, Any] = {
        "blockHash": BLOCK,
        "transactionHash": tx,
        "traceAddress": [],
        "type": kind,
        "action": action,
    }
    return {**trace, "result": result, **({"error": error} if error else {})}


def _log(tx: str, block: str = BLOCK) -> dict[str, Any]:
    return {"blockHash": block, "transactionHash": tx, "address": TOKEN, "topics": [], "data": "0x"}


def test_status_parties_creation_and_logs_come_from_the_top_frames_and_the_logs() -> None:
    inner = {**_top(CALL, "call"), "traceAddress": [0], "action": {"from": B, "to": A, "value": "0x1"}}
    traces = [_top(CALL, "call"), inner, _top(CREATE, "create"), _top(FAILED, "call", error="Reverted")]
    block = {"hash": BLOCK, "transactions": [CALL, CREATE, FAILED]}
    receipts, missing = rebuild(block, traces, [_log(CALL), _log(CREATE)])
    assert missing == []
    assert [(r["status"], r["from"], r["to"], r["contractAddress"], len(r["logs"])) for r in receipts] == [
        ("0x1", A, B, None, 1),
        ("0x1", A, None, TOKEN, 1),
        ("0x0", A, B, None, 0),
    ]


def test_a_failed_creation_or_a_missing_top_frame_is_left_to_the_node() -> None:
    block = {"hash": BLOCK, "transactions": [CREATE, CALL]}
    receipts, missing = rebuild(block, [_top(CREATE, "create", error="Reverted")], [])
    assert receipts == [None, None] and missing == [CREATE, CALL]


@pytest.mark.parametrize(
    ("traces", "logs", "message"),
    [
        ([{**_top(CALL, "call"), "blockHash": "0x" + "e" * 64}], [], "traces for block .* answered one of"),
        ([_top(CALL, "call")], [_log(CALL, "0x" + "e" * 64)], "logs for block .* answered one of"),
        ([_top(CALL, "call")], [_log(CREATE)], "logs of transactions it does not hold"),
        ([_top(CALL, "call", error="Reverted")], [_log(CALL)], "failed in its trace but has logs"),
    ],
)
def test_answers_of_another_block_or_that_contradict_each_other_are_refused(
    traces: list[Any], logs: list[Any], message: str
) -> None:
    with pytest.raises(ParseError, match=message) as info:
        rebuild({"hash": BLOCK, "transactions": [CALL]}, traces, logs)
    assert isinstance(info.value, OtherBranch) == ("answered" in message)  # the node switched branches


def test_rebuildable_wants_one_top_frame_per_transaction_and_no_reward_or_failed_creation() -> None:
    def raw(*traces: dict[str, Any]) -> bytes:
        return orjson.dumps(list(traces))

    call, create = _top(CALL, "call"), _top(CREATE, "create")
    inner = {**call, "traceAddress": [0]}
    assert rebuildable(raw(call, inner, create), 2, BLOCK)
    assert not rebuildable(raw(call, inner, create), 2, "0x" + "e" * 64)  # another branch's block
    assert not rebuildable(raw(call), 2, BLOCK)  # a transaction without a top frame
    reward = {"type": "reward", "blockHash": BLOCK, "traceAddress": [], "action": {}}
    assert not rebuildable(raw(call, create, reward), 2, BLOCK)
    assert not rebuildable(raw(_top(CREATE, "create", error="Reverted")), 1, BLOCK)
    assert rebuildable(raw(call, _top(FAILED, "call", error="Reverted")), 2, BLOCK)  # a failed call is
    assert not rebuildable(raw(call, {**create, "transactionHash": None}), 2, BLOCK)  # whose top frame?
    assert not rebuildable(raw(call, {**inner, "blockHash": None}), 1, BLOCK)  # a frame naming no block
    assert rebuildable(json.dumps([call, inner, create], indent=2).encode(), 2, BLOCK)  # any spelling
    assert not rebuildable(b'{"traceAddress": []}', 1, BLOCK)  # another shape: not sure, so no
    assert rebuildable(b"[]", 0, BLOCK) and rebuildable(b"null", 0, BLOCK)  # no transactions, no traces


def test_receipts_or_traces_of_another_branch_make_the_batch_be_asked_again() -> None:
    tx1, tx2 = "0x" + "01" * 32, "0x" + "02" * 32
    block = {"hash": "0x" + "aa" * 32, "transactions": [{"hash": tx1}, {"hash": tx2}]}
    ours = {"transactionHash": tx1, "blockHash": "0x" + "AA" * 32}
    theirs = {"transactionHash": tx2, "blockHash": "0x" + "bb" * 32}
    # same block in any case; a missing receipt is the parser's to report
    _same_branch(block, [ours, None], TraceApi.NONE, None)
    _same_branch(block, [ours], TraceApi.PARITY, [ours])
    _same_branch(block, [ours], TraceApi.GETH, [{"txHash": tx1.upper()}, {"result": {}}])
    with pytest.raises(OtherBranch):
        _same_branch(block, [ours, theirs], TraceApi.NONE, None)
    with pytest.raises(OtherBranch):
        _same_branch(block, [ours], TraceApi.PARITY, [ours, theirs])  # trace_block names each trace's block
    with pytest.raises(OtherBranch):  # geth's callTracer names each tree's transaction
        _same_branch(block, [ours], TraceApi.GETH, [{"txHash": tx1}, {"txHash": "0x" + "03" * 32}])
