"""Bitcoin address codecs: published vectors (BIP173, BIP350, Bitcoin Core base58), properties, and
bitcoinlib as an independent oracle on real addresses taken from bundled mainnet blocks."""

from __future__ import annotations

import contextlib
import gzip
import json
import warnings
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin.address import (
    Bech32Variant,
    address_type,
    b58check_decode,
    b58check_encode,
    b58decode,
    b58encode,
    bech32_decode,
    bech32_encode,
    decode_segwit_address,
    hash160,
    normalize_address,
    p2pkh_address,
    p2sh_address,
    script_for_address,
    segwit_address,
)
from chains.bitcoin.parse import parse_block_bytes
from chains.bitcoin.raito import parse_raito
from chains.bitcoin.script import classify_output
from chains.errors import AddressError
from chains.model import ScriptType

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin"

# Bitcoin Core src/test/data/base58_encode_decode.json (MIT): (hex, base58).
BASE58_VECTORS = [
    ("", ""),
    ("61", "2g"),
    ("626262", "a3gV"),
    ("636363", "aPEr"),
    ("73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"),
    ("00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"),
    ("516b6fcd0f", "ABnLTmg"),
    ("bf4f89001e670274dd", "3SEo3LWLoPntC"),
    ("572e4794", "3EFU7m"),
    ("ecac89cad93923c02321", "EJDM8drfXA6uyA"),
    ("10c8511e", "Rt5zm"),
    ("00000000000000000000", "1111111111"),
    ("00" * 39 + "01", "1" * 39 + "2"),
    (
        "000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5",
        "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
    ),
    ("271F359E", "zzzzy"),
    ("271F359F", "zzzzz"),
    ("271F35A0", "211111"),
    ("271F35A1", "211112"),
]

# BIP173 "Test vectors": valid bech32 strings; BIP350: valid bech32m strings.
BECH32_VALID = [
    "A12UEL5L",
    "a12uel5l",
    "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
    "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
    "?1ezyfcl",
]
BECH32M_VALID = [
    "A1LQFN3A",
    "a1lqfn3a",
    "an83characterlonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11sg7hg6",
    "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx",
    "11llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllludsr8",
    "split1checkupstagehandshakeupstreamerranterredcaperredlc445v",
    "?1v759aa",
]
# BIP173 and BIP350 invalid strings (any checksum).
BECH32_INVALID = [
    "\x201nwldj5",
    "\x7f1axkwrx",
    "\x801eym55h",
    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx",
    "pzry9x0s0muk",
    "1pzry9x0s0muk",
    "x1b4n0q5v",
    "li1dgmt3",
    "de1lg7wt\xff",
    "A1G7SGD8",
    "10a06t8",
    "1qzzfhee",
    "\x201xj0phk",
    "\x7f1g6xzxy",
    "\x801vctc34",
    "an84characterslonghumanreadablepartthatcontainsthetheexcludedcharactersbioandnumber11d6pts4",
    "qyrz8wqd2c9m",
    "1qyrz8wqd2c9m",
    "y1b0jsk6g",
    "lt1igcx5c0",
    "in1muywd",
    "mm1crxm3i",
    "au1s5cgom",
    "M1VUXWEZ",
    "16plkw9",
    "1p2gdwpf",
]
# BIP350 valid mainnet segwit addresses and their scriptPubKeys.
SEGWIT_VALID = [
    ("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"),
    (
        "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kt5nd6y",
        "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6",
    ),
    ("BC1SW50QGDZ25J", "6002751e"),
    ("bc1zw508d6qejxtdg4y5r3zarvaryvaxxpcs", "5210751e76e8199196d454941c45d1b3a323"),
    (
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
    ),
]
# BIP350 valid testnet addresses: valid encodings, but not mainnet.
SEGWIT_TESTNET = [
    "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
    "tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
    "tb1pqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesf3hn0c",
]
# BIP173 + BIP350 invalid segwit addresses, plus BIP173's v1+ examples that BIP350 made invalid (bech32).
SEGWIT_INVALID = [
    "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
    "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
    "bc1rw5uspcuh",
    "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
    "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
    "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
    "bc1gmk9yu",
    "tc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq5zuyut",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqh2y7hd",
    "BC1S0XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ54WELL",
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh",
    "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
    "BC130XLXVLHEMJA6C4DQV22UAPCTQUPFHLXM9H8Z3K2E72Q4K9HCZ7VQ7ZWS8R",
    "bc1pw5dgrnzv",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v8n0nx0muaewav253zgeav",
    "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7v07qwwzcrf",
    "bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",  # BIP173 v1, now bech32m
    "BC1SW50QA3JX3S",
    "bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj",
]

GENESIS_KEY = bytes.fromhex(
    "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb6"
    "49f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
)


@pytest.mark.parametrize(("hex_", "text"), BASE58_VECTORS)
def test_base58_core_vectors(hex_: str, text: str) -> None:
    assert b58encode(bytes.fromhex(hex_)) == text
    assert b58decode(text) == bytes.fromhex(hex_)


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L\n", "abc+"])
def test_base58_rejects_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(AddressError, match="invalid base58 character"):
        b58decode(text)


def test_genesis_output_address() -> None:
    # Block 0 pays 50 BTC to this key; explorers show 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.
    assert hash160(GENESIS_KEY).hex() == "62e907b15cbf27d5425399ebf6f0fb50ebb88f18"
    assert p2pkh_address(hash160(GENESIS_KEY)) == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


@pytest.mark.parametrize("text", BECH32_VALID)
def test_bech32_valid_strings(text: str) -> None:
    hrp, data, variant = bech32_decode(text)
    assert variant is Bech32Variant.BECH32
    assert bech32_encode(hrp, data, variant) == text.lower()


@pytest.mark.parametrize("text", BECH32M_VALID)
def test_bech32m_valid_strings(text: str) -> None:
    hrp, data, variant = bech32_decode(text)
    assert variant is Bech32Variant.BECH32M
    assert bech32_encode(hrp, data, variant) == text.lower()


@pytest.mark.parametrize("text", BECH32_INVALID)
def test_bech32_invalid_strings(text: str) -> None:
    with pytest.raises(AddressError):
        bech32_decode(text)


@pytest.mark.parametrize(("text", "script_hex"), SEGWIT_VALID)
def test_segwit_valid_addresses(text: str, script_hex: str) -> None:
    canonical = normalize_address(text)
    assert canonical == text.lower()
    assert script_for_address(text).hex() == script_hex
    stype, address = classify_output(bytes.fromhex(script_hex))
    assert address == canonical
    assert address_type(text) is stype


@pytest.mark.parametrize("text", SEGWIT_TESTNET)
def test_testnet_segwit_addresses_are_rejected_as_testnet(text: str) -> None:
    assert decode_segwit_address(text, hrp="tb")  # a valid encoding...
    with pytest.raises(AddressError, match="testnet"):
        normalize_address(text)  # ...but not a mainnet address


@pytest.mark.parametrize("text", SEGWIT_INVALID)
def test_segwit_invalid_addresses(text: str) -> None:
    with pytest.raises(AddressError):
        normalize_address(text)


def test_normalize_strips_whitespace_and_lowercases_bech32() -> None:
    assert normalize_address("  BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4\n") == (
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    )
    assert normalize_address("\t1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa ") == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kV8F3T4", "mixes upper and lower case"),
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "checksum"),
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet"),  # version 0x6f
        ("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "testnet"),  # version 0xc4
        (b58check_encode(b"\x30" + bytes(20)), "unknown base58 address version 0x30"),  # Litecoin P2PKH
        (b58check_encode(b"\x00" + bytes(19)), "payload of 20 bytes"),
        ("0x52908400098527886E0F7030069857D2E4169EE7", "invalid base58 character"),  # an EVM address
    ],
)
def test_normalize_rejects_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(AddressError, match=message):
        normalize_address(text)


def test_address_type_of_each_kind() -> None:
    assert address_type("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") is ScriptType.P2PKH
    assert address_type(p2sh_address(bytes(20))) is ScriptType.P2SH
    assert address_type(segwit_address(0, bytes(20))) is ScriptType.P2WPKH
    assert address_type(segwit_address(0, bytes(32))) is ScriptType.P2WSH
    assert address_type(segwit_address(1, bytes(32))) is ScriptType.P2TR
    assert address_type(segwit_address(1, b"\x4e\x73")) is ScriptType.WITNESS_UNKNOWN  # P2A anchor
    assert address_type(segwit_address(16, bytes(40))) is ScriptType.WITNESS_UNKNOWN


def test_segwit_address_refuses_programs_bip141_forbids() -> None:
    for version, program in [(0, bytes(21)), (1, b"\x01"), (2, bytes(41)), (17, bytes(32))]:
        with pytest.raises(AddressError):
            segwit_address(version, program)


# --- properties ----------------------------------------------------------------------------------------
@given(st.binary(max_size=80))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.binary(max_size=80))
def test_base58check_round_trip(payload: bytes) -> None:
    assert b58check_decode(b58check_encode(payload)) == payload


@given(st.binary(min_size=1, max_size=30), st.integers(min_value=0, max_value=29))
def test_base58check_detects_a_changed_character(payload: bytes, position: int) -> None:
    text = b58check_encode(payload)
    i = position % len(text)
    changed = text[:i] + ("2" if text[i] != "2" else "3") + text[i + 1 :]
    with pytest.raises(AddressError):
        b58check_decode(changed)


witness_programs = st.one_of(
    st.tuples(st.just(0), st.sampled_from([20, 32])),
    st.tuples(st.integers(1, 16), st.integers(2, 40)),
).flatmap(lambda vl: st.tuples(st.just(vl[0]), st.binary(min_size=vl[1], max_size=vl[1])))


@given(witness_programs)
def test_segwit_round_trip_through_address_and_script(vp: tuple[int, bytes]) -> None:
    version, program = vp
    address = segwit_address(version, program)
    assert decode_segwit_address(address) == (version, program)
    assert decode_segwit_address(address.upper()) == (version, program)
    assert normalize_address(address.upper()) == address
    # The address names a script; classifying that script gives the address back.
    assert classify_output(script_for_address(address))[1] == address


@given(
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=20),
    st.lists(st.integers(0, 31), max_size=40),
    st.sampled_from(list(Bech32Variant)),
)
def test_bech32_round_trip_any_hrp(hrp: str, data: list[int], variant: Bech32Variant) -> None:
    hrp = hrp.replace("1", "x")
    text = bech32_encode(hrp, data, variant)
    if len(text) <= 90:
        assert bech32_decode(text) == (hrp.lower(), bytes(data), variant)


@given(st.text(max_size=120))
def test_normalize_address_raises_only_address_error(text: str) -> None:
    with contextlib.suppress(AddressError):
        normalize_address(text)


# --- bitcoinlib as an oracle on real addresses --------------------------------------------------------------
@pytest.fixture(scope="module")
def bitcoinlib_encoding() -> ModuleType:
    with warnings.catch_warnings():  # bitcoinlib's import warns (SQLAlchemy 2 deprecations, an open file)
        warnings.simplefilter("ignore")
        import bitcoinlib.encoding

        module: ModuleType = bitcoinlib.encoding
        return module


@pytest.fixture(scope="module")
def real_addresses() -> dict[ScriptType, list[str]]:
    """Output addresses of block 574200 (2019: P2PKH, P2SH, P2WPKH, P2WSH) and of raito block 757753
    (2022, two P2TR outputs), first 150 of each type."""
    name = "block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk.gz"
    block = parse_block_bytes(gzip.decompress((FIXTURES / "raw" / "btcd" / name).read_bytes()))
    (block_757753,) = parse_raito(
        json.loads(gzip.decompress((FIXTURES / "raito" / "full_757752.json.gz").read_bytes()))
    )
    found: dict[ScriptType, list[str]] = {}
    for tx in block.txs + block_757753.txs:
        for out in tx.outputs:
            if out.address is not None and out.script_type is not ScriptType.P2PK:
                bucket = found.setdefault(out.script_type, [])
                if len(bucket) < 150 and out.address not in bucket:
                    bucket.append(out.address)
    return found


def test_real_addresses_agree_with_bitcoinlib(
    bitcoinlib_encoding: ModuleType, real_addresses: dict[ScriptType, list[str]]
) -> None:
    enc = bitcoinlib_encoding
    assert {ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2WSH, ScriptType.P2TR} <= set(
        real_addresses
    )
    checked = 0
    for stype, addresses in real_addresses.items():
        for address in addresses:
            assert normalize_address(address) == address
            assert address_type(address) is stype
            if stype in (ScriptType.P2PKH, ScriptType.P2SH):
                h160 = enc.addr_base58_to_pubkeyhash(address)
                prefix = b"\x00" if stype is ScriptType.P2PKH else b"\x05"
                assert enc.pubkeyhash_to_addr_base58(h160, prefix) == address
                assert h160 in script_for_address(address)
            else:
                version = 1 if stype is ScriptType.P2TR else 0
                program = enc.addr_bech32_to_pubkeyhash(address)
                assert decode_segwit_address(address) == (version, program)
                assert enc.pubkeyhash_to_addr_bech32(program, "bc", version) == address
            checked += 1
    assert checked >= 450
