"""Typed decoding of the node answers the indexer reads in bulk: blocks, their receipts, ``trace_block``.

msgspec decodes a JSON-RPC batch straight into dicts that hold only the fields ``chains.evm.parse`` reads,
skipping the rest (logs blooms, gas fields, signatures: most of the bytes) without building objects for
them. Measured on bench.evm_ingest (2,003 anvil blocks, 21 MB of answers): the indexer's CPU fell from
~0.45 to ~0.34 s, decoding from ~0.08 s (orjson, every field) to ~0.025 s.

An answer of another shape (a node's own types, one error object for a whole batch) is decoded again,
untyped, with ``chains.rpc.fast_decode``: ``parse`` then sees it exactly as before and judges it. Typing
only ever makes decoding faster, never stricter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypedDict

import msgspec

from chains.rpc import fast_decode


class Log(TypedDict, total=False):  # total=False: a missing field stays missing, as in the JSON
    address: str
    topics: list[str]
    data: str
    logIndex: str
    removed: bool


class BlockLog(Log, total=False):  # eth_getLogs: a log names its transaction and block
    transactionHash: str
    blockHash: str


# Functional syntax where a field is named "from" (a keyword).
Receipt = TypedDict(
    "Receipt",
    {
        "transactionHash": str,
        "blockHash": str,
        "status": str,
        "from": str,
        "to": str | None,
        "contractAddress": str | None,
        "logs": list[Log],
    },
    total=False,
)
Transaction = TypedDict(
    "Transaction", {"hash": str, "from": str, "to": str | None, "value": str, "input": str}, total=False
)


class Block(TypedDict, total=False):
    hash: str
    parentHash: str
    number: str
    timestamp: str
    logsBloom: str  # checked against the logs of a range (``rangelogs``)
    transactions: list[str | Transaction]  # hashes, or bodies


TraceAction = TypedDict(
    "TraceAction",
    {
        "from": str,
        "to": str,
        "value": str,
        "callType": str,
        "address": str,
        "refundAddress": str,
        "balance": str,
    },
    total=False,
)


class TraceResult(TypedDict, total=False):
    address: str


class ParityTrace(TypedDict, total=False):
    action: TraceAction
    result: TraceResult | None
    type: str
    transactionHash: str | None
    blockHash: str
    traceAddress: list[int]
    error: str


class _BlockReply(TypedDict, total=False):
    id: Any
    result: Block | None
    error: Any


class _ReceiptsReply(TypedDict, total=False):
    id: Any
    result: list[Receipt] | None
    error: Any


class _TracesReply(TypedDict, total=False):
    id: Any
    result: list[ParityTrace] | None
    error: Any


class _RawReply(TypedDict, total=False):
    id: Any
    result: msgspec.Raw  # the answer's bytes, undecoded (JSON null included)
    error: Any


class _LogsReply(TypedDict, total=False):
    id: Any
    result: list[BlockLog] | None
    error: Any


def batch_decoder(reply: Any) -> Callable[[bytes], Any]:
    """A decoder for a JSON-RPC batch answer: a list of ``reply`` objects, else whatever it is."""
    typed = msgspec.json.Decoder(list[reply])

    def decode(body: bytes) -> Any:
        try:
            return typed.decode(body)
        except msgspec.MsgspecError:  # another shape, or not JSON: fast_decode says which
            return fast_decode(body)

    return decode


def result_decoder(result: Any) -> Callable[[bytes], Any]:
    """A decoder for one call's ``result`` kept raw (``RAW``), typed as ``batch_decoder``'s are."""
    typed = msgspec.json.Decoder(result)

    def decode(body: bytes) -> Any:
        try:
            return typed.decode(body)
        except msgspec.MsgspecError:
            return fast_decode(body)

    return decode


BLOCKS: Final = batch_decoder(_BlockReply)
RECEIPTS: Final = batch_decoder(_ReceiptsReply)
PARITY_TRACES: Final = batch_decoder(_TracesReply)
LOGS: Final = batch_decoder(_LogsReply)
# Results left as bytes: decoded later, where they are parsed (a worker process), by these.
RAW: Final = batch_decoder(_RawReply)
RAW_ONE: Final = result_decoder(_RawReply)  # one response object (``JsonRpcClient.call``), not a batch
PARITY_TRACES_RESULT: Final = result_decoder(list[ParityTrace] | None)
LOGS_RESULT: Final = result_decoder(list[BlockLog] | None)
