"""Bitcoin mainnet addresses: base58check (P2PKH, P2SH), bech32 (BIP173) and bech32m (BIP350).

Pure functions, no I/O. Encoders run once per output on millions of rows, so they avoid per-bit Python
loops: base58 divides by 58**2 with a lookup table, bech32 gets its 5-bit groups from the C base32 codec
and computes the checksum with a 32-entry table (one step per character).

Canonical forms (what ``normalize_address`` returns and what the parsers emit): base58check exactly as
encoded (it is case-sensitive and unique), bech32/bech32m in lower case.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from typing import Final

from chains.bitcoin import params
from chains.errors import AddressError
from chains.model import ScriptType

__all__ = [
    "Bech32Variant",
    "address_type",
    "b58check_decode",
    "b58check_encode",
    "b58check_encode_pure",
    "b58decode",
    "b58encode",
    "bech32_decode",
    "bech32_encode",
    "decode_segwit_address",
    "hash160",
    "normalize_address",
    "p2pkh_address",
    "p2sh_address",
    "pure_python_codecs",
    "script_for_address",
    "segwit_address",
]

_sha256: Final = hashlib.sha256


def _ripemd160_factory() -> Callable[[bytes], bytes]:
    """hashlib's ripemd160 when OpenSSL provides it, else pycryptodome's (OpenSSL 3 may not).

    A fresh ``hashlib.new("ripemd160")`` looks the algorithm up in OpenSSL on every call; copying one
    template object skips that and halves the cost of hash160 (measured: 5.2 -> 2.7 us on a loaded core).
    """
    try:
        template = hashlib.new("ripemd160", b"")
    except ValueError:  # pragma: no cover - depends on the OpenSSL build
        from Crypto.Hash import RIPEMD160

        return lambda data: RIPEMD160.new(data).digest()

    def ripemd160(data: bytes) -> bytes:
        h = template.copy()
        h.update(data)
        return h.digest()

    return ripemd160


_ripemd160: Final = _ripemd160_factory()


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)): the 20-byte hash inside P2PKH, P2SH and P2WPKH scripts."""
    return _ripemd160(_sha256(data).digest())


def _checksum4(payload: bytes) -> bytes:
    return _sha256(_sha256(payload).digest()).digest()[:4]


def _show(text: str) -> str:
    return repr(text if len(text) <= 100 else text[:100] + "...")


# --- base58 ----------------------------------------------------------------------------------------------
# Final (here and below): mypyc compiles these constants in; a plain module global is a dict lookup per use.
_B58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(_B58_ALPHABET)}
_B58_PAIRS: Final = [a + b for a in _B58_ALPHABET for b in _B58_ALPHABET]  # r -> two base-58 digits of r
_B58_PAIR: Final = 58**2
_B58_CHUNK: Final = 58**5  # < 2**30: one CPython digit, so dividing the big number by it takes the fast path
_P2PKH_VERSION_BYTE: Final = bytes((params.P2PKH_VERSION,))
_P2SH_VERSION_BYTE: Final = bytes((params.P2SH_VERSION,))


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet); each leading zero byte becomes a leading '1'."""
    n = int.from_bytes(data, "big")
    chunks = []
    while n:
        n, r = divmod(n, _B58_CHUNK)
        high, low = divmod(r, _B58_PAIR)
        top, mid = divmod(high, _B58_PAIR)
        chunks.append(_B58_ALPHABET[top] + _B58_PAIRS[mid] + _B58_PAIRS[low])
    body = "".join(reversed(chunks)).lstrip("1")
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + body


def b58decode(text: str) -> bytes:
    """Inverse of ``b58encode``; raises AddressError on a character outside the alphabet."""
    n = 0
    index = _B58_INDEX
    try:
        for c in text:
            n = n * 58 + index[c]
    except KeyError as exc:
        raise AddressError(f"invalid base58 character {exc.args[0]!r} in {_show(text)}") from None
    zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * zeros + n.to_bytes((n.bit_length() + 7) // 8, "big")


def b58check_encode_pure(payload: bytes) -> str:
    """Base58check in pure Python: the reference for the compiled codec below."""
    return b58encode(payload + _checksum4(payload))


def _compiled_b58check() -> Callable[[bytes], str] | None:
    """based58's Rust codec (PyPI ``based58``, MIT), about 4x faster; None where it is not installed."""
    try:
        import based58
    except ImportError:  # pragma: no cover - a platform without its wheel
        return None
    encode = based58.b58encode_check

    def b58check_encode_compiled(payload: bytes) -> str:
        return encode(payload).decode("ascii")

    return b58check_encode_compiled


_COMPILED_B58CHECK = _compiled_b58check()
b58check_encode: Callable[[bytes], str] = _COMPILED_B58CHECK or b58check_encode_pure


@contextlib.contextmanager
def pure_python_codecs() -> Iterator[None]:
    """Within the block, addresses are encoded by the pure-Python reference codec (tests, benchmarks)."""
    global b58check_encode  # noqa: PLW0603 - the switch is the point; callers look it up per call
    saved = b58check_encode
    b58check_encode = b58check_encode_pure
    try:
        yield
    finally:
        b58check_encode = saved


def _compiled_b58check_decode() -> Callable[[bytes], bytes] | None:
    """based58's decoder (checksum verified and removed; ValueError on anything wrong), ~4.5x faster than
    ``b58check_decode``; None where it is not installed. Only a fast "yes": errors are explained by
    ``b58check_decode``."""
    try:
        import based58
    except ImportError:  # pragma: no cover - a platform without its wheel
        return None
    decode: Callable[[bytes], bytes] = based58.b58decode_check
    return decode


_COMPILED_B58CHECK_DECODE = _compiled_b58check_decode()


def b58check_decode(text: str) -> bytes:
    """Payload of a base58check string (checksum verified and removed)."""
    raw = b58decode(text)
    if len(raw) < 4:  # Bitcoin Core DecodeBase58Check: the payload may be empty
        raise AddressError(f"base58check string too short: {_show(text)}")
    payload, checksum = raw[:-4], raw[-4:]
    if _checksum4(payload) != checksum:
        raise AddressError(f"base58check checksum mismatch in {_show(text)}")
    return payload


def p2pkh_address(hash160_: bytes) -> str:
    return b58check_encode(_P2PKH_VERSION_BYTE + hash160_)


def p2sh_address(hash160_: bytes) -> str:
    return b58check_encode(_P2SH_VERSION_BYTE + hash160_)


# --- bech32 / bech32m --------------------------------------------------------------------------------------
class Bech32Variant(Enum):
    """The checksum constant that tells BIP173 bech32 from BIP350 bech32m."""

    BECH32 = 1
    BECH32M = 0x2BC830A3


_CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX: Final = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR: Final = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)  # BIP173 reference polymod
# _GEN_TABLE[top] = XOR of the generator terms selected by the 5 bits shifted out of the checksum.
_GEN_TABLE: Final = tuple(
    _GENERATOR[0] * (t & 1)
    ^ _GENERATOR[1] * (t >> 1 & 1)
    ^ _GENERATOR[2] * (t >> 2 & 1)
    ^ _GENERATOR[3] * (t >> 3 & 1)
    ^ _GENERATOR[4] * (t >> 4 & 1)
    for t in range(32)
)
_VALUES_TO_CHARS: Final = bytes.maketrans(bytes(range(32)), _CHARSET.encode())
_MASK25: Final = (1 << 25) - 1
_MASK20: Final = (1 << 20) - 1


def _two_steps(top10: int) -> int:
    """Polymod contribution of the top 10 bits of the state over two symbol steps (the map is linear)."""
    chk = top10 << 20
    for _ in range(2):
        chk = ((chk & _MASK25) << 5) ^ _GEN_TABLE[chk >> 25]
    return chk


# Two symbols per step on the hot path:
# state' = (state_low20 << 10) ^ (v1 << 5 | v2) ^ _GEN_TABLE2[state >> 20].
_GEN_TABLE2: Final = tuple(_two_steps(t) for t in range(1024))
_CHAR_PAIRS: Final = tuple(a + b for a in _CHARSET for b in _CHARSET)  # index v1 << 5 | v2


def _polymod(values: bytes | Sequence[int], chk: int = 1) -> int:
    table = _GEN_TABLE
    for v in values:
        chk = ((chk & _MASK25) << 5) ^ v ^ table[chk >> 25]
    return chk


def _hrp_expand(hrp: str) -> bytes:
    return bytes([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp])


_MAINNET_HRP: Final = params.BECH32_HRP
_MAINNET_HRP_STATE: Final = _polymod(_hrp_expand(_MAINNET_HRP))


def _checksum6(hrp_state: int, data: bytes, variant: Bech32Variant) -> bytes:
    chk = _polymod(b"\0\0\0\0\0\0", _polymod(data, hrp_state)) ^ variant.value
    return bytes((chk >> shift) & 31 for shift in (25, 20, 15, 10, 5, 0))


def bech32_encode(hrp: str, data: bytes | Sequence[int], variant: Bech32Variant) -> str:
    """Encode 5-bit values ``data`` under ``hrp`` (lower-case result); BIP173/BIP350 reference behaviour."""
    values = bytes(data)
    hrp = hrp.lower()
    state = _MAINNET_HRP_STATE if hrp == params.BECH32_HRP else _polymod(_hrp_expand(hrp))
    body = values + _checksum6(state, values, variant)
    return hrp + "1" + body.translate(_VALUES_TO_CHARS).decode("ascii")


def bech32_decode(text: str) -> tuple[str, bytes, Bech32Variant]:
    """(hrp in lower case, 5-bit data without checksum, variant); raises AddressError per BIP173/BIP350."""
    if len(text) > params.MAX_BECH32_LENGTH:
        raise AddressError(f"bech32 string longer than {params.MAX_BECH32_LENGTH} characters: {_show(text)}")
    if any(not 33 <= ord(c) <= 126 for c in text):
        raise AddressError(f"bech32 string has a character outside US-ASCII 33-126: {_show(text)}")
    lower = text.lower()
    if text != lower and text != text.upper():
        raise AddressError(f"bech32 string mixes upper and lower case: {_show(text)}")
    pos = lower.rfind("1")
    if pos < 1 or pos + 7 > len(lower):
        raise AddressError(
            f"bech32 string has no separator, an empty prefix or a short checksum: {_show(text)}"
        )
    hrp = lower[:pos]
    try:
        values = bytes(_CHARSET_INDEX[c] for c in lower[pos + 1 :])
    except KeyError as exc:
        raise AddressError(f"invalid bech32 character {exc.args[0]!r} in {_show(text)}") from None
    hrp_state = _MAINNET_HRP_STATE if hrp == params.BECH32_HRP else _polymod(_hrp_expand(hrp))
    residue = _polymod(values, hrp_state)
    if residue == _BECH32_CONST:  # not a loop over the enum: iterating an Enum costs ~5 µs a call
        return hrp, values[:-6], Bech32Variant.BECH32
    if residue == _BECH32M_CONST:
        return hrp, values[:-6], Bech32Variant.BECH32M
    raise AddressError(f"bech32 checksum mismatch in {_show(text)}")


def _from_5bit(values: bytes) -> bytes:
    """5-bit groups to bytes (convertbits(data, 5, 8, pad=False)): at most 4 padding bits, all zero."""
    acc = 0
    for v in values:
        acc = acc << 5 | v
    nbits = 5 * len(values)
    pad = nbits % 8
    if pad > 4 or acc & ((1 << pad) - 1):
        raise AddressError("bech32 data has invalid padding")
    return (acc >> pad).to_bytes(nbits // 8, "big")


_PROGRAM_MIN_BYTES: Final = params.WITNESS_PROGRAM_MIN_BYTES
_PROGRAM_MAX_BYTES: Final = params.WITNESS_PROGRAM_MAX_BYTES
_V0_KEYHASH_BYTES: Final = params.WITNESS_V0_KEYHASH_BYTES
_V0_SCRIPTHASH_BYTES: Final = params.WITNESS_V0_SCRIPTHASH_BYTES


def _check_witness_program(version: int, program: bytes) -> None:
    if not 0 <= version <= 16:
        raise AddressError(f"witness version {version} outside 0..16")
    n = len(program)
    if not _PROGRAM_MIN_BYTES <= n <= _PROGRAM_MAX_BYTES:
        raise AddressError(f"witness program of {n} bytes outside 2..40")
    if version == 0 and n not in (_V0_KEYHASH_BYTES, _V0_SCRIPTHASH_BYTES):
        raise AddressError(f"witness v0 program of {n} bytes (must be 20 or 32)")


_BECH32_CONST: Final = Bech32Variant.BECH32.value  # plain ints: an Enum's .value costs a descriptor call
_BECH32M_CONST: Final = Bech32Variant.BECH32M.value


def _encode_mainnet_segwit(version: int, program: bytes) -> str:
    """``bc1`` address, two 5-bit symbols per step. The bits stream through a small accumulator (never a
    big integer), so the mypyc-compiled build runs it on machine integers."""
    table, pairs = _GEN_TABLE2, _CHAR_PAIRS
    chk, chars = _MAINNET_HRP_STATE, ["bc1"]
    acc, bits = version, 5  # the version is the first symbol
    for byte in program:
        acc = (acc << 8 | byte) & 0x3FFFF  # at most 17 live bits
        bits += 8
        if bits >= 10:
            bits -= 10
            unit = acc >> bits & 1023
            chk = ((chk & _MASK20) << 10) ^ unit ^ table[chk >> 20]
            chars.append(pairs[unit])
    if bits >= 5:  # one more whole symbol
        bits -= 5
        unit = acc >> bits & 31
        chk = ((chk & _MASK25) << 5) ^ unit ^ _GEN_TABLE[chk >> 25]
        chars.append(_CHARSET[unit])
    if bits:  # convertbits(pad=True): the last bits, zero-padded to a symbol
        unit = acc << (5 - bits) & 31
        chk = ((chk & _MASK25) << 5) ^ unit ^ _GEN_TABLE[chk >> 25]
        chars.append(_CHARSET[unit])
    for _ in range(3):  # six zero symbols make room for the checksum
        chk = ((chk & _MASK20) << 10) ^ table[chk >> 20]
    chk ^= _BECH32_CONST if version == 0 else _BECH32M_CONST
    chars += (pairs[chk >> 20], pairs[chk >> 10 & 1023], pairs[chk & 1023])
    return "".join(chars)


def segwit_address(version: int, program: bytes, hrp: str = params.BECH32_HRP) -> str:
    """bech32 (v0) or bech32m (v1..16) address of a witness program; lower case."""
    _check_witness_program(version, program)
    if hrp == _MAINNET_HRP:
        return _encode_mainnet_segwit(version, program)
    variant = Bech32Variant.BECH32 if version == 0 else Bech32Variant.BECH32M
    return bech32_encode(hrp, bytes((version,)) + _to_5bit(program), variant)


def _to_5bit(program: bytes) -> bytes:
    """8-bit bytes to 5-bit groups, zero-padded at the end (BIP173 convertbits(data, 8, 5, pad=True))."""
    nbits = 8 * len(program)
    pad = -nbits % 5
    n = int.from_bytes(program, "big") << pad
    return bytes(n >> shift & 31 for shift in range(nbits + pad - 5, -5, -5))


def decode_segwit_address(text: str, hrp: str = params.BECH32_HRP) -> tuple[int, bytes]:
    """(witness version, program) of a segwit address for ``hrp``; raises AddressError."""
    got_hrp, data, variant = bech32_decode(text)
    if got_hrp != hrp:
        what = "a testnet/regtest" if got_hrp in params.TESTNET_HRPS else "an unknown"
        raise AddressError(f"{_show(text)} has {what} prefix {got_hrp!r}, expected {hrp!r}")
    if not data:
        raise AddressError(f"segwit address without witness version: {_show(text)}")
    version, program = data[0], _from_5bit(data[1:])
    _check_witness_program(version, program)
    expected = Bech32Variant.BECH32 if version == 0 else Bech32Variant.BECH32M
    if variant is not expected:
        raise AddressError(f"witness v{version} address must use {expected.name.lower()}: {_show(text)}")
    return version, program


# --- validating a mainnet segwit address, fast (a label import checks ~60,000) ------------------------------
# Each byte's bech32 symbol value; 0xFF for a byte outside the (lower-case) charset.
_SYMBOL_OF_BYTE = bytes(_CHARSET_INDEX.get(chr(b), 0xFF) for b in range(256))
_MAINNET_SEGWIT_PREFIX = params.BECH32_HRP + "1"
_PROGRAM_SYMBOLS_OFFSET = 7  # version symbol + six checksum symbols around the program's


def is_mainnet_segwit(lower: str) -> bool:
    """Whether ``lower`` (lower case) is a valid mainnet segwit address: what ``decode_segwit_address``
    accepts, without building its data (two symbols per checksum step, no big integers, no generators;
    measured compiled: ~6 -> ~1 µs per address). False says only "not this way": the caller asks
    ``decode_segwit_address`` why. The tests check that both agree on any string."""
    if not lower.startswith(_MAINNET_SEGWIT_PREFIX) or not lower.isascii():
        return False
    values = lower.encode("ascii")[3:].translate(_SYMBOL_OF_BYTE)
    n = len(values)
    if n < _PROGRAM_SYMBOLS_OFFSET or n > params.MAX_BECH32_LENGTH - 3 or 0xFF in values:
        return False  # '1' is not a symbol: the prefix's is the last separator, so the prefix is "bc"
    version = values[0]
    if version > 16:
        return False
    table, chk, i = _GEN_TABLE2, _MAINNET_HRP_STATE, 0
    if n & 1:
        chk = ((chk & _MASK25) << 5) ^ version ^ _GEN_TABLE[chk >> 25]
        i = 1
    while i < n:
        chk = ((chk & _MASK20) << 10) ^ (values[i] << 5 | values[i + 1]) ^ table[chk >> 20]
        i += 2
    if chk != (_BECH32_CONST if version == 0 else _BECH32M_CONST):
        return False
    symbols = n - _PROGRAM_SYMBOLS_OFFSET  # of the program: 5 bits each, at most 4 zero padding bits
    pad = 5 * symbols % 8
    if pad > 4 or values[n - _PROGRAM_SYMBOLS_OFFSET] & ((1 << pad) - 1):
        return False
    size = 5 * symbols // 8
    if version == 0:
        return size in (params.WITNESS_V0_KEYHASH_BYTES, params.WITNESS_V0_SCRIPTHASH_BYTES)
    return params.WITNESS_PROGRAM_MIN_BYTES <= size <= params.WITNESS_PROGRAM_MAX_BYTES


def _is_mainnet_base58(text: str) -> bool:
    """Whether ``text`` is a mainnet P2PKH or P2SH address by the compiled codec (False: not this way, or
    no codec; ``_decode_base58_address`` then decides and says why). The tests check both agree."""
    if _COMPILED_B58CHECK_DECODE is None or not text.isascii():
        return False
    try:
        payload = _COMPILED_B58CHECK_DECODE(text.encode("ascii"))
    except ValueError:
        return False
    return len(payload) == 21 and payload[0] in (params.P2PKH_VERSION, params.P2SH_VERSION)


# --- any mainnet address -----------------------------------------------------------------------------------
def _is_segwit_text(text: str) -> bool:
    return text[:3].lower() in ("bc1", "tb1") or text[:5].lower() == "bcrt1"


def _decode_base58_address(text: str) -> tuple[int, bytes]:
    payload = b58check_decode(text)
    if len(payload) != 21:
        raise AddressError(f"base58 address payload of {len(payload)} bytes (must be 21): {_show(text)}")
    version = payload[0]
    if version in params.TESTNET_BASE58_VERSIONS:
        raise AddressError(f"testnet address, not mainnet: {_show(text)}")
    if version not in (params.P2PKH_VERSION, params.P2SH_VERSION):
        raise AddressError(f"unknown base58 address version 0x{version:02x}: {_show(text)}")
    return version, payload[1:]


def normalize_address(text: str) -> str:
    """Validate a mainnet Bitcoin address and return its canonical form.

    Surrounding whitespace is stripped; bech32/bech32m is returned in lower case (an all-upper-case
    input is accepted, mixed case is not, per BIP173); base58check is returned as given. Raises
    AddressError naming what is wrong (checksum, network, length, witness version/variant).
    """
    stripped = text.strip()
    if not stripped:
        raise AddressError("empty address")
    if _is_segwit_text(stripped):
        lower = stripped.lower()
        if (stripped == lower or stripped == stripped.upper()) and is_mainnet_segwit(lower):
            return lower
        decode_segwit_address(stripped)  # raises, saying why
        return lower
    if not _is_mainnet_base58(stripped):
        _decode_base58_address(stripped)  # raises, saying why (or accepts without the compiled codec)
    return stripped


_WITNESS_TYPES = {
    (0, params.WITNESS_V0_KEYHASH_BYTES): ScriptType.P2WPKH,
    (0, params.WITNESS_V0_SCRIPTHASH_BYTES): ScriptType.P2WSH,
    (1, params.TAPROOT_PROGRAM_BYTES): ScriptType.P2TR,
}


def address_type(addr: str) -> ScriptType:
    """Script type an address pays to (P2PKH, P2SH, P2WPKH, P2WSH, P2TR or WITNESS_UNKNOWN)."""
    stripped = addr.strip()
    if _is_segwit_text(stripped):
        version, program = decode_segwit_address(stripped)
        return _WITNESS_TYPES.get((version, len(program)), ScriptType.WITNESS_UNKNOWN)
    version, _ = _decode_base58_address(stripped)
    return ScriptType.P2PKH if version == params.P2PKH_VERSION else ScriptType.P2SH


def script_for_address(addr: str) -> bytes:
    """The scriptPubKey an address stands for (the inverse of ``script.classify_output`` on addresses)."""
    stripped = addr.strip()
    if _is_segwit_text(stripped):
        version, program = decode_segwit_address(stripped)
        opcode = 0 if version == 0 else 0x50 + version  # OP_0, OP_1..OP_16
        return bytes((opcode, len(program))) + program
    version, h160 = _decode_base58_address(stripped)
    if version == params.P2PKH_VERSION:
        return b"\x76\xa9\x14" + h160 + b"\x88\xac"  # OP_DUP OP_HASH160 <20> OP_EQUALVERIFY OP_CHECKSIG
    return b"\xa9\x14" + h160 + b"\x87"  # OP_HASH160 <20> OP_EQUAL
