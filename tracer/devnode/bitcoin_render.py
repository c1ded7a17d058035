"""Bitcoin Core's JSON for blocks and transactions, rendered from raw bytes (Core 23+ field set).

The replay node answers ``getblock`` verbosity 1/2/3 and ``getrawtransaction`` with these, so third-party
clients (bitcoin-etl, our own) see what a real node would send. Sources: Bitcoin Core src/core_write.cpp
(``TxToUniv``, ``ScriptToAsmStr``, ``ScriptPubKeyToUniv``, ``ValueFromAmount``), src/rpc/blockchain.cpp
(``blockheaderToJSON``, ``blockToJSON``, ``GetDifficulty``), src/script/script.cpp (``GetOpName``).

Known differences from Core 23+: ``scriptPubKey.desc`` (an inferred output descriptor with checksum) is not
rendered; P2PK outputs carry the P2PKH ``address`` of their key as Core 22 does (Core 27 dropped it).
Amounts are emitted as Core prints them (``50.00000000``): the dicts hold ``btc(sat)`` markers and
``dumps`` writes them as bare JSON numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chains.bitcoin import params
from chains.bitcoin.script import classify_output
from chains.bitcoin.serial import double_sha256, read_varint, read_witness
from chains.model import ScriptType

__all__ = [
    "RawTx",
    "btc",
    "decode_tx",
    "difficulty",
    "dumps",
    "iter_block_txs",
    "script_asm",
    "script_pubkey_json",
    "tx_json",
]


_AMOUNT_MARK = "\x00btc:"  # json.dumps writes it as the 11 characters below
_AMOUNT_ESCAPED = '"\\u0000btc:'


def btc(sat: int) -> str:
    """A satoshi amount that ``dumps`` prints as a bare BTC number with 8 decimals (Core ValueFromAmount)."""
    return f"{_AMOUNT_MARK}{sat // params.COIN_SAT}.{sat % params.COIN_SAT:08d}"


def dumps(obj: Any) -> str:
    """Compact JSON text with ``btc`` amounts as bare numbers (``50.00000000``, as Core prints them)."""
    parts = json.dumps(obj, separators=(",", ":")).split(_AMOUNT_ESCAPED)
    return parts[0] + "".join(p.replace('"', "", 1) for p in parts[1:])


# --- script disassembly (Core ScriptToAsmStr) ------------------------------------------------------------
_OP_NAMES: dict[int, str] = {
    0x00: "0", 0x4C: "OP_PUSHDATA1", 0x4D: "OP_PUSHDATA2", 0x4E: "OP_PUSHDATA4", 0x4F: "-1",
    0x50: "OP_RESERVED", 0x61: "OP_NOP", 0x62: "OP_VER", 0x63: "OP_IF", 0x64: "OP_NOTIF", 0x65: "OP_VERIF",
    0x66: "OP_VERNOTIF", 0x67: "OP_ELSE", 0x68: "OP_ENDIF", 0x69: "OP_VERIFY", 0x6A: "OP_RETURN",
    0x6B: "OP_TOALTSTACK", 0x6C: "OP_FROMALTSTACK", 0x6D: "OP_2DROP", 0x6E: "OP_2DUP", 0x6F: "OP_3DUP",
    0x70: "OP_2OVER", 0x71: "OP_2ROT", 0x72: "OP_2SWAP", 0x73: "OP_IFDUP", 0x74: "OP_DEPTH", 0x75: "OP_DROP",
    0x76: "OP_DUP", 0x77: "OP_NIP", 0x78: "OP_OVER", 0x79: "OP_PICK", 0x7A: "OP_ROLL", 0x7B: "OP_ROT",
    0x7C: "OP_SWAP", 0x7D: "OP_TUCK", 0x7E: "OP_CAT", 0x7F: "OP_SUBSTR", 0x80: "OP_LEFT", 0x81: "OP_RIGHT",
    0x82: "OP_SIZE", 0x83: "OP_INVERT", 0x84: "OP_AND", 0x85: "OP_OR", 0x86: "OP_XOR", 0x87: "OP_EQUAL",
    0x88: "OP_EQUALVERIFY", 0x89: "OP_RESERVED1", 0x8A: "OP_RESERVED2", 0x8B: "OP_1ADD", 0x8C: "OP_1SUB",
    0x8D: "OP_2MUL", 0x8E: "OP_2DIV", 0x8F: "OP_NEGATE", 0x90: "OP_ABS", 0x91: "OP_NOT", 0x92: "OP_0NOTEQUAL",
    0x93: "OP_ADD", 0x94: "OP_SUB", 0x95: "OP_MUL", 0x96: "OP_DIV", 0x97: "OP_MOD", 0x98: "OP_LSHIFT",
    0x99: "OP_RSHIFT", 0x9A: "OP_BOOLAND", 0x9B: "OP_BOOLOR", 0x9C: "OP_NUMEQUAL", 0x9D: "OP_NUMEQUALVERIFY",
    0x9E: "OP_NUMNOTEQUAL", 0x9F: "OP_LESSTHAN", 0xA0: "OP_GREATERTHAN", 0xA1: "OP_LESSTHANOREQUAL",
    0xA2: "OP_GREATERTHANOREQUAL", 0xA3: "OP_MIN", 0xA4: "OP_MAX", 0xA5: "OP_WITHIN", 0xA6: "OP_RIPEMD160",
    0xA7: "OP_SHA1", 0xA8: "OP_SHA256", 0xA9: "OP_HASH160", 0xAA: "OP_HASH256", 0xAB: "OP_CODESEPARATOR",
    0xAC: "OP_CHECKSIG", 0xAD: "OP_CHECKSIGVERIFY", 0xAE: "OP_CHECKMULTISIG", 0xAF: "OP_CHECKMULTISIGVERIFY",
    0xB0: "OP_NOP1", 0xB1: "OP_CHECKLOCKTIMEVERIFY", 0xB2: "OP_CHECKSEQUENCEVERIFY", 0xB3: "OP_NOP4",
    0xB4: "OP_NOP5", 0xB5: "OP_NOP6", 0xB6: "OP_NOP7", 0xB7: "OP_NOP8", 0xB8: "OP_NOP9", 0xB9: "OP_NOP10",
    0xBA: "OP_CHECKSIGADD", 0xFF: "OP_INVALIDOPCODE",
}  # fmt: skip
_OP_NAMES.update({0x50 + n: str(n) for n in range(1, 17)})  # OP_1..OP_16 print as numbers
_SIGHASH_NAMES = {1: "ALL", 2: "NONE", 3: "SINGLE", 0x81: "ALL|ANYONECANPAY", 0x82: "NONE|ANYONECANPAY",
                  0x83: "SINGLE|ANYONECANPAY"}  # fmt: skip
_PUSH_WIDTH = {0x4C: 1, 0x4D: 2, 0x4E: 4}


def _script_num(data: bytes) -> int:
    """CScriptNum of at most 4 bytes: little-endian sign-and-magnitude."""
    if not data:
        return 0
    value = int.from_bytes(data, "little")
    sign_bit = 0x80 << (8 * (len(data) - 1))
    return -(value & ~sign_bit) if value & sign_bit else value


def _is_der_signature(sig: bytes) -> bool:
    """Core IsValidSignatureEncoding (BIP66 strict DER, sighash byte included)."""
    n = len(sig)
    if n < 9 or n > 73 or sig[0] != 0x30 or sig[1] != n - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= n:
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != n or sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    s_at = len_r + 6
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[s_at] & 0x80:
        return False
    return not (len_s > 1 and sig[s_at] == 0 and not sig[s_at + 1] & 0x80)


def _iter_ops(script: bytes) -> Iterator[tuple[int, bytes | None]]:
    """(opcode, pushed data or None for a non-push); opcode -1 when a push runs off the end."""
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op > 0x4E:
            yield op, None
            continue
        size = op
        if op in _PUSH_WIDTH:
            width = _PUSH_WIDTH[op]
            if i + width > n:
                yield -1, None
                return
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        if i + size > n:
            yield -1, None
            return
        yield op, script[i : i + size]
        i += size


def script_asm(script: bytes, sighash_decode: bool = False) -> str:
    """Core ScriptToAsmStr; ``sighash_decode`` for scriptSigs (signatures end in ``[ALL]`` etc.)."""
    unspendable = (bool(script) and script[0] == 0x6A) or len(script) > 10_000  # Core IsUnspendable
    words = []
    for op, data in _iter_ops(script):
        if op < 0:
            words.append("[error]")
            break
        if data is None:
            words.append(_OP_NAMES.get(op, "OP_UNKNOWN"))
        elif len(data) <= 4:
            words.append(str(_script_num(data)))
        elif sighash_decode and not unspendable and _is_der_signature(data) and data[-1] in _SIGHASH_NAMES:
            words.append(data[:-1].hex() + f"[{_SIGHASH_NAMES[data[-1]]}]")
        else:
            words.append(data.hex())
    return " ".join(words)


def script_pubkey_json(script: bytes) -> dict[str, Any]:
    """Core ScriptPubKeyToUniv (with hex; without the Core 23+ ``desc``)."""
    stype, address = classify_output(script)
    out: dict[str, Any] = {"asm": script_asm(script), "hex": script.hex()}
    if address is not None and stype is not ScriptType.MULTISIG:
        out["address"] = address
    out["type"] = stype.value
    return out


# --- transactions ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RawTx:
    """A decoded transaction: what Core's JSON needs, plus where it lies in its block."""

    txid: str
    wtxid: str
    version: int
    locktime: int
    inputs: tuple[tuple[bytes, int, bytes, int], ...]  # prev txid (internal order), vout, scriptSig, sequence
    witnesses: tuple[tuple[bytes, ...], ...]
    outputs: tuple[tuple[int, bytes], ...]  # value (sat), scriptPubKey
    size: int
    base_size: int
    raw: bytes

    @property
    def weight(self) -> int:
        return self.base_size * (params.WITNESS_SCALE_FACTOR - 1) + self.size

    @property
    def vsize(self) -> int:
        return -(-self.weight // params.WITNESS_SCALE_FACTOR)

    @property
    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0][0] == bytes(32) and self.inputs[0][1] == 0xFFFF_FFFF


def decode_tx(raw: bytes, start: int = 0) -> tuple[RawTx, int]:
    """The transaction at ``start`` and the position after it (IndexError on truncated data)."""
    segwit = raw[start + 4] == 0 and raw[start + 5] == 1
    pos = start + (6 if segwit else 4)
    io_start = pos
    n_in, pos = read_varint(raw, pos)
    inputs = []
    for _ in range(n_in):
        prev, vout = raw[pos : pos + 32], int.from_bytes(raw[pos + 32 : pos + 36], "little")
        size, pos = read_varint(raw, pos + 36)
        inputs.append(
            (prev, vout, raw[pos : pos + size], int.from_bytes(raw[pos + size : pos + size + 4], "little"))
        )
        pos += size + 4
    n_out, pos = read_varint(raw, pos)
    outputs = []
    for _ in range(n_out):
        value = int.from_bytes(raw[pos : pos + 8], "little")
        size, pos = read_varint(raw, pos + 8)
        outputs.append((value, raw[pos : pos + size]))
        pos += size
    io_end = pos
    witnesses: list[tuple[bytes, ...]] = []
    if segwit:
        for _ in range(n_in):
            items, pos = read_witness(raw, pos)
            witnesses.append(tuple(items))
    end = pos + 4
    if end > len(raw):
        raise IndexError("transaction runs past the end of the data")
    body = raw[start:end]
    base = raw[start : start + 4] + raw[io_start:io_end] + raw[pos:end] if segwit else body
    tx = RawTx(
        txid=double_sha256(base)[::-1].hex(),
        wtxid=double_sha256(body)[::-1].hex(),
        version=int.from_bytes(raw[start : start + 4], "little"),
        locktime=int.from_bytes(raw[pos:end], "little"),
        inputs=tuple(inputs),
        witnesses=tuple(witnesses) if segwit else tuple(() for _ in inputs),
        outputs=tuple(outputs),
        size=end - start,
        base_size=len(base),
        raw=body,
    )
    return tx, end


def iter_block_txs(raw_block: bytes) -> Iterator[RawTx]:
    count, pos = read_varint(raw_block, params.HEADER_BYTES)
    for _ in range(count):
        tx, pos = decode_tx(raw_block, pos)
        yield tx


# (value in sat, scriptPubKey, height, coinbase?) of a spent output, for verbosity 3 and fees
Prevout = tuple[int, bytes, int, bool]


def tx_json(
    tx: RawTx, prevouts: list[Prevout] | None = None, *, show_prevout: bool = False, include_hex: bool = True
) -> dict[str, Any]:
    """Core TxToUniv. ``prevouts`` (one per input: Core's undo data) add ``fee`` (getblock verbosity 2) and,
    with ``show_prevout``, each input's ``prevout`` (verbosity 3, getrawtransaction verbosity 2)."""
    vin = []
    for k, (prev, vout, script_sig, sequence) in enumerate(tx.inputs):
        entry: dict[str, Any]
        if tx.is_coinbase:
            entry = {"coinbase": script_sig.hex()}
        else:
            entry = {"txid": prev[::-1].hex(), "vout": vout,
                     "scriptSig": {"asm": script_asm(script_sig, True), "hex": script_sig.hex()}}  # fmt: skip
        if tx.witnesses[k]:
            entry["txinwitness"] = [item.hex() for item in tx.witnesses[k]]
        if show_prevout and prevouts is not None and not tx.is_coinbase:
            value, spk, height, generated = prevouts[k]
            entry["prevout"] = {"generated": generated, "height": height, "value": btc(value),
                                "scriptPubKey": script_pubkey_json(spk)}  # fmt: skip
        entry["sequence"] = sequence
        vin.append(entry)
    vouts = [
        {"value": btc(value), "n": n, "scriptPubKey": script_pubkey_json(spk)}
        for n, (value, spk) in enumerate(tx.outputs)
    ]
    out: dict[str, Any] = {"txid": tx.txid, "hash": tx.wtxid, "version": _signed32(tx.version),
                           "size": tx.size, "vsize": tx.vsize, "weight": tx.weight, "locktime": tx.locktime,
                           "vin": vin, "vout": vouts}  # fmt: skip
    if prevouts is not None and not tx.is_coinbase:
        out["fee"] = btc(sum(p[0] for p in prevouts) - sum(v for v, _ in tx.outputs))
    if include_hex:
        out["hex"] = tx.raw.hex()
    return out


def _signed32(value: int) -> int:
    """Core < 28 prints nVersion as a signed int32."""
    return value - (1 << 32) if value & 0x8000_0000 else value


# --- blocks ----------------------------------------------------------------------------------------------
def difficulty(bits: int) -> float:
    """Core GetDifficulty: the genesis target over this one, in floating point."""
    shift = (bits >> 24) & 0xFF
    diff = 0x0000FFFF / (bits & 0x00FFFFFF)
    while shift < 29:
        diff *= 256.0
        shift += 1
    while shift > 29:
        diff /= 256.0
        shift -= 1
    return diff
