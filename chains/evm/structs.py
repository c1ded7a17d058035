"""``trace_block`` and ``eth_getLogs`` answers as msgspec structs, for the parser's fast path
(``chains.evm.traced``): attribute reads instead of ``dict.get``, no dict built per object.

Fields the JSON lacks are None; an answer of any other shape fails to decode, and the dict path
(``answers.PARITY_TRACES_RESULT``, ``answers.LOGS_RESULT``, ``tracereceipts``) reads it. Kept apart from
``answers`` (which imports the RPC client): ``traced`` is compiled (setup.py), and the compile's type
check sees only the build requirements (pyproject's ``[build-system]``), msgspec among them.
"""

from __future__ import annotations

from typing import Final

import msgspec


class TraceActionStruct(msgspec.Struct):
    from_: str | None = msgspec.field(default=None, name="from")
    to: str | None = None
    value: str | None = None
    callType: str | None = None
    address: str | None = None
    refundAddress: str | None = None
    balance: str | None = None


class TraceResultStruct(msgspec.Struct):
    address: str | None = None


class ParityTraceStruct(msgspec.Struct):
    action: TraceActionStruct | None = None
    result: TraceResultStruct | None = None
    type: str | None = None
    transactionHash: str | None = None
    blockHash: str | None = None
    traceAddress: list[int] | None = None
    error: str | None = None


class BlockLogStruct(msgspec.Struct):
    address: str  # required: a log without one is left to the dict path, which refuses it
    topics: list[str] | None = None
    data: str | None = None
    logIndex: str | msgspec.UnsetType = msgspec.UNSET  # missing: 0; null: the dict path (it skips the log)
    removed: bool | None = None
    transactionHash: str | None = None
    blockHash: str | None = None


class FrameShapeStruct(msgspec.Struct):
    """What ``tracereceipts.rebuildable`` reads of a ``trace_block`` frame: the rest is skipped undecoded."""

    type: str | None = None
    error: str | None = None
    traceAddress: list[int] | None = None
    transactionHash: str | None = None
    blockHash: str | None = None


TRACE_STRUCTS: Final = msgspec.json.Decoder(list[ParityTraceStruct] | None)
FRAME_SHAPES: Final = msgspec.json.Decoder(list[FrameShapeStruct] | None)
LOG_STRUCTS: Final = msgspec.json.Decoder(list[BlockLogStruct] | None)
