"""The fast address checks (``is_mainnet_segwit``, the compiled base58check decoder) agree with the decoders
they skip, on any string: ``normalize_address``, compiled (mypyc) and pure Python, gives what the pure
reference decoders give, the same canonical form or the same error.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chains.bitcoin import address as compiled_address
from chains.bitcoin import params
from chains.bitcoin.compiled import load_pure
from chains.errors import AddressError

PURE = load_pure()["address"]
_BECH32_CHARS = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_B58_CHARS = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ANY_CHAR = st.sampled_from(_BECH32_CHARS + _BECH32_CHARS.upper() + _B58_CHARS + "1bBcC0OIl \t-é")


def reference(text: str) -> str:
    """The canonical form by the pure decoders alone (what ``normalize_address`` did before its fast
    paths); raises their AddressError."""
    stripped = text.strip()
    if not stripped:
        raise AddressError("empty address")
    if PURE._is_segwit_text(stripped):
        PURE.decode_segwit_address(stripped)
        return stripped.lower()
    PURE._decode_base58_address(stripped)
    return stripped


def outcome(normalize: object, text: str) -> tuple[str, str]:
    assert callable(normalize)
    try:
        return "ok", str(normalize(text))
    except AddressError as exc:
        return "error", str(exc)


def assert_agree(text: str) -> None:
    expected = outcome(reference, text)
    assert outcome(compiled_address.normalize_address, text) == expected
    assert outcome(PURE.normalize_address, text) == expected


@st.composite
def segwit_addresses(draw: st.DrawFn) -> str:
    version = draw(st.integers(0, 16))
    sizes = (20, 32) if version == 0 else tuple(range(2, 41))
    program = draw(st.binary(min_size=1, max_size=40).filter(lambda p: len(p) in sizes))
    return str(PURE.segwit_address(version, program))


@st.composite
def bech32_strings(draw: st.DrawFn) -> str:
    """Valid checksums around any data: wrong versions, program sizes, padding and variants included."""
    hrp = draw(st.sampled_from(["bc", "bc", "bc", "tb", "bcrt"]))
    version = draw(st.sampled_from([0, 1, 16, 17, 31]) | st.integers(0, 31))
    program = st.binary(max_size=42).map(lambda b: list(PURE._to_5bit(b)))  # zero padding
    values = draw(program | st.lists(st.integers(0, 31), max_size=70))
    variant = draw(st.sampled_from(list(PURE.Bech32Variant)))
    return str(PURE.bech32_encode(hrp, [version, *values], variant))


@st.composite
def base58_addresses(draw: st.DrawFn) -> str:
    version = draw(st.sampled_from([params.P2PKH_VERSION, params.P2SH_VERSION, 0x6F, 0xC4, 0x41, 0x00]))
    size = draw(st.sampled_from([20, 20, 20, 19, 21]))
    return str(PURE.b58check_encode_pure(bytes((version,)) + draw(st.binary(min_size=size, max_size=size))))


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid address, then maybe upper-cased, one character replaced, one removed or one inserted."""
    text = draw(valid)
    how = draw(st.sampled_from(["same", "upper", "replace", "remove", "insert", "truncate"]))
    at = draw(st.integers(0, len(text) - 1))
    if how == "upper":
        return text.upper()
    if how == "replace":
        return text[:at] + draw(_ANY_CHAR) + text[at + 1 :]
    if how == "remove":
        return text[:at] + text[at + 1 :]
    if how == "insert":
        return text[:at] + draw(_ANY_CHAR) + text[at:]
    if how == "truncate":
        return text[:at]
    return text


@settings(max_examples=400)
@given(mutated(segwit_addresses()))
def test_segwit_fast_check_agrees_with_the_decoder(text: str) -> None:
    assert_agree(text)


@settings(max_examples=1000)
@given(mutated(bech32_strings()))
def test_any_checksummed_bech32_agrees(text: str) -> None:
    assert_agree(text)


@settings(max_examples=400)
@given(mutated(base58_addresses()))
def test_base58_fast_check_agrees_with_the_decoder(text: str) -> None:
    assert_agree(text)


@given(st.text(alphabet=_ANY_CHAR, max_size=80).map(lambda t: "bc1" + t))
def test_any_bc1_string_agrees(text: str) -> None:
    assert_agree(text)


def test_fast_checks_accept_real_addresses() -> None:
    for text in (
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
    ):
        assert compiled_address.is_mainnet_segwit(text.lower())
        assert_agree(text)
    for text in ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"):
        assert compiled_address._is_mainnet_base58(text)
        assert_agree(text)
