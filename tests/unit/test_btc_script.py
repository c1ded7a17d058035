"""Output classification and input-address derivation: hand-built vectors for every rule and limit, and a
measurement on the raito blocks, whose inputs carry both the spend and the spent output."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from hashlib import sha256
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin.address import hash160, p2pkh_address, p2sh_address, segwit_address
from chains.bitcoin.script import classify_output, input_address_from_spend, multisig_params, parse_pushes
from chains.model import ScriptType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin"

KEY = bytes.fromhex("02" + "11" * 32)  # compressed-key shaped (the checks are structural)
KEY2 = bytes.fromhex("03" + "22" * 32)
KEY3 = bytes.fromhex("02" + "33" * 32)
UNCOMPRESSED = bytes.fromhex("04" + "44" * 64)
SIG = b"\x30\x44" + bytes(68) + b"\x01"  # DER SEQUENCE of 68 bytes + SIGHASH_ALL: 71 bytes
SCHNORR = bytes(64)


def push(data: bytes) -> bytes:
    """Minimal push for data up to 255 bytes."""
    return (bytes((len(data),)) if len(data) < 0x4C else b"\x4c" + bytes((len(data),))) + data


def multisig(m: int, keys: list[bytes]) -> bytes:
    return bytes((0x50 + m,)) + b"".join(push(k) for k in keys) + bytes((0x50 + len(keys), 0xAE))


# --- classify_output --------------------------------------------------------------------------------------
GENESIS_SCRIPT = bytes.fromhex(
    "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112"
    "de5c384df7ba0b8d578a4c702b6bf11d5fac"
)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # Block 0's output: P2PK, shown as the P2PKH address of its key (bitcoin-etl's expected export).
        (GENESIS_SCRIPT, (ScriptType.P2PK, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")),
        (push(KEY) + b"\xac", (ScriptType.P2PK, p2pkh_address(hash160(KEY)))),
        (push(b"\x06" + bytes(64)) + b"\xac", (ScriptType.P2PK, p2pkh_address(hash160(b"\x06" + bytes(64))))),
        (push(b"\x05" + bytes(64)) + b"\xac", (ScriptType.NONSTANDARD, None)),  # not a key prefix
        # Block 50001 tx 7940cdde...: P2PKH to 1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ (bitcoin-etl).
        (
            bytes.fromhex("76a914b5cd7aaed869cd5ccb45868e8666e7e934a2373688ac"),
            (ScriptType.P2PKH, "1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ"),
        ),
        (b"\xa9\x14" + bytes(20) + b"\x87", (ScriptType.P2SH, p2sh_address(bytes(20)))),
        (b"\x00\x14" + bytes(20), (ScriptType.P2WPKH, segwit_address(0, bytes(20)))),
        (b"\x00\x20" + bytes(32), (ScriptType.P2WSH, segwit_address(0, bytes(32)))),
        (b"\x51\x20" + bytes(32), (ScriptType.P2TR, segwit_address(1, bytes(32)))),
        (bytes.fromhex("51024e73"), (ScriptType.WITNESS_UNKNOWN, "bc1pfeessrawgf")),  # P2A anchor
        (b"\x52\x10" + bytes(16), (ScriptType.WITNESS_UNKNOWN, segwit_address(2, bytes(16)))),
        (b"\x00\x15" + bytes(21), (ScriptType.NONSTANDARD, None)),  # v0 of 21 bytes
        (b"\x6a", (ScriptType.NULLDATA, None)),
        (b"\x6a" + push(b"hello") + b"\x51", (ScriptType.NULLDATA, None)),
        (b"\x6a\x4c", (ScriptType.NONSTANDARD, None)),  # truncated push after OP_RETURN
        (b"\x6a\x76", (ScriptType.NONSTANDARD, None)),  # not push-only after OP_RETURN
        (multisig(1, [KEY, UNCOMPRESSED]), (ScriptType.MULTISIG, None)),
        (multisig(3, [KEY, KEY2]), (ScriptType.NONSTANDARD, None)),  # m > n
        (multisig(1, [KEY, b"\x05" + bytes(32)]), (ScriptType.NONSTANDARD, None)),  # not a key
        (b"", (ScriptType.NONSTANDARD, None)),
        (b"\x4c", (ScriptType.NONSTANDARD, None)),
        (b"\x76\xa9\x14" + bytes(20) + b"\x88", (ScriptType.NONSTANDARD, None)),  # P2PKH missing CHECKSIG
    ],
)
def test_classify_output(script: bytes, expected: tuple[ScriptType, str | None]) -> None:
    assert classify_output(script) == expected


def test_multisig_params() -> None:
    assert multisig_params(multisig(2, [KEY, KEY2, KEY3])) == (2, 3)
    assert multisig_params(multisig(2, [KEY, KEY2, KEY3])[:-1] + b"\xaf") is None  # CHECKMULTISIGVERIFY
    assert multisig_params(b"\xae") is None


@pytest.mark.parametrize(
    ("script", "items"),
    [
        (b"", []),
        (b"\x00", [b""]),
        (b"\x51\x60", [b"\x01", b"\x10"]),
        (b"\x4f", [b"\x81"]),
        (b"\x4c\x03abc", [b"abc"]),
        (b"\x4d\x03\x00abc", [b"abc"]),
        (b"\x4e\x03\x00\x00\x00abc", [b"abc"]),
        (b"\x4c", None),  # truncated length
        (b"\x4d\x03", None),
        (b"\x02\x01", None),  # truncated data
        (b"\x01a\x76", None),  # OP_DUP: not push-only
        (b"\x50", None),  # OP_RESERVED
    ],
)
def test_parse_pushes(script: bytes, items: list[bytes] | None) -> None:
    assert parse_pushes(script) == items


@given(st.binary(max_size=200))
def test_classify_output_never_raises(script: bytes) -> None:
    stype, address = classify_output(script)
    assert isinstance(stype, ScriptType)
    assert address is None or address.isascii()


# --- input_address_from_spend ----------------------------------------------------------------------------
WITNESS_SCRIPT = multisig(2, [KEY, KEY2])
REDEEM_2OF3 = multisig(2, [KEY, KEY2, KEY3])


@pytest.mark.parametrize(
    ("script_sig", "witness", "expected"),
    [
        (push(SIG) + push(KEY), [], (ScriptType.P2PKH, p2pkh_address(hash160(KEY)))),
        (push(SIG) + push(UNCOMPRESSED), [], (ScriptType.P2PKH, p2pkh_address(hash160(UNCOMPRESSED)))),
        (
            push(SIG) + push(push(KEY) + b"\xac"),
            [],
            (ScriptType.P2SH, p2sh_address(hash160(push(KEY) + b"\xac"))),
        ),
        (
            b"\x00" + push(SIG) + push(SIG) + push(REDEEM_2OF3),
            [],
            (ScriptType.P2SH, p2sh_address(hash160(REDEEM_2OF3))),
        ),
        (b"", [SIG, KEY], (ScriptType.P2WPKH, segwit_address(0, hash160(KEY)))),
        (
            b"",
            [b"", SIG, SIG, WITNESS_SCRIPT],
            (ScriptType.P2WSH, segwit_address(0, sha256(WITNESS_SCRIPT).digest())),
        ),
        (
            push(b"\x00\x14" + hash160(KEY)),
            [SIG, KEY],
            (ScriptType.P2SH, p2sh_address(hash160(b"\x00\x14" + hash160(KEY)))),
        ),
        (
            push(b"\x00\x20" + sha256(WITNESS_SCRIPT).digest()),
            [b"", SIG, SIG, WITNESS_SCRIPT],
            (ScriptType.P2SH, p2sh_address(hash160(b"\x00\x20" + sha256(WITNESS_SCRIPT).digest()))),
        ),
    ],
)
def test_spends_that_reveal_the_address(
    script_sig: bytes, witness: list[bytes], expected: tuple[ScriptType, str]
) -> None:
    assert input_address_from_spend(script_sig, witness) == expected


@pytest.mark.parametrize(
    ("script_sig", "witness"),
    [
        (b"", []),
        (push(SIG), []),  # P2PK spend: the key is in the spent output, not in the spend
        (push(SIG) + push(KEY) + b"\x76", []),  # not push-only
        (push(b"\x05" + bytes(32)) + push(KEY), []),  # first item is not a signature
        (push(SIG) + push(KEY) + push(KEY), []),  # three items: not P2PKH
        (b"\x00" + push(SIG) + push(REDEEM_2OF3), []),  # 1 signature for a 2-of-3
        (b"\x51" + push(SIG) + push(SIG) + push(REDEEM_2OF3), []),  # non-empty dummy
        (b"", [SCHNORR]),  # taproot key path
        (b"", [SCHNORR + b"\x01"]),  # taproot key path with sighash byte
        (b"", [SCHNORR, b"\x50annex"]),  # taproot with annex
        (b"", [SCHNORR, b"\x20" + bytes(32) + b"\xac", b"\xc0" + bytes(32)]),  # taproot script path
        (b"", [SCHNORR, b"\x51", b"\xc1" + bytes(64)]),  # script path, odd parity, depth 1
        (b"", [SIG, UNCOMPRESSED]),  # uncompressed P2WPKH or P2WSH: ambiguous
        (b"", [SCHNORR, KEY]),  # P2WPKH shape without a DER signature
        (b"", [SIG, b"\x4c"]),  # witnessScript that does not parse
        (b"", [SIG, b""]),
        (push(b"\x00\x14" + hash160(KEY2)), [SIG, KEY]),  # P2SH-P2WPKH whose key does not match
        (push(b"\x00\x20" + bytes(32)), [SIG, WITNESS_SCRIPT]),  # P2SH-P2WSH whose script does not match
        (push(SIG) + push(b"\x00\x14" + hash160(KEY)), [SIG, KEY]),  # scriptSig of two pushes + witness
        (push(KEY), [SIG, KEY]),  # single push that is not a witness program
    ],
)
def test_spends_that_do_not_reveal_the_address(script_sig: bytes, witness: list[bytes]) -> None:
    assert input_address_from_spend(script_sig, witness) is None


def test_known_limit_p2sh_with_a_key_shaped_redeem_script_reads_as_p2pkh() -> None:
    # Documented limit: a P2SH output whose 33-byte redeemScript starts 02/03 and whose spend pushes a
    # DER-shaped item first cannot be told apart from P2PKH by shape. None was seen on the bundled data.
    assert input_address_from_spend(push(SIG) + push(KEY), [])[0] is ScriptType.P2PKH  # type: ignore[index]


@given(st.binary(max_size=120), st.lists(st.binary(max_size=80), max_size=5))
def test_input_address_from_spend_never_raises(script_sig: bytes, witness: list[bytes]) -> None:
    result = input_address_from_spend(script_sig, witness)
    assert result is None or result[0] in {
        ScriptType.P2PKH,
        ScriptType.P2SH,
        ScriptType.P2WPKH,
        ScriptType.P2WSH,
    }


# --- measurement on real spends -------------------------------------------------------------------------
def _hex(text: str) -> bytes:
    return bytes.fromhex(text.removeprefix("0x"))


def test_raito_spends_agree_with_their_prevouts() -> None:
    """Every non-coinbase input of the 11 raito blocks (heights 170..757753) carries the spent output.

    Derivation must never disagree with it; every spend type it covers must be derived; only P2PK spends
    (whose key is not in the spend) stay unknown. Measured: 3,442 of 3,515 inputs (97.9 %).
    """
    derived, disagreements, underived = 0, [], Counter[ScriptType]()
    total = 0
    for path in sorted((FIXTURES / "raito").glob("full_*.json.gz")):
        for block in json.loads(gzip.decompress(path.read_bytes()))["blocks"]:
            for tx in block["data"]["transactions"][1:]:
                for inp in tx["inputs"]:
                    spent = classify_output(_hex(inp["previous_output"]["data"]["pk_script"]))
                    witness = [_hex(w) for w in inp["witness"]] if tx["is_segwit"] else []
                    got = input_address_from_spend(_hex(inp["script"]), witness)
                    total += 1
                    if got is None:
                        underived[spent[0]] += 1
                    elif got == spent:
                        derived += 1
                    else:
                        disagreements.append((got, spent))
    assert disagreements == []
    assert (derived, total) == (3442, 3515)
    assert underived == Counter({ScriptType.P2PK: 73})
