"""Receipts rebuilt from ``trace_block`` and the block's logs, for nodes that offer both. Pure: no I/O.

What the indexer reads from a receipt is its transaction's sender and recipient, its status, the contract a
creation made, and its logs. With ``trace_block`` the first four are in each transaction's top frame (the
trace with an empty ``traceAddress``): ``action.from``, ``action.to`` (a call), ``result.address`` (a
creation), and ``error`` (set exactly when the transaction failed: its state changes were reverted). The
logs of a block come from ``eth_getLogs`` with a ``blockHash`` filter (EIP-234): that block's logs and no
other branch's. A failed transaction emits no logs, in a receipt or in ``eth_getLogs``.

Why: a node serialises receipts at several times the cost of logs (anvil, 20,003 blocks of the bench chain:
``eth_getBlockReceipts`` 1.09 s of its CPU and 122 MB, ``eth_getLogs`` by block hash 0.38 s and 39 MB), and
the indexer reads ``trace_block`` anyway (internal transfers, each transaction's value).

A transaction whose top frame is missing, or is a failed creation (a receipt still names the address it
would have had; its trace does not), is left to a real receipt: ``rebuild`` lists them. ``rebuildable``
tells from a block's undecoded ``trace_block`` answer that it has neither, so that the answer can be
decoded and rebuilt away from the node (in a parse worker, which cannot ask for receipts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from chains.errors import ParseError
from chains.evm.structs import FRAME_SHAPES

Json = Any
_REWARD = "reward"
_CREATE = "create"


class OtherBranch(ParseError):
    """Traces or logs of another block than the one asked about: the node switched branches between our
    requests (a reorg at the tip). Asking again gets answers of one branch."""


def same_block(block_hash: str, items: Sequence[Json], what: str) -> None:
    """Raise ``OtherBranch`` when an item of ``what`` (receipts, logs, traces read by height or hash) names
    another block than ``block_hash`` (lower-case 0x hex); items that name none pass."""
    for item in items:
        named = item.get("blockHash") if item is not None else None
        if named is not None and str(named).lower() != block_hash:
            raise OtherBranch(f"{what} for block {block_hash} answered one of block {named}")


def rebuild(block: Json, traces: Sequence[Json], logs: Sequence[Json]) -> tuple[list[Json], list[str]]:
    """The receipts of ``block`` (transaction hashes only) from its traces and logs, in block order, and the
    hashes of the transactions whose receipt must come from the node instead (``None`` in their place)."""
    block_hash = str(block["hash"]).lower()
    same_block(block_hash, traces, "trace_block's traces")
    same_block(block_hash, logs, "eth_getLogs's logs")
    tops = _top_frames(traces)
    by_tx: dict[str, list[Json]] = {}
    for log in logs:
        by_tx.setdefault(str(log["transactionHash"]).lower(), []).append(log)
    receipts: list[Json] = []
    missing: list[str] = []
    for entry in block["transactions"]:
        tx_hash = (entry if isinstance(entry, str) else str(entry["hash"])).lower()
        receipt = _receipt(tx_hash, tops.get(tx_hash), by_tx.pop(tx_hash, []))
        if receipt is None:
            missing.append(tx_hash)
        receipts.append(receipt)
    if by_tx:
        raise ParseError(f"block {block_hash}: logs of transactions it does not hold: {sorted(by_tx)[:3]}")
    return receipts, missing


def rebuildable(traces: bytes, tx_count: int, block_hash: str) -> bool:
    """Whether a block's undecoded ``trace_block`` answer surely rebuilds every receipt: as many top frames
    (an empty ``traceAddress``, a transaction hash) as transactions, no reward frame, no errored creation,
    and every frame names ``block_hash`` (not another branch's block at that height). Conservative: an
    answer of another shape just says no (it is decoded and checked). Five fields of each frame are
    decoded, the rest skipped: 2.2 µs a block of the bench chain (4 transactions, 2.7 kB of traces;
    compiled), where four searches of its bytes (reward, create, the hash, a count of top frames) took 3.7
    (the JSON's many quotes and hex letters defeat the searches' skipping)."""
    try:
        frames = FRAME_SHAPES.decode(traces) or []
    except msgspec.MsgspecError:
        return False
    tops = 0
    for frame in frames:
        if frame.blockHash != block_hash or frame.type == _REWARD or (frame.error and frame.type == _CREATE):
            return False
        if not frame.traceAddress and frame.transactionHash:
            tops += 1
    return tops == tx_count


def _top_frames(traces: Sequence[Json]) -> dict[str, Json]:
    tops: dict[str, Json] = {}
    for trace in traces:
        tx_hash = trace.get("transactionHash")
        if tx_hash and not trace.get("traceAddress"):
            tops[str(tx_hash).lower()] = trace
    return tops


def _receipt(tx_hash: str, top: Json | None, logs: list[Json]) -> Json | None:
    if top is None:
        return None
    action, result = top.get("action") or {}, top.get("result") or {}
    failed = bool(top.get("error"))
    creation = top.get("type") == "create"
    if creation and failed:
        return None  # its receipt names the address the creation would have made
    if failed and logs:
        raise ParseError(f"transaction {tx_hash} failed in its trace but has logs")
    return {
        "transactionHash": tx_hash,
        "status": "0x0" if failed else "0x1",
        "from": action.get("from"),
        "to": None if creation else action.get("to"),
        "contractAddress": result.get("address") if creation else None,
        "logs": logs,
    }
