"""The parser's fast path for a block fetched as ``trace_block`` + ``eth_getLogs`` (``RawBlock.logs``): the
two undecoded answers are decoded into structs (``chains.evm.structs``) and read into rows in one pass
(``parse_traced_rows``: ``parse.TxRow``, ``parse.TransferRow``, ``parse.EventRow``; ``parse_traced`` makes
records of them), without the receipts ``tracereceipts.rebuild`` makes and ``parse.parse_block`` reads
back. Pure: no I/O.

The rows hold the records of the reference path (``tracereceipts.rebuild`` then ``parse.parse_block`` with
``parse.parse_parity_traces`` and ``parse.parity_tx_values``), as tests/unit/test_evm_compiled.py and
tests/evm/test_anvil_node.py check on real and anvil-made blocks. Whatever that path would judge — an
answer of another shape, another block's traces or logs, a transaction without its top frame, a TRON
block — makes ``parse_traced`` answer None, and the caller takes the reference path, which decides (and
raises) exactly as before.

Measured on bench.evm_ingest's chain (20,003 blocks of 4 transactions and 3 token transfers), CPU per block
of ``node.parse_raw``: the reference path 32.5 µs in pure Python, 26.5 compiled; this path 24.2 in pure
Python, 20.8 compiled (mypyc: ``chains.evm.compiled``); inside ``tracer index evm`` (its parse thread)
35.3 µs before, 23.5 after. Rows instead of records (a frozen record took ~1.5 µs to build, a tuple ~0.1):
the indexer's parse of that chain (``tracer.indexer.evm.parse_ethereum``) 27.9-29.5 -> 15.5-15.8 µs a block
(machine loaded ~4).
"""

from __future__ import annotations

import msgspec

from chains.errors import ChainError
from chains.evm import address as evm_address
from chains.evm.parse import (
    BlockRowTuple,
    Codec,
    EventRow,
    TransferRow,
    TxRow,
    block_record,
    hex_int,
    native_row,
    strip0x,
    topics_row,
)
from chains.evm.structs import LOG_STRUCTS, TRACE_STRUCTS, BlockLogStruct, ParityTraceStruct
from chains.model import AccountBlock, Chain, TransferKind

__all__ = ["parse_traced", "parse_traced_rows"]

_CREATE = "create"
_ZERO = "0x0"
_TOKEN, _INTERNAL = TransferKind.TOKEN.value, TransferKind.INTERNAL.value


class _NotHere(Exception):
    """Something the reference path must judge: ``parse_traced`` answers None."""


def parse_traced(
    chain: Chain, block: dict[str, object], traces: bytes, logs: bytes, codec: Codec = evm_address.from_hex
) -> AccountBlock | None:
    """The records of ``block`` (transaction hashes only) from its undecoded ``trace_block`` and
    ``eth_getLogs`` answers; None where the reference path must decide."""
    rows = parse_traced_rows(chain, block, traces, logs, codec)
    return None if rows is None else block_record(chain, rows)


def parse_traced_rows(
    chain: Chain, block: dict[str, object], traces: bytes, logs: bytes, codec: Codec = evm_address.from_hex
) -> BlockRowTuple | None:
    """``parse_traced`` as rows (``parse.block_rows`` of its records): what the indexer writes."""
    if chain is Chain.TRON:  # its hashes-only blocks carry no values: the reference path knows
        return None
    try:
        frames = TRACE_STRUCTS.decode(traces) or []
        block_logs = LOG_STRUCTS.decode(logs) or []
        return _rows(block, frames, block_logs, codec)
    except (msgspec.MsgspecError, _NotHere, ChainError, KeyError, TypeError, ValueError):
        return None  # the reference path decides, raising its own error where it has one


def _rows(
    block: dict[str, object],
    frames: list[ParityTraceStruct],
    block_logs: list[BlockLogStruct],
    codec: Codec,
) -> BlockRowTuple:
    block_hash = str(block["hash"]).lower()
    height, time = hex_int(block["number"], "block number"), hex_int(block["timestamp"])
    tops = _top_frames(frames, block_hash)
    by_tx = _logs_by_tx(block_logs, block_hash)
    hashes = block["transactions"]
    if not isinstance(hashes, list):
        raise _NotHere
    txs: list[TxRow] = []
    transfers: list[TransferRow] = []
    events: list[EventRow] = []
    for index, entry in enumerate(hashes):
        if not isinstance(entry, str):
            raise _NotHere  # full bodies: the reference path reads them
        tx_hash = entry.lower()
        tx_logs = by_tx.pop(tx_hash, None)
        tx = _tx(tx_hash, index, tops.get(tx_hash), tx_logs is not None, codec)
        txs.append(tx)
        native = native_row(tx)
        if native is not None:
            transfers.append(native)
        for log in tx_logs or ():
            _decode(codec, tx_hash, log, transfers, events)
    if by_tx or len({tx[0] for tx in txs}) != len(txs):
        raise _NotHere  # logs of transactions the block does not hold, or a hash listed twice
    transfers.extend(_internal_transfers(codec, frames))
    prev_hash = strip0x(str(block["parentHash"])).lower()
    return height, strip0x(block_hash), prev_hash, time, txs, transfers, events


def _top_frames(frames: list[ParityTraceStruct], block_hash: str) -> dict[str, ParityTraceStruct]:
    tops: dict[str, ParityTraceStruct] = {}
    for frame in frames:
        named = frame.blockHash
        if named is not None and named.lower() != block_hash:
            raise _NotHere  # another branch's traces
        tx_hash = frame.transactionHash
        if tx_hash and not frame.traceAddress:
            tops[tx_hash.lower()] = frame
    return tops


def _logs_by_tx(block_logs: list[BlockLogStruct], block_hash: str) -> dict[str, list[BlockLogStruct]]:
    by_tx: dict[str, list[BlockLogStruct]] = {}
    for log in block_logs:
        named = log.blockHash
        if named is not None and named.lower() != block_hash:
            raise _NotHere  # another branch's logs
        if log.transactionHash is None:
            raise _NotHere
        tx_hash = log.transactionHash.lower()
        found = by_tx.get(tx_hash)
        if found is None:
            by_tx[tx_hash] = [log]
        else:
            found.append(log)
    return by_tx


def _tx(tx_hash: str, index: int, top: ParityTraceStruct | None, has_logs: bool, codec: Codec) -> TxRow:
    """The transaction as its top frame settled it (``tracereceipts._receipt`` and ``parse._tx``)."""
    if top is None:
        raise _NotHere  # no top frame: a real receipt is needed
    action = top.action
    failed = bool(top.error)
    creation = top.type == _CREATE
    if (creation and failed) or (failed and has_logs) or action is None or not action.from_:
        raise _NotHere
    to = None if creation else action.to
    created = top.result.address if creation and top.result is not None else None
    return (
        tx_hash,
        index,
        codec(action.from_),
        codec(to) if to else None,
        hex_int(action.value or _ZERO, "value"),
        not failed,
        codec(created) if created else None,
    )


def _decode(
    codec: Codec, tx_hash: str, log: BlockLogStruct, transfers: list[TransferRow], events: list[EventRow]
) -> None:
    topics = log.topics
    if log.removed or not topics:
        return
    index = 0 if isinstance(log.logIndex, msgspec.UnsetType) else log.logIndex
    row = topics_row(codec, tx_hash, topics, log.data or "", address=log.address, log_index=index)
    if row is None:
        return
    if row[2] == _TOKEN:
        transfers.append(row)  # type: ignore[arg-type]  # a token kind: a TransferRow
    else:
        events.append(row)  # type: ignore[arg-type]  # any other kind: an EventRow


def _internal_transfers(codec: Codec, frames: list[ParityTraceStruct]) -> list[TransferRow]:
    """``parse.parse_parity_traces`` over structs: value moves of frames below the top one whose own and
    whose ancestors' calls did not error, numbered per transaction."""
    failed: dict[str, list[tuple[int, ...]]] = {}
    positions: dict[str, int] = {}
    transfers: list[TransferRow] = []
    for frame in frames:
        tx_hash = frame.transactionHash
        if not tx_hash:
            continue
        path = tuple(frame.traceAddress or ())
        errored = failed.setdefault(tx_hash, [])
        if frame.error or any(path[: len(bad)] == bad for bad in errored):
            errored.append(path)
            continue
        if not path:
            continue
        position = positions[tx_hash] = positions.get(tx_hash, 0) + 1
        moved = _move(frame)
        if moved is not None:
            source, target, amount = codec(moved[0]), codec(moved[1]), moved[2]
            transfers.append((tx_hash.lower(), position, _INTERNAL, None, source, target, amount))
    return transfers


def _move(frame: ParityTraceStruct) -> tuple[str, str, int] | None:
    action, result = frame.action, frame.result
    if action is None:
        return None  # no value named: hex_int("0x0") is 0 in the reference path
    kind = frame.type
    if kind == "suicide":
        source, target, value = action.address, action.refundAddress, action.balance
    elif kind == "create":
        source, target, value = action.from_, result.address if result is not None else None, action.value
    else:
        source, target, value = action.from_, action.to, action.value
    amount = hex_int(value or _ZERO, "trace value")
    moves_value = kind != "call" or action.callType == "call"
    if not amount or not source or not target or not moves_value:
        return None
    return source, target, amount
