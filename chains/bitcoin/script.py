"""Bitcoin scripts: output templates and what an input's spend reveals about the output it spends.

Pure functions over bytes. Nothing here raises on malformed scripts: a script that does not parse is
NONSTANDARD (outputs) or "unknown" (inputs, ``None``).

Output types and addresses follow Bitcoin Core's ``Solver`` (script/solver.cpp) so that they agree with
``getblock``'s ``scriptPubKey.type``; a P2PK output gets the P2PKH address of its key, as older Core
(``addresses``), bitcoin-etl and most explorers show it (block 0 pays 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa).
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256
from typing import Final

from chains.bitcoin.address import hash160, p2pkh_address, p2sh_address, segwit_address
from chains.model import ScriptType

__all__ = [
    "SpendAddresses",
    "classify_output",
    "input_address_from_spend",
    "multisig_params",
    "output_type_and_address",
    "parse_pushes",
    "spend_type_and_address",
]

# Opcodes (Bitcoin Core script/script.h). Final: mypyc then compiles them in as constants.
OP_0: Final = 0x00
OP_PUSHDATA1: Final = 0x4C
OP_PUSHDATA2: Final = 0x4D
OP_PUSHDATA4: Final = 0x4E
OP_1NEGATE: Final = 0x4F
OP_1: Final = 0x51
OP_16: Final = 0x60
OP_RETURN: Final = 0x6A
OP_DUP: Final = 0x76
OP_EQUAL: Final = 0x87
OP_EQUALVERIFY: Final = 0x88
OP_HASH160: Final = 0xA9
OP_CHECKSIG: Final = 0xAC
OP_CHECKMULTISIG: Final = 0xAE

_P2PKH_PREFIX: Final = b"\x76\xa9\x14"  # OP_DUP OP_HASH160 <20 bytes>
_P2PKH_SUFFIX: Final = b"\x88\xac"  # OP_EQUALVERIFY OP_CHECKSIG
_P2SH_PREFIX: Final = b"\xa9\x14"  # OP_HASH160 <20 bytes> (then OP_EQUAL 0x87)
_PUSHDATA_WIDTH: Final = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}  # bytes of the length after
_COMPRESSED_KEY_PREFIXES: Final = (0x02, 0x03)
_UNCOMPRESSED_KEY_PREFIXES: Final = (0x04, 0x06, 0x07)  # 06/07: "hybrid" keys, accepted by CPubKey::ValidSize
_TAPROOT_ANNEX_TAG: Final = 0x50  # BIP341: a last witness item starting 0x50 (with 2+ items) is the annex
_TAPROOT_LEAF_MASK: Final = 0xFE
_TAPSCRIPT_LEAF_VERSION: Final = 0xC0  # BIP342; the only leaf version defined so far
_CONTROL_BLOCK_BASE: Final = 33  # BIP341: control block = 33 + 32 * m bytes, m in 0..128
_CONTROL_BLOCK_MAX: Final = 33 + 32 * 128
_TAPROOT_SIG_SIZES: Final = (64, 65)  # BIP341 key-path signature (65 with an explicit sighash type)
_DER_SEQUENCE: Final = 0x30  # the first byte of a DER signature (BIP66)
_SIG_MIN_BYTES: Final = 9  # BIP66 IsValidSignatureEncoding's bounds, with the sighash byte
_SIG_MAX_BYTES: Final = 73
_HASH160_BYTES: Final = 20  # the pushes of P2PKH, P2SH and P2WPKH scripts
_SHA256_BYTES: Final = 32  # P2WSH's push; P2TR's is its 32-byte output key
_P2WPKH_SCRIPT_BYTES: Final = 2 + _HASH160_BYTES  # OP_0 <20 bytes>
_P2WSH_SCRIPT_BYTES: Final = 2 + _SHA256_BYTES  # OP_0 <32 bytes>, and OP_1 <32 bytes> for P2TR

ScriptInfo = tuple[ScriptType, str | None]
# ScriptType values as plain str: what the rows (parse.parse_block_rows) hold. An Enum member's ``.value`` is
# a Python-level property (~0.1 µs a call), and the rows need one per output and per input.
_P2PKH_TYPE: Final = ScriptType.P2PKH.value
_P2SH_TYPE: Final = ScriptType.P2SH.value
_P2WPKH_TYPE: Final = ScriptType.P2WPKH.value
_P2WSH_TYPE: Final = ScriptType.P2WSH.value
_P2TR_TYPE: Final = ScriptType.P2TR.value


def _is_pubkey(data: bytes) -> bool:
    """Bitcoin Core CPubKey::ValidSize: 33 bytes with 02/03, or 65 bytes with 04/06/07."""
    n = len(data)
    if n == 33:
        return data[0] in _COMPRESSED_KEY_PREFIXES
    return n == 65 and data[0] in _UNCOMPRESSED_KEY_PREFIXES


def _is_compressed_pubkey(data: bytes) -> bool:
    return len(data) == 33 and data[0] in _COMPRESSED_KEY_PREFIXES


def _looks_like_ecdsa_sig(data: bytes) -> bool:
    """DER SEQUENCE of the right length plus a sighash byte (a loose BIP66 check, so old blocks pass)."""
    n = len(data)
    return _SIG_MIN_BYTES <= n <= _SIG_MAX_BYTES and data[0] == _DER_SEQUENCE and data[1] == n - 3


def _decode_ops(script: bytes) -> list[tuple[int, bytes]] | None:
    """(opcode, pushed data) pairs; data is b"" for non-push opcodes. None if a push runs off the end."""
    ops: list[tuple[int, bytes]] = []
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op < OP_PUSHDATA1:
            size = op
        elif op <= OP_PUSHDATA4:
            width = _PUSHDATA_WIDTH[op]
            if i + width > n:
                return None
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        else:
            ops.append((op, b""))
            continue
        if i + size > n:
            return None
        ops.append((op, script[i : i + size]))
        i += size
    return ops


def parse_pushes(script: bytes) -> list[bytes] | None:
    """The stack a push-only script leaves (OP_0 -> b"", OP_1..OP_16 -> 1..16, OP_1NEGATE -> 0x81).

    None if the script has any other opcode or a truncated push. Never raises. (One pass of its own
    rather than ``_decode_ops``: it runs on every input's scriptSig.)
    """
    items: list[bytes] = []
    i, n = 0, len(script)
    while i < n:
        op = script[i]
        i += 1
        if op < OP_PUSHDATA1:
            size = op
        elif OP_1 <= op <= OP_16:
            items.append(bytes((op - 0x50,)))
            continue
        elif op == OP_1NEGATE:
            items.append(b"\x81")
            continue
        else:
            width = _PUSHDATA_WIDTH.get(op)
            if width is None or i + width > n:
                return None
            size = int.from_bytes(script[i : i + width], "little")
            i += width
        if i + size > n:
            return None
        items.append(script[i : i + size])
        i += size
    return items


def multisig_params(script: bytes) -> tuple[int, int] | None:
    """(m, n) of a bare ``m <n pubkeys> n OP_CHECKMULTISIG`` script (Core's MatchMultisig), else None."""
    if not script or script[-1] != OP_CHECKMULTISIG:
        return None
    ops = _decode_ops(script)
    if ops is None or len(ops) < 4:
        return None
    m_op, n_op = ops[0][0], ops[-2][0]
    if not (OP_1 <= m_op <= OP_16 and OP_1 <= n_op <= OP_16):
        return None
    keys = ops[1:-2]
    m, n = m_op - 0x50, n_op - 0x50
    if len(keys) != n or m > n or not all(op <= OP_PUSHDATA4 and _is_pubkey(d) for op, d in keys):
        return None
    return m, n


def _p2pk_key(script: bytes) -> bytes | None:
    """The key of ``<33 or 65-byte key> OP_CHECKSIG`` (Core's MatchPayToPubkey), else None."""
    n = len(script)
    if n in (35, 67) and script[0] == n - 2 and script[-1] == OP_CHECKSIG and _is_pubkey(script[1:-1]):
        return script[1:-1]
    return None


def _witness_program(script: bytes) -> tuple[int, bytes] | None:
    """BIP141: a 1-byte version push (OP_0, OP_1..OP_16) followed by one direct push of 2..40 bytes."""
    n = len(script)
    if not 4 <= n <= 42 or script[1] != n - 2:
        return None
    op = script[0]
    if op == OP_0:
        return 0, script[2:]
    if OP_1 <= op <= OP_16:
        return op - 0x50, script[2:]
    return None


def classify_output(script: bytes) -> ScriptInfo:
    """(script type, address or None) of an output script, following Bitcoin Core's Solver.

    Addresses: P2PKH/P2SH base58check; P2WPKH/P2WSH bech32; P2TR and other witness versions bech32m;
    P2PK the P2PKH address of its key. MULTISIG, NULLDATA and NONSTANDARD have no address (None).
    """
    n = len(script)
    if n == 25 and script[:3] == _P2PKH_PREFIX and script[23:] == _P2PKH_SUFFIX:
        return ScriptType.P2PKH, p2pkh_address(script[3:23])
    if n == 23 and script[:2] == _P2SH_PREFIX and script[22] == OP_EQUAL:
        return ScriptType.P2SH, p2sh_address(script[2:22])
    program = _witness_program(script)
    if program is not None:
        return _classify_witness(*program)
    key = _p2pk_key(script)
    if key is not None:
        return ScriptType.P2PK, p2pkh_address(hash160(key))
    if n and script[0] == OP_RETURN:
        ops = _decode_ops(script[1:])
        push_only = ops is not None and all(op <= OP_16 for op, _ in ops)  # Core's IsPushOnly
        return (ScriptType.NULLDATA if push_only else ScriptType.NONSTANDARD), None
    if multisig_params(script) is not None:
        return ScriptType.MULTISIG, None
    return ScriptType.NONSTANDARD, None


def output_type_and_address(script: bytes) -> tuple[str, str | None]:
    """``classify_output`` with the type as its ScriptType value (a plain str, what the rows hold).

    The five shapes that make nearly all outputs are recognised by their length and fixed bytes before the
    general classifier (each is a case of it: tests compare both on scripts near these shapes).
    """
    n = len(script)
    if n == 25:
        if (
            script[0] == OP_DUP
            and script[1] == OP_HASH160
            and script[2] == _HASH160_BYTES
            and script[23] == OP_EQUALVERIFY
            and script[24] == OP_CHECKSIG
        ):
            return _P2PKH_TYPE, p2pkh_address(script[3:23])
    elif n == 23:
        if script[0] == OP_HASH160 and script[1] == _HASH160_BYTES and script[22] == OP_EQUAL:
            return _P2SH_TYPE, p2sh_address(script[2:22])
    elif n == _P2WPKH_SCRIPT_BYTES:
        if script[0] == OP_0 and script[1] == _HASH160_BYTES:
            return _P2WPKH_TYPE, segwit_address(0, script[2:])
    elif n == _P2WSH_SCRIPT_BYTES and script[1] == _SHA256_BYTES:
        if script[0] == OP_0:
            return _P2WSH_TYPE, segwit_address(0, script[2:])
        if script[0] == OP_1:
            return _P2TR_TYPE, segwit_address(1, script[2:])
    stype, address = classify_output(script)
    return stype.value, address


def _classify_witness(version: int, program: bytes) -> ScriptInfo:
    size = len(program)
    if version == 0:
        if size == 20:
            return ScriptType.P2WPKH, segwit_address(0, program)
        if size == 32:
            return ScriptType.P2WSH, segwit_address(0, program)
        return ScriptType.NONSTANDARD, None  # v0 of another size: unspendable, Core says nonstandard
    if version == 1 and size == 32:
        return ScriptType.P2TR, segwit_address(1, program)
    return ScriptType.WITNESS_UNKNOWN, segwit_address(version, program)


# --- inputs ----------------------------------------------------------------------------------------------
def input_address_from_spend(script_sig: bytes, witness: Sequence[bytes]) -> tuple[ScriptType, str] | None:
    """Type and address of the output an input spends, when its scriptSig/witness reveal them; else None.

    Rules (all must hold; anything else is None):

    - P2PKH: no witness; scriptSig pushes exactly [DER signature, public key (33 bytes 02/03, or 65 bytes
      04/06/07)]. Address = P2PKH(hash160(key)).
    - P2SH-P2PK: no witness; scriptSig pushes exactly [DER signature, ``<key> OP_CHECKSIG``].
      Address = P2SH(hash160(redeemScript)).
    - P2SH multisig: no witness; scriptSig pushes [empty dummy, m DER signatures, redeemScript] where the
      redeemScript is ``m <n keys> n OP_CHECKMULTISIG``. Address = P2SH(hash160(redeemScript)).
    - P2SH-wrapped segwit: witness present and the scriptSig is exactly one push of a witness program.
      Consensus (BIP141 "witness unexpected") forbids a witness on any other non-native spend, so this is
      P2SH. For v0 the program must match the witness (hash160 of the key for P2WPKH, sha256 of the
      witnessScript for P2WSH), as consensus requires. Address = P2SH(hash160(push)).
    - P2WPKH: empty scriptSig; witness [DER signature, 33-byte compressed key].
      Address = bech32(hash160(key)).
    - P2WSH: empty scriptSig; witness whose last item is a well-formed script and which is not taproot-shaped
      (see below). Address = bech32(sha256(witnessScript)).

    None for P2PK spends (the key is not in the spend), taproot (the output key is tweaked, so no address
    can be derived), coinbase, and anything ambiguous.

    Known limits (shape-based; no signature is verified and the spent script is not known):
    - A non-standard or P2SH output whose spend has exactly the P2PKH shape (a P2SH redeemScript that is a
      33/65-byte string starting 02/03/04 after a DER-shaped push) is reported as P2PKH.
    - A P2WSH whose witnessScript is a 33-byte string starting 02/03 after a DER-shaped item is reported as
      P2WPKH. A 2-item witness ending in a 65-byte 04/06/07 string is None (uncompressed P2WPKH is valid
      by consensus but non-standard, so it is ambiguous with P2WSH).
    - Taproot is recognised by a single 64/65-byte item (key path), an annex, or a last item shaped like a
      control block with leaf version 0xc0 (BIP342). A script-path spend under a future leaf version, or a
      spend of a v1 non-32-byte/v2+ output (anyone-can-spend), may be reported as P2WSH.
    """
    if witness:
        if script_sig:
            return _wrapped_segwit(script_sig, witness)
        return _native_segwit(witness)
    if not script_sig:
        return None
    items = parse_pushes(script_sig)
    if items is None:
        return None
    if len(items) == 2 and _looks_like_ecdsa_sig(items[0]):
        if _is_pubkey(items[1]):
            return ScriptType.P2PKH, p2pkh_address(hash160(items[1]))
        if _p2pk_key(items[1]) is not None:
            return ScriptType.P2SH, p2sh_address(hash160(items[1]))
        return None
    if len(items) >= 3 and items[0] == b"":
        return _p2sh_multisig(items)
    return None


class SpendAddresses:
    """The addresses derived so far from one block's spends, by the key or witnessScript each comes from.

    A block often spends many outputs of one key or script (a wallet gathering its coins: 31% of the inputs
    of the bundled blocks repeat one of the same block), and each derivation costs two to four hashes and an
    encoding. Exact: an entry is keyed by all the bytes the derivation hashes, one table per kind of spend.
    """

    def __init__(self) -> None:
        self.p2pkh: dict[bytes, str] = {}  # public key -> its P2PKH address
        self.p2wpkh: dict[bytes, str] = {}  # public key -> its P2WPKH address
        # public key / witnessScript -> (its v0 program, the address of the P2SH output wrapping that program)
        self.p2sh_p2wpkh: dict[bytes, tuple[bytes, str]] = {}
        self.p2sh_p2wsh: dict[bytes, tuple[bytes, str]] = {}


def spend_type_and_address(
    script_sig: bytes, witness: list[bytes], known: SpendAddresses
) -> tuple[str, str] | None:
    """``input_address_from_spend`` with the type as its ScriptType value (a plain str, what the rows hold).

    The spends of P2PKH, P2WPKH, P2SH-P2WPKH and P2SH-P2WSH outputs, nearly all inputs before taproot, are
    recognised by their lengths and fixed bytes before the general rules (each is a case of them: tests
    compare both on spends near these shapes), and their addresses looked up in ``known`` before deriving.
    """
    if not witness:
        key = _p2pkh_spend_key(script_sig)
        if key is not None:
            address = known.p2pkh.get(key)
            if address is None:
                address = known.p2pkh[key] = p2pkh_address(hash160(key))
            return _P2PKH_TYPE, address
    elif not script_sig:
        if len(witness) == 2:
            key = witness[1]
            if _is_compressed_pubkey(key) and _looks_like_ecdsa_sig(witness[0]):
                address = known.p2wpkh.get(key)
                if address is None:
                    address = known.p2wpkh[key] = segwit_address(0, hash160(key))
                return _P2WPKH_TYPE, address
    elif _is_p2sh_v0_push(script_sig, _HASH160_BYTES):
        if len(witness) != 2:
            return None
        key = witness[1]
        wrapped = known.p2sh_p2wpkh.get(key)
        if wrapped is None:
            wrapped = known.p2sh_p2wpkh[key] = _p2sh_wrapping(hash160(key))
        return (_P2SH_TYPE, wrapped[1]) if wrapped[0] == script_sig[3:] else None
    elif _is_p2sh_v0_push(script_sig, _SHA256_BYTES):
        witness_script = witness[-1]
        wrapped = known.p2sh_p2wsh.get(witness_script)
        if wrapped is None:
            wrapped = known.p2sh_p2wsh[witness_script] = _p2sh_wrapping(sha256(witness_script).digest())
        return (_P2SH_TYPE, wrapped[1]) if wrapped[0] == script_sig[3:] else None
    derived = input_address_from_spend(script_sig, witness)
    return None if derived is None else (derived[0].value, derived[1])


def _p2sh_wrapping(program: bytes) -> tuple[bytes, str]:
    """(``program``, the address of the P2SH output whose redeemScript is that v0 witness program)."""
    return program, p2sh_address(hash160(bytes((OP_0, len(program))) + program))


def _is_p2sh_v0_push(script_sig: bytes, program_size: int) -> bool:
    """Whether ``script_sig`` is one direct push of a v0 witness program of ``program_size`` bytes."""
    return (
        len(script_sig) == program_size + 3
        and script_sig[0] == program_size + 2
        and script_sig[1] == OP_0
        and script_sig[2] == program_size
    )


def _p2pkh_spend_key(script_sig: bytes) -> bytes | None:
    """The key of a scriptSig that is exactly two direct pushes, a DER-shaped signature and a public key
    (the P2PKH rule of ``input_address_from_spend``, read by offsets without splitting the pushes)."""
    n = len(script_sig)
    if not n:
        return None
    sig_size = script_sig[0]  # a direct push: the sizes allowed below are under OP_PUSHDATA1
    key_at = sig_size + 2  # after the signature and the key's push opcode
    if not _SIG_MIN_BYTES <= sig_size <= _SIG_MAX_BYTES or key_at >= n:
        return None
    if (
        script_sig[1] != _DER_SEQUENCE
        or script_sig[2] != sig_size - 3
        or key_at + script_sig[key_at - 1] != n
    ):
        return None
    key = script_sig[key_at:]
    return key if _is_pubkey(key) else None


def _p2sh_multisig(items: list[bytes]) -> tuple[ScriptType, str] | None:
    redeem = items[-1]
    mn = multisig_params(redeem)
    if mn is None or len(items) != mn[0] + 2:
        return None
    if not all(_looks_like_ecdsa_sig(sig) for sig in items[1:-1]):
        return None
    return ScriptType.P2SH, p2sh_address(hash160(redeem))


def _wrapped_segwit(script_sig: bytes, witness: Sequence[bytes]) -> tuple[ScriptType, str] | None:
    items = parse_pushes(script_sig)
    if items is None or len(items) != 1:
        return None
    redeem = items[0]
    program = _witness_program(redeem)
    if program is None:
        return None
    version, prog = program
    if version == 0:
        if len(prog) == 20 and not (len(witness) == 2 and hash160(witness[1]) == prog):
            return None
        if len(prog) == 32 and sha256(witness[-1]).digest() != prog:
            return None
    return ScriptType.P2SH, p2sh_address(hash160(redeem))


def _is_taproot_shaped(witness: Sequence[bytes]) -> bool:
    last = witness[-1]
    if len(witness) == 1:
        return len(last) in _TAPROOT_SIG_SIZES
    if last[:1] == bytes((_TAPROOT_ANNEX_TAG,)):
        return True
    size = len(last)
    return (
        _CONTROL_BLOCK_BASE <= size <= _CONTROL_BLOCK_MAX
        and (size - _CONTROL_BLOCK_BASE) % 32 == 0
        and last[0] & _TAPROOT_LEAF_MASK == _TAPSCRIPT_LEAF_VERSION
    )


def _native_segwit(witness: Sequence[bytes]) -> tuple[ScriptType, str] | None:
    if _is_taproot_shaped(witness):
        return None
    last = witness[-1]
    if len(witness) == 2 and _is_pubkey(last):
        if _is_compressed_pubkey(last) and _looks_like_ecdsa_sig(witness[0]):
            return ScriptType.P2WPKH, segwit_address(0, hash160(last))
        return None
    if not last or _decode_ops(last) is None:
        return None
    return ScriptType.P2WSH, segwit_address(0, sha256(last).digest())
