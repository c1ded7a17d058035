"""Bitcoin blocks into ``chains.model`` records: raw serialized blocks and Core ``getblock`` JSON.

Pure: callers pass bytes or already-decoded JSON; nothing here reads files or talks to a node.

- Raw (``parse_block_bytes``, ``parse_hex_block``, ``iter_blk_frames``): txids, sizes and the block hash
  are computed from the bytes and the merkle root is checked against the header. Inputs get their
  address from the scriptSig/witness where ``script.input_address_from_spend`` can tell (SCRIPT),
  otherwise stay UNRESOLVED outpoints; raw blocks do not carry input values.
- ``getblock`` verbosity 2 and 3 (``parse_getblock``): verbosity 3 carries each input's spent output
  (PREVOUT, value and address); verbosity 2 is treated like raw data (SCRIPT or UNRESOLVED).
- raito test files: ``chains.bitcoin.raito.parse_raito`` (both build on ``chains.bitcoin.serial``);
  ``detect_and_parse_json`` recognises all three JSON shapes.

BTC amounts in JSON become integer satoshi exactly (``btc_to_sat``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, Final

from chains.bitcoin import params
from chains.bitcoin.address import normalize_address
from chains.bitcoin.raito import parse_raito
from chains.bitcoin.script import (
    SpendAddresses,
    classify_output,
    input_address_from_spend,
    output_type_and_address,
    spend_type_and_address,
)
from chains.bitcoin.serial import (
    block_bip34_height,
    coinbase_height,
    double_sha256,
    merkle_root,
    read_varint,
    read_witness,
    varint_bytes,
    virtual_size,
)
from chains.errors import AddressError, ParseError
from chains.model import Block, Chain, InputSource, OutPoint, ScriptType, Tx, TxIn, TxOut

__all__ = [
    "btc_to_sat",
    "coinbase_height",
    "detect_and_parse_json",
    "double_sha256",
    "iter_blk_frames",
    "merkle_root",
    "parse_block_bytes",
    "parse_block_rows",
    "parse_getblock",
    "parse_hex_block",
    "parse_tx_bytes",
    "varint_bytes",
    "virtual_size",
]

_U32: Final = struct.Struct("<I")
_I32: Final = struct.Struct("<i")
_U64: Final = struct.Struct("<Q")
_NULL_TXID: Final = bytes(32)
_U32_MASK: Final = 0xFFFF_FFFF
_NULL_VOUT: Final = params.COINBASE_PREVOUT_VOUT
_OUTPOINT_BYTES: Final = 36  # prev txid, vout
# params' facts as constants mypyc compiles in (params is not compiled: each use would be an attribute lookup)
_HEADER_BYTES: Final = params.HEADER_BYTES
_SEGWIT_MARKER: Final = params.SEGWIT_MARKER
_SEGWIT_FLAG: Final = params.SEGWIT_FLAG
_SAT_PER_BTC = Decimal(params.COIN_SAT)
_RawInput = tuple[bytes, int, bytes, int]  # prev txid (internal order), vout, scriptSig, sequence
_RawOutput = tuple[int, bytes]  # value, scriptPubKey
# version, inputs, outputs, witnesses, locktime, txid (internal order), size, vsize, is coinbase, end offset
_RawTx = tuple[int, list[_RawInput], list[_RawOutput], list[list[bytes]], int, bytes, int, int, bool, int]
_COINBASE: Final = InputSource.COINBASE.value
_SCRIPT: Final = InputSource.SCRIPT.value
_UNRESOLVED: Final = InputSource.UNRESOLVED.value

# Flat rows (``parse_block_rows``); hashes in display byte order. The layout of tracer.store.chaindata's.
# (txid, position, version, locktime, size, vsize, is_coinbase, input_count, output_count, output_value)
TxRow = tuple[bytes, int, int, int, int, int, bool, int, int, int]
# (tx position in block, vout, address, value, script_type)
OutRow = tuple[int, int, str | None, int, str]
# (tx position, vin, prev_txid, prev_vout, sequence, address, value, script_type, source)
InRow = tuple[int, int, bytes | None, int | None, int, str | None, int | None, str | None, str]
# (height, hash, prev_hash, time, txs, outputs, inputs)
BlockRowTuple = tuple[int, bytes, bytes, int, list[TxRow], list[OutRow], list[InRow]]


# --- raw bytes ---------------------------------------------------------------------------------------------
def _make_input(index: int, raw_in: _RawInput, witness: Sequence[bytes], coinbase: bool) -> TxIn:
    prev, vout, script_sig, sequence = raw_in
    if coinbase:
        return TxIn(index, None, sequence, InputSource.COINBASE, witness_items=len(witness))
    outpoint = OutPoint(prev[::-1].hex(), vout)
    derived = input_address_from_spend(script_sig, witness)
    if derived is None:
        return TxIn(index, outpoint, sequence, InputSource.UNRESOLVED, witness_items=len(witness))
    stype, address = derived
    return TxIn(index, outpoint, sequence, InputSource.SCRIPT, address, None, stype, len(witness))


def _read_inputs(raw: bytes, pos: int) -> tuple[list[_RawInput], int]:
    count, pos = read_varint(raw, pos)
    inputs: list[_RawInput] = []
    for _ in range(count):
        prev, (vout,) = raw[pos : pos + 32], _U32.unpack_from(raw, pos + 32)
        size, pos = read_varint(raw, pos + 36)
        script_sig = raw[pos : pos + size]
        (sequence,) = _U32.unpack_from(raw, pos + size)
        pos += size + 4
        inputs.append((prev, vout, script_sig, sequence))
    return inputs, pos


def _read_outputs(raw: bytes, pos: int) -> tuple[list[_RawOutput], int]:
    count, pos = read_varint(raw, pos)
    outputs: list[_RawOutput] = []
    total = 0
    for _ in range(count):
        (value,) = _U64.unpack_from(raw, pos)
        total += value
        size, pos = read_varint(raw, pos + 8)
        outputs.append((value, raw[pos : pos + size]))
        pos += size
    _check_total(total)  # values are unsigned: a bound on the sum bounds each one too
    return outputs, pos


def _check_total(total: int) -> None:
    """Core's CheckTransaction (bad-txns-vout-toolarge, bad-txns-txouttotal-toolarge); it also keeps every
    amount and sum inside a bigint column."""
    if total > params.MAX_MONEY_SAT:
        raise ParseError(
            f"a transaction's outputs pay {total} sat, more than the {params.MAX_MONEY_SAT} that can exist"
        )


def _read_witnesses(raw: bytes, pos: int, n_inputs: int) -> tuple[list[list[bytes]], int]:
    witnesses = []
    for _ in range(n_inputs):
        stack, pos = read_witness(raw, pos)
        witnesses.append(stack)
    return witnesses, pos


def _txid_and_base_size(
    raw: bytes, start: int, io_start: int, io_end: int, lock_at: int, *, segwit: bool
) -> tuple[bytes, int]:
    """The txid (internal order) and base size of the tx at ``start``: its inputs and outputs span
    ``io_start..io_end`` and its locktime is at ``lock_at``. A segwit txid hashes the serialization without
    marker, flag and witnesses (BIP144)."""
    end = lock_at + 4
    if not segwit:
        return double_sha256(raw[start:end]), end - start
    txid = double_sha256(raw[start : start + 4] + raw[io_start:io_end] + raw[lock_at:end])
    return txid, 4 + (io_end - io_start) + 4


def _read_tx(raw: bytes, start: int, tx_index: int) -> _RawTx:
    """One transaction at ``start``, its fields read but not interpreted (see ``_RawTx``)."""
    (version,) = _U32.unpack_from(raw, start)
    segwit = raw[start + 4] == params.SEGWIT_MARKER  # BIP144; a legacy tx has >= 1 input, never 0x00 here
    if segwit and raw[start + 5] != params.SEGWIT_FLAG:
        raise ParseError(f"tx {tx_index}: segwit flag {raw[start + 5]} is not 1")
    io_start = start + (6 if segwit else 4)
    raw_inputs, pos = _read_inputs(raw, io_start)
    outputs, io_end = _read_outputs(raw, pos)
    witnesses: list[list[bytes]] = [[] for _ in raw_inputs]
    pos = io_end
    if segwit:
        witnesses, pos = _read_witnesses(raw, pos, len(raw_inputs))
    (locktime,) = _U32.unpack_from(raw, pos)
    end = pos + 4
    if end > len(raw):
        raise ParseError(f"tx {tx_index} runs past the end of the data")
    txid, base_size = _txid_and_base_size(raw, start, io_start, io_end, pos, segwit=segwit)
    coinbase = tx_index == 0 and len(raw_inputs) == 1 and raw_inputs[0][:2] == (_NULL_TXID, _NULL_VOUT)
    size = end - start
    return (
        version,
        raw_inputs,
        outputs,
        witnesses,
        locktime,
        txid,
        size,
        virtual_size(base_size, size),
        coinbase,
        end,
    )


def _parse_tx(raw: bytes, start: int, tx_index: int) -> tuple[Tx, bytes, int]:
    """One transaction at ``start``: (record, txid in internal byte order, position after it)."""
    version, raw_inputs, raw_outputs, witnesses, locktime, txid, size, vsize, coinbase, end = _read_tx(
        raw, start, tx_index
    )
    inputs = tuple(
        [
            _make_input(j, raw_in, witness, coinbase)
            for j, (raw_in, witness) in enumerate(zip(raw_inputs, witnesses, strict=True))
        ]
    )
    outputs = tuple(
        [TxOut(k, value, *classify_output(script)) for k, (value, script) in enumerate(raw_outputs)]
    )
    return Tx(txid[::-1].hex(), tx_index, version, locktime, inputs, outputs, size, vsize), txid, end


def parse_tx_bytes(raw: bytes, index: int = 0) -> Tx:
    """One serialized transaction (e.g. ``getrawtransaction`` hex); ``index`` is its position in a block.

    At index 0 a null-outpoint input is the coinbase. Raises ParseError unless ``raw`` is exactly one tx.
    """
    try:
        tx, _, end = _parse_tx(raw, 0, index)
    except (IndexError, struct.error) as exc:
        raise ParseError(f"truncated transaction ({len(raw)} bytes): {exc}") from exc
    if end != len(raw):
        raise ParseError(f"transaction has {len(raw) - end} bytes after its end")
    return tx


def parse_block_bytes(raw: bytes, height: int | None = None) -> Block:
    """A full serialized block (80-byte header, tx count, transactions with BIP144 witnesses).

    ``height`` is required unless the coinbase carries a BIP34 height (see ``coinbase_height``).
    Raises ParseError on truncated or trailing data and on a merkle root that does not match the txids.
    """
    if len(raw) < params.HEADER_BYTES + 1:
        raise ParseError(f"block of {len(raw)} bytes is shorter than a header and a tx count")
    try:
        count, first_tx = read_varint(raw, params.HEADER_BYTES)
        pos = first_tx
        txs, txids = [], []
        for i in range(count):
            tx, txid, pos = _parse_tx(raw, pos, i)
            txs.append(tx)
            txids.append(txid)
    except (IndexError, struct.error) as exc:
        raise ParseError(f"truncated block ({len(raw)} bytes): {exc}") from exc
    if pos != len(raw):
        raise ParseError(f"block has {len(raw) - pos} bytes after its {count} transactions")
    header = raw[: params.HEADER_BYTES]
    block_hash = double_sha256(header)[::-1].hex()
    if merkle_root(txids) != header[36:68]:
        raise ParseError(f"block {block_hash}: merkle root does not match its transactions")
    if height is None:
        height = _bip34_height(raw, block_hash)
    (time,) = _U32.unpack_from(header, 68)
    return Block(Chain.BITCOIN, block_hash, height, header[4:36][::-1].hex(), time, tuple(txs))


def parse_block_rows(raw: bytes, height: int) -> BlockRowTuple:
    """``parse_block_bytes`` straight to flat rows, no records: what the indexer's parse workers send back.

    Equal, row for row, to ``tracer.store.chaindata.block_rows(parse_block_bytes(raw, height))`` (tested on
    every bundled block, compiled and pure): building the frozen records was a third of the parse time.
    """
    if len(raw) < params.HEADER_BYTES + 1:
        raise ParseError(f"block of {len(raw)} bytes is shorter than a header and a tx count")
    rows = _BlockRows()
    try:
        count, pos = read_varint(raw, _HEADER_BYTES)
        for i in range(count):
            pos = _tx_rows(raw, pos, i, rows)
    except (IndexError, struct.error) as exc:
        raise ParseError(f"truncated block ({len(raw)} bytes): {exc}") from exc
    if pos != len(raw):
        raise ParseError(f"block has {len(raw) - pos} bytes after its {count} transactions")
    header = raw[: params.HEADER_BYTES]
    block_hash = double_sha256(header)[::-1]
    if merkle_root(rows.txids) != header[36:68]:
        raise ParseError(f"block {block_hash.hex()}: merkle root does not match its transactions")
    (time,) = _U32.unpack_from(header, 68)
    return height, block_hash, header[4:36][::-1], time, rows.txs, rows.outputs, rows.inputs


class _BlockRows:
    """What ``parse_block_rows`` gathers from a block's transactions, one after the other."""

    def __init__(self) -> None:
        self.txs: list[TxRow] = []
        self.outputs: list[OutRow] = []
        self.inputs: list[InRow] = []
        self.txids: list[bytes] = []  # internal byte order, for the merkle root
        self.spends = SpendAddresses()


def _tx_rows(raw: bytes, start: int, index: int, rows: _BlockRows) -> int:
    """The transaction at ``start`` (read as ``_read_tx`` does) into ``rows``; returns the position after it.

    Read in place, without ``_RawTx``'s lists and tuples: the inputs are skipped over to reach the outputs,
    then read again side by side with their witnesses, which follow the outputs.
    """
    segwit = raw[start + 4] == _SEGWIT_MARKER  # BIP144; see _read_tx
    if segwit and raw[start + 5] != _SEGWIT_FLAG:
        raise ParseError(f"tx {index}: segwit flag {raw[start + 5]} is not 1")
    io_start = start + (6 if segwit else 4)
    n_outputs, total, io_end = _output_rows(raw, _skip_inputs(raw, io_start), index, rows.outputs)
    n_inputs, coinbase, witness_end = _input_rows(raw, io_start, io_end if segwit else -1, index, rows)
    lock_at = witness_end if segwit else io_end
    end = lock_at + 4
    txid, base_size = _txid_and_base_size(raw, start, io_start, io_end, lock_at, segwit=segwit)
    size = end - start
    version, locktime = _u32(raw, start), _u32(raw, lock_at)
    vsize = virtual_size(base_size, size)
    rows.txs.append((txid[::-1], index, version, locktime, size, vsize, coinbase, n_inputs, n_outputs, total))
    rows.txids.append(txid)
    return end


def _skip_inputs(raw: bytes, pos: int) -> int:
    """The position after the inputs whose count is at ``pos``."""
    count, pos = read_varint(raw, pos)
    for _ in range(count):
        size, pos = read_varint(raw, pos + _OUTPOINT_BYTES)
        pos += size + 4  # scriptSig, sequence
    return pos


def _output_rows(raw: bytes, pos: int, index: int, outputs: list[OutRow]) -> tuple[int, int, int]:
    """Appends the rows of tx ``index``'s outputs, whose count is at ``pos``; (count, sum of the values,
    position after them)."""
    count, pos = read_varint(raw, pos)
    total = 0
    for k in range(count):
        value = _u64(raw, pos)
        total += value
        size, pos = read_varint(raw, pos + 8)
        stype, address = output_type_and_address(raw[pos : pos + size])
        outputs.append((index, k, address, value, stype))
        pos += size
    _check_total(total)
    return count, total, pos


def _input_rows(raw: bytes, pos: int, witness_at: int, index: int, rows: _BlockRows) -> tuple[int, bool, int]:
    """Appends the rows of tx ``index``'s inputs, whose count is at ``pos`` and whose witnesses are at
    ``witness_at`` (-1: a legacy tx); (count, whether it is a coinbase, position after the witnesses)."""
    count, pos = read_varint(raw, pos)
    inputs = rows.inputs
    coinbase = (
        index == 0 and count == 1 and raw[pos : pos + 32] == _NULL_TXID and _u32(raw, pos + 32) == _NULL_VOUT
    )
    for j in range(count):
        size, script_at = read_varint(raw, pos + _OUTPOINT_BYTES)
        sequence = _u32(raw, script_at + size)
        witness: list[bytes] = []
        if witness_at >= 0:
            witness, witness_at = read_witness(raw, witness_at)
        if coinbase:
            inputs.append((index, j, None, None, sequence, None, None, None, _COINBASE))
        else:
            prev, vout = raw[pos : pos + 32][::-1], _u32(raw, pos + 32)
            derived = spend_type_and_address(raw[script_at : script_at + size], witness, rows.spends)
            if derived is None:
                inputs.append((index, j, prev, vout, sequence, None, None, None, _UNRESOLVED))
            else:
                inputs.append((index, j, prev, vout, sequence, derived[1], None, derived[0], _SCRIPT))
        pos = script_at + size + 4
    return count, coinbase, witness_at


def _u32(raw: bytes, pos: int) -> int:
    """The little-endian uint32 at ``pos`` (IndexError past the end): byte by byte, which mypyc compiles to
    machine operations, where ``struct`` is a method call and a tuple."""
    return raw[pos] | raw[pos + 1] << 8 | raw[pos + 2] << 16 | raw[pos + 3] << 24


def _u64(raw: bytes, pos: int) -> int:
    """The little-endian uint64 at ``pos`` (IndexError past the end)."""
    return _u32(raw, pos) | _u32(raw, pos + 4) << 32


def _bip34_height(raw: bytes, block_hash: str) -> int:
    """Height from the coinbase (the first tx, already parsed, so its layout is known to be sound)."""
    height = block_bip34_height(raw)
    if height is None:
        (version,) = _I32.unpack_from(raw, 0)
        raise ParseError(
            f"block {block_hash} (version {version}) has no reliable BIP34 height in its coinbase; "
            "pass height= explicitly"
        )
    return height


def parse_hex_block(text: str, height: int | None = None) -> Block:
    """A block given as hex text (``getblock <hash> 0``, or a .hex/.txt dump); whitespace is ignored."""
    try:
        raw = bytes.fromhex("".join(text.split()))
    except ValueError as exc:
        raise ParseError(f"block hex does not decode: {exc}") from exc
    return parse_block_bytes(raw, height)


def iter_blk_frames(data: bytes) -> Iterator[bytes]:
    """Serialized blocks from Bitcoin Core ``blk*.dat`` framing: [f9beb4d9][LE u32 length][block]...

    Zero bytes at the end (Core pre-allocates blk files) are skipped; anything else raises ParseError.
    """
    pos, end = 0, len(data)
    while pos < end:
        if data[pos : pos + 4] != params.MAINNET_MAGIC:
            if not data[pos:].strip(b"\0"):
                return
            raise ParseError(f"no mainnet magic at offset {pos}: {data[pos : pos + 4].hex()}")
        if pos + 8 > end:
            raise ParseError(f"truncated frame header at offset {pos}")
        (length,) = _U32.unpack_from(data, pos + 4)
        start = pos + 8
        if start + length > end:
            raise ParseError(f"frame at offset {pos} claims {length} bytes, {end - start} left")
        yield data[start : start + length]
        pos = start + length


# --- JSON: shared ------------------------------------------------------------------------------------------
def btc_to_sat(value: object) -> int:
    """A JSON BTC amount (Decimal, int, str or float) as integer satoshi, exactly.

    Decimal/int/str must be a whole number of satoshi. A float is read through its shortest repr and
    rounded to the nearest satoshi: below 21 million BTC a double is finer than a satoshi, so this
    recovers the decimal the node printed. Outside 0..21 million BTC raises ParseError.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str | float):
        raise ParseError(f"not a BTC amount: {value!r}")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else value) * _SAT_PER_BTC
    except (InvalidOperation, ValueError) as exc:
        raise ParseError(f"not a BTC amount: {value!r}") from exc
    if not amount.is_finite():
        raise ParseError(f"not a BTC amount: {value!r}")
    sat = amount.to_integral_value(ROUND_HALF_EVEN)
    if sat != amount and not isinstance(value, float):
        raise ParseError(f"BTC amount {value!r} has a fraction of a satoshi")
    if not 0 <= sat <= params.MAX_MONEY_SAT:
        raise ParseError(f"BTC amount {value!r} outside 0..21,000,000 BTC")
    return int(sat)


def _script_info_from_json(spk: Mapping[str, Any]) -> tuple[ScriptType, str | None]:
    """Output type and address from a Core ``scriptPubKey`` object; from its hex when present (canonical)."""
    if "hex" in spk:
        return classify_output(bytes.fromhex(spk["hex"]))
    try:
        stype = ScriptType(spk.get("type", "nonstandard"))
    except ValueError:  # e.g. Core 28's "anchor" (P2A, a v1 witness program of 2 bytes)
        stype = ScriptType.WITNESS_UNKNOWN
    addresses = [spk["address"]] if "address" in spk else spk.get("addresses", [])
    if len(addresses) != 1 or stype is ScriptType.MULTISIG:
        return stype, None
    try:
        return stype, normalize_address(addresses[0])
    except AddressError as exc:
        raise ParseError(f"scriptPubKey address does not validate: {exc}") from exc


# --- JSON: getblock verbosity 2 / 3 -----------------------------------------------------------------------
def _getblock_input(index: int, vin: Mapping[str, Any], tx_index: int) -> TxIn:
    witness = [bytes.fromhex(w) for w in vin.get("txinwitness", ())]
    sequence = int(vin["sequence"])
    if "coinbase" in vin:
        if tx_index != 0:
            raise ParseError(f"coinbase input in tx {tx_index}")
        return TxIn(index, None, sequence, InputSource.COINBASE, witness_items=len(witness))
    outpoint = OutPoint(vin["txid"], int(vin["vout"]))
    prevout = vin.get("prevout")
    if prevout is not None:
        stype, address = _script_info_from_json(prevout["scriptPubKey"])
        value = btc_to_sat(prevout["value"])
        return TxIn(index, outpoint, sequence, InputSource.PREVOUT, address, value, stype, len(witness))
    script_sig = bytes.fromhex(vin.get("scriptSig", {}).get("hex", ""))
    derived = input_address_from_spend(script_sig, witness)
    if derived is None:
        return TxIn(index, outpoint, sequence, InputSource.UNRESOLVED, witness_items=len(witness))
    return TxIn(index, outpoint, sequence, InputSource.SCRIPT, derived[1], None, derived[0], len(witness))


def _getblock_tx(index: int, tx: Mapping[str, Any]) -> Tx:
    if not isinstance(tx, Mapping):
        raise ParseError("getblock transactions are txids only (verbosity 1); ask for verbosity 2 or 3")
    inputs = tuple(_getblock_input(j, vin, index) for j, vin in enumerate(tx["vin"]))
    outputs = []
    for k, vout in enumerate(tx["vout"]):
        if int(vout.get("n", k)) != k:
            raise ParseError(f"tx {tx['txid']}: vout {k} is numbered {vout['n']}")
        stype, address = _script_info_from_json(vout["scriptPubKey"])
        outputs.append(TxOut(k, btc_to_sat(vout["value"]), stype, address))
    _check_total(sum(o.value for o in outputs))
    size = int(tx.get("size", 0))
    vsize = int(tx.get("vsize", size))
    version = int(tx["version"]) & _U32_MASK  # older Core prints it signed, Core >= 28 unsigned
    return Tx(tx["txid"], index, version, int(tx["locktime"]), inputs, tuple(outputs), size, vsize)


def parse_getblock(obj: Mapping[str, Any]) -> Block:
    """The ``result`` of Bitcoin Core ``getblock <hash> 2`` or ``3`` (no JSON-RPC envelope).

    The txids are checked against ``merkleroot`` when it is present.
    """
    if not obj.get("tx"):
        raise ParseError(
            f"getblock {obj.get('hash')} has no transactions (header only); ask for verbosity 2 or 3"
        )
    try:
        txs = tuple(_getblock_tx(i, tx) for i, tx in enumerate(obj["tx"]))
        block = Block(
            Chain.BITCOIN,
            obj["hash"],
            int(obj["height"]),
            obj.get("previousblockhash", params.NULL_HASH),
            int(obj["time"]),
            txs,
        )
        expected_root = obj.get("merkleroot")
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"getblock JSON lacks or mangles a field: {exc!r}") from exc
    if expected_root is not None:
        root = merkle_root([bytes.fromhex(t.txid)[::-1] for t in txs])[::-1].hex()
        if root != expected_root:
            raise ParseError(f"block {block.hash}: merkleroot {expected_root} does not match its txids")
    return block


# --- JSON: which format? ---------------------------------------------------------------------------------
def detect_and_parse_json(obj: object) -> list[Block]:
    """Blocks from decoded JSON: getblock v2/v3, a JSON-RPC envelope or batch of them, or a raito file.

    Decode with ``json.loads(text, parse_float=decimal.Decimal)`` so amounts stay exact.
    """
    if isinstance(obj, list):
        return [block for item in obj for block in detect_and_parse_json(item)]
    if not isinstance(obj, Mapping):
        raise ParseError(f"expected a JSON object or array, got {type(obj).__name__}")
    if "result" in obj and ("id" in obj or "error" in obj or "jsonrpc" in obj):
        if obj.get("error"):
            raise ParseError(f"JSON-RPC error response: {obj['error']!r}")
        return detect_and_parse_json(obj["result"])
    if "chain_state" in obj and "blocks" in obj:
        return parse_raito(obj)
    if "tx" in obj and "hash" in obj:
        return [parse_getblock(obj)]
    raise ParseError("unrecognised JSON: expected getblock verbosity 2/3, a JSON-RPC envelope, or raito")
