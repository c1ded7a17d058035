"""Blocks from raito test files (keep-starknet-strange/raito ``tests/data/full_<height>.json``).

Each file holds a chain state, one or more blocks whose inputs all carry their spent output, and the
expected chain state after them. Headers are stored without parent hash and merkle root and txids are
not stored at all, so both are rebuilt here from the serialization, and the rebuilt block hash is
checked against ``expected.best_block_hash`` (through the parent links and merkle roots this checks
every block and txid of the file).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from chains.bitcoin import params
from chains.bitcoin.script import classify_output
from chains.bitcoin.serial import double_sha256, merkle_root, varint_bytes, virtual_size
from chains.errors import ParseError
from chains.model import Block, Chain, InputSource, OutPoint, Tx, TxIn, TxOut

__all__ = ["parse_raito"]

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


def _raito_hex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _raito_input(index: int, inp: Mapping[str, Any], segwit: bool, coinbase: bool) -> tuple[TxIn, bytes]:
    """(record, serialized input) of one raito input."""
    prev = inp["previous_output"]
    script_sig = _raito_hex(inp["script"])
    sequence, vout = int(inp["sequence"]), int(prev["vout"])
    serialized = b"".join(
        (bytes.fromhex(prev["txid"])[::-1], _U32.pack(vout), varint_bytes(len(script_sig)), script_sig)
    ) + _U32.pack(sequence)
    witness_items = len(inp["witness"]) if segwit else 0
    if coinbase:
        return TxIn(index, None, sequence, InputSource.COINBASE, witness_items=witness_items), serialized
    spent = prev["data"]
    stype, address = classify_output(_raito_hex(spent["pk_script"]))
    outpoint = OutPoint(prev["txid"], vout)
    record = TxIn(
        index, outpoint, sequence, InputSource.PREVOUT, address, int(spent["value"]), stype, witness_items
    )
    return record, serialized


def _witness_bytes(inputs: Sequence[Mapping[str, Any]]) -> int:
    """Bytes the BIP144 marker, flag and witness stacks add to a segwit transaction."""
    total = 2
    for inp in inputs:
        items = [_raito_hex(w) for w in inp["witness"]]
        total += len(varint_bytes(len(items))) + sum(len(varint_bytes(len(w))) + len(w) for w in items)
    return total


def _raito_tx(index: int, tx: Mapping[str, Any]) -> tuple[Tx, bytes]:
    """(record, txid in internal byte order); the txid is hashed from the rebuilt serialization."""
    segwit = bool(tx["is_segwit"])
    raw_inputs, raw_outputs = tx["inputs"], tx["outputs"]
    first = raw_inputs[0]["previous_output"]
    coinbase = (
        index == 0 and first["txid"] == params.NULL_HASH and first["vout"] == params.COINBASE_PREVOUT_VOUT
    )
    inputs, parts = [], [varint_bytes(len(raw_inputs))]
    for j, inp in enumerate(raw_inputs):
        record, serialized = _raito_input(j, inp, segwit, coinbase)
        inputs.append(record)
        parts.append(serialized)
    outputs = []
    parts.append(varint_bytes(len(raw_outputs)))
    for k, out in enumerate(raw_outputs):
        script, value = _raito_hex(out["pk_script"]), int(out["value"])
        parts += [_U64.pack(value), varint_bytes(len(script)), script]
        outputs.append(TxOut(k, value, *classify_output(script)))
    version, locktime = int(tx["version"]) & 0xFFFF_FFFF, int(tx["lock_time"])  # unsigned, as in raw parsing
    base = _U32.pack(version) + b"".join(parts) + _U32.pack(locktime)
    size = len(base) + (_witness_bytes(raw_inputs) if segwit else 0)
    txid = double_sha256(base)
    tx_record = Tx(
        txid[::-1].hex(),
        index,
        version,
        locktime,
        tuple(inputs),
        tuple(outputs),
        size,
        virtual_size(len(base), size),
    )
    return tx_record, txid


def _raito_block(blk: Mapping[str, Any], prev_hash: str, height: int) -> Block:
    pairs = [_raito_tx(i, tx) for i, tx in enumerate(blk["data"]["transactions"])]
    head = blk["header"]
    header = (
        _U32.pack(int(head["version"]) & 0xFFFFFFFF)
        + bytes.fromhex(prev_hash)[::-1]
        + merkle_root([txid for _, txid in pairs])
        + _U32.pack(int(head["time"]))
        + _U32.pack(int(head["bits"]))
        + _U32.pack(int(head["nonce"]))
    )
    block_hash = double_sha256(header)[::-1].hex()
    return Block(
        Chain.BITCOIN, block_hash, height, prev_hash, int(head["time"]), tuple(tx for tx, _ in pairs)
    )


def parse_raito(obj: Mapping[str, Any]) -> list[Block]:
    """Blocks of a raito test file (keep-starknet-strange/raito ``full_<height>.json``).

    Heights follow ``chain_state.block_height``; the first block's parent is ``chain_state.best_block_hash``.
    The rebuilt header hash of the last block must equal ``expected.best_block_hash`` (which, through the
    parent links and merkle roots, checks every block and txid); a mismatch raises ParseError.
    """
    try:
        state = obj["chain_state"]
        prev_hash, height = state["best_block_hash"], int(state["block_height"]) + 1
        blocks = []
        for blk in obj["blocks"]:
            blocks.append(_raito_block(blk, prev_hash, height))
            prev_hash, height = blocks[-1].hash, height + 1
        expected = obj.get("expected")
    except (KeyError, TypeError, ValueError, IndexError, struct.error) as exc:
        raise ParseError(f"raito JSON lacks or mangles a field: {exc!r}") from exc
    if expected is not None and blocks and expected.get("best_block_hash") != prev_hash:
        raise ParseError(
            f"raito block at height {height - 1}: rebuilt hash {prev_hash} "
            f"!= expected {expected.get('best_block_hash')}"
        )
    return blocks
