"""The row path's script readers (``output_type_and_address``, ``spend_type_and_address``) recognise the
common shapes by their lengths and fixed bytes before the general rules; on any script they must give what
``classify_output`` / ``input_address_from_spend`` give (the type as its value), compiled (mypyc) and pure.

The scripts are the fast shapes themselves, the same with bytes changed, cut or added (hypothesis), and the
edge cases by hand: non-standard lengths, OP_0 with 20 and 32-byte pushes, v1 programs of other sizes,
uncompressed and hybrid keys, pushes spelled with OP_PUSHDATA1. Spends also go through one shared
``SpendAddresses``, as a block's do, with the same keys and scripts behind different kinds of spend.
"""

from __future__ import annotations

from hashlib import sha256
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin import script as compiled_script
from chains.bitcoin.address import hash160, p2pkh_address, p2sh_address, segwit_address
from chains.bitcoin.compiled import load_pure
from chains.model import ScriptType

MODULES = [compiled_script, load_pure()["script"]]
KEY = bytes.fromhex("02" + "11" * 32)
UNCOMPRESSED = bytes.fromhex("04" + "44" * 64)
HYBRID = bytes.fromhex("06" + "44" * 64)
SIG = b"\x30\x44" + bytes(68) + b"\x01"  # DER SEQUENCE of 68 bytes + SIGHASH_ALL: 71 bytes
SHORTEST_SIG = b"\x30\x06" + bytes(6) + b"\x01"  # 9 bytes
LONGEST_SIG = b"\x30\x46" + bytes(70) + b"\x01"  # 73 bytes
H20 = bytes(range(20))
H32 = bytes(range(32))

P2PKH = b"\x76\xa9\x14" + H20 + b"\x88\xac"
P2SH = b"\xa9\x14" + H20 + b"\x87"
P2WPKH = b"\x00\x14" + H20
P2WSH = b"\x00\x20" + H32
P2TR = b"\x51\x20" + H32
OUTPUT_SHAPES = [P2PKH, P2SH, P2WPKH, P2WSH, P2TR]
# Bytes that change a shape's meaning where they land: opcodes of the templates, push sizes, key prefixes.
TELLING_BYTES = [0x00, 0x02, 0x03, 0x04, 0x06, 0x14, 0x16, 0x20, 0x21, 0x30, 0x41, 0x4C, 0x50, 0x51, 0x52,
                 0x60, 0x76, 0x87, 0x88, 0xA9, 0xAC, 0xC0]  # fmt: skip


def push(data: bytes) -> bytes:
    return (bytes((len(data),)) if len(data) < 0x4C else b"\x4c" + bytes((len(data),))) + data


P2SH_P2WPKH_SPEND = push(b"\x00\x14" + hash160(KEY))
WITNESS_SCRIPT = b"\x52" + push(KEY) + push(KEY) + b"\x52\xae"  # 2-of-2 multisig
P2SH_P2WSH_SPEND = push(b"\x00\x20" + sha256(WITNESS_SCRIPT).digest())
SPEND_SHAPES: list[tuple[bytes, list[bytes]]] = [
    (push(SIG) + push(KEY), []),
    (push(SIG) + push(UNCOMPRESSED), []),
    (b"", [SIG, KEY]),
    (P2SH_P2WPKH_SPEND, [SIG, KEY]),
    (P2SH_P2WSH_SPEND, [b"", SIG, SIG, WITNESS_SCRIPT]),
]


def expected_output(module: ModuleType, script: bytes) -> tuple[str, str | None]:
    stype, address = module.classify_output(script)
    return stype.value, address


def expected_spend(module: ModuleType, script_sig: bytes, witness: list[bytes]) -> tuple[str, str] | None:
    derived = module.input_address_from_spend(script_sig, witness)
    return None if derived is None else (derived[0].value, derived[1])


@st.composite
def altered(draw: st.DrawFn, template: bytes) -> bytes:
    """``template`` with up to three bytes replaced, then maybe cut short or lengthened by a byte."""
    data = bytearray(template)
    for _ in range(draw(st.integers(0, 3))):
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] = draw(st.sampled_from(TELLING_BYTES) | st.integers(0, 255))
    change = draw(st.sampled_from(["keep", "keep", "cut", "add"]))
    if change == "cut" and data:
        del data[draw(st.integers(0, len(data) - 1))]
    elif change == "add":
        data.insert(draw(st.integers(0, len(data))), draw(st.sampled_from(TELLING_BYTES)))
    return bytes(data)


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
@given(script=st.sampled_from(OUTPUT_SHAPES).flatmap(altered))
def test_output_fast_paths_agree_with_classify_output(module: ModuleType, script: bytes) -> None:
    assert module.output_type_and_address(script) == expected_output(module, script)


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (P2PKH, (ScriptType.P2PKH, p2pkh_address(H20))),
        (P2SH, (ScriptType.P2SH, p2sh_address(H20))),
        (P2WPKH, (ScriptType.P2WPKH, segwit_address(0, H20))),
        (P2WSH, (ScriptType.P2WSH, segwit_address(0, H32))),
        (P2TR, (ScriptType.P2TR, segwit_address(1, H32))),
        (b"\x00\x14" + H32[:21], (ScriptType.NONSTANDARD, None)),  # OP_0 with a 21-byte push
        (b"\x00\x20" + H20, (ScriptType.NONSTANDARD, None)),  # OP_0 saying 32 bytes, carrying 20
        (b"\x00\x14" + H32, (ScriptType.NONSTANDARD, None)),  # OP_0 saying 20 bytes, carrying 32
        (b"\x51\x14" + H20, (ScriptType.WITNESS_UNKNOWN, segwit_address(1, H20))),  # v1, not 32 bytes
        (b"\x52\x20" + H32, (ScriptType.WITNESS_UNKNOWN, segwit_address(2, H32))),  # v2 of 32 bytes
        (b"\x4c\x20" + H32, (ScriptType.NONSTANDARD, None)),  # OP_PUSHDATA1 is no witness version
        (b"\x76\xa9\x14" + H20 + b"\x88\xad", (ScriptType.NONSTANDARD, None)),  # ...OP_CHECKSIGVERIFY
        (b"\xa9\x14" + H20 + b"\x88", (ScriptType.NONSTANDARD, None)),  # P2SH shape, OP_EQUALVERIFY
        (push(UNCOMPRESSED) + b"\xac", (ScriptType.P2PK, p2pkh_address(hash160(UNCOMPRESSED)))),  # 67 bytes
        (b"\x21" + KEY + b"\xac", (ScriptType.P2PK, p2pkh_address(hash160(KEY)))),  # 35 bytes
    ],
)
def test_output_edge_cases(
    module: ModuleType, script: bytes, expected: tuple[ScriptType, str | None]
) -> None:
    assert module.output_type_and_address(script) == (expected[0].value, expected[1])
    assert module.output_type_and_address(script) == expected_output(module, script)


@st.composite
def altered_spends(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """A spend shape with its scriptSig and witness items altered, and maybe a witness item more or less."""
    script_sig, witness = draw(st.sampled_from(SPEND_SHAPES))
    if draw(st.booleans()):
        script_sig = draw(altered(script_sig))
    witness = [draw(altered(item)) if draw(st.booleans()) else item for item in witness]
    change = draw(st.sampled_from(["keep", "keep", "drop", "add"]))
    if change == "drop" and witness:
        del witness[draw(st.integers(0, len(witness) - 1))]
    elif change == "add":
        witness.insert(
            draw(st.integers(0, len(witness))), draw(st.sampled_from([b"", SIG, KEY, UNCOMPRESSED]))
        )
    return script_sig, witness


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
@given(spend=altered_spends())
def test_spend_fast_paths_agree_with_input_address_from_spend(
    module: ModuleType, spend: tuple[bytes, list[bytes]]
) -> None:
    script_sig, witness = spend
    got = module.spend_type_and_address(script_sig, witness, module.SpendAddresses())
    assert got == expected_spend(module, script_sig, witness)


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
@pytest.mark.parametrize(
    ("script_sig", "witness", "expected"),
    [
        (push(SIG) + push(KEY), [], (ScriptType.P2PKH, p2pkh_address(hash160(KEY)))),
        (push(SIG) + push(UNCOMPRESSED), [], (ScriptType.P2PKH, p2pkh_address(hash160(UNCOMPRESSED)))),
        (push(SIG) + push(HYBRID), [], (ScriptType.P2PKH, p2pkh_address(hash160(HYBRID)))),
        (push(SHORTEST_SIG) + push(KEY), [], (ScriptType.P2PKH, p2pkh_address(hash160(KEY)))),
        (push(LONGEST_SIG) + push(KEY), [], (ScriptType.P2PKH, p2pkh_address(hash160(KEY)))),
        (push(SIG) + b"\x4c\x21" + KEY, [], (ScriptType.P2PKH, p2pkh_address(hash160(KEY)))),  # PUSHDATA1 key
        (push(SIG[:-1] + b"\x01\x01") + push(KEY), [], None),  # 72-byte item saying 68: no signature
        (push(SIG) + push(KEY)[:-1], [], None),  # key cut short
        (push(SIG) + push(KEY) + b"\x00", [], None),  # a third push
        (push(SIG) + push(b"\x05" + KEY[1:]), [], None),  # not a key prefix
        (
            push(SIG) + push(b"\x21" + KEY + b"\xac"),
            [],
            (ScriptType.P2SH, p2sh_address(hash160(push(KEY) + b"\xac"))),
        ),
        (b"", [SIG, KEY], (ScriptType.P2WPKH, segwit_address(0, hash160(KEY)))),
        (b"", [SIG, UNCOMPRESSED], None),  # uncompressed P2WPKH or P2WSH: ambiguous
        (b"", [bytes(64), KEY], None),  # no DER signature
        (b"", [SIG, KEY, KEY], None),  # three items: P2WSH shape, KEY does not parse as a script
        (P2SH_P2WPKH_SPEND, [SIG, KEY], (ScriptType.P2SH, p2sh_address(hash160(P2SH_P2WPKH_SPEND[1:])))),
        (P2SH_P2WPKH_SPEND, [SIG, UNCOMPRESSED], None),  # the key does not hash to the program
        (P2SH_P2WPKH_SPEND, [SIG, KEY, KEY], None),
        (P2SH_P2WSH_SPEND, [SIG, KEY], None),  # P2SH-P2WSH whose script does not hash to the program
        (
            P2SH_P2WSH_SPEND,
            [b"", SIG, SIG, WITNESS_SCRIPT],
            (ScriptType.P2SH, p2sh_address(hash160(P2SH_P2WSH_SPEND[1:]))),
        ),
        (P2SH_P2WSH_SPEND, [WITNESS_SCRIPT], (ScriptType.P2SH, p2sh_address(hash160(P2SH_P2WSH_SPEND[1:])))),
        (
            b"\x4c\x22" + P2SH_P2WSH_SPEND[1:],  # the same push spelled with OP_PUSHDATA1
            [b"", SIG, SIG, WITNESS_SCRIPT],
            (ScriptType.P2SH, p2sh_address(hash160(P2SH_P2WSH_SPEND[1:]))),
        ),
        (push(b"\x00\x20" + H32), [b"", SIG, SIG, WITNESS_SCRIPT], None),
        (
            b"\x4c\x16" + P2SH_P2WPKH_SPEND[1:],
            [SIG, KEY],
            (ScriptType.P2SH, p2sh_address(hash160(P2SH_P2WPKH_SPEND[1:]))),
        ),
    ],
)
def test_spend_edge_cases(
    module: ModuleType, script_sig: bytes, witness: list[bytes], expected: tuple[ScriptType, str] | None
) -> None:
    got = module.spend_type_and_address(script_sig, witness, module.SpendAddresses())
    assert got == (None if expected is None else (expected[0].value, expected[1]))
    assert got == expected_spend(module, script_sig, witness)


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
@given(spends=st.lists(altered_spends(), max_size=12))
def test_spends_of_one_block_agree_through_the_addresses_they_share(
    module: ModuleType, spends: list[tuple[bytes, list[bytes]]]
) -> None:
    """One ``SpendAddresses`` for many spends, as in a block: each answer is still the general path's."""
    known = module.SpendAddresses()
    for script_sig, witness in spends + spends:  # the second time round, from what the first one left
        got = module.spend_type_and_address(script_sig, witness, known)
        assert got == expected_spend(module, script_sig, witness)


@pytest.mark.parametrize("module", MODULES, ids=["compiled", "pure"])
def test_one_key_spent_four_ways_in_one_block(module: ModuleType) -> None:
    """The same key behind P2PKH, P2WPKH and P2SH-P2WPKH outputs has three addresses, and as the
    witnessScript of a P2SH-P2WSH a fourth; a wrapped spend whose scriptSig names another program reveals
    none, whatever was derived before."""
    known = module.SpendAddresses()
    spends = [
        (push(SIG) + push(KEY), []),
        (b"", [SIG, KEY]),
        (P2SH_P2WPKH_SPEND, [SIG, KEY]),
        (push(b"\x00\x14" + H20), [SIG, KEY]),
        (P2SH_P2WSH_SPEND, [b"", SIG, SIG, WITNESS_SCRIPT]),
        (push(b"\x00\x20" + H32), [b"", SIG, SIG, WITNESS_SCRIPT]),
        (push(b"\x00\x20" + sha256(KEY).digest()), [KEY]),
    ]
    got = [module.spend_type_and_address(script_sig, witness, known) for script_sig, witness in spends]
    assert got == [
        (ScriptType.P2PKH.value, p2pkh_address(hash160(KEY))),
        (ScriptType.P2WPKH.value, segwit_address(0, hash160(KEY))),
        (ScriptType.P2SH.value, p2sh_address(hash160(P2SH_P2WPKH_SPEND[1:]))),
        None,
        (ScriptType.P2SH.value, p2sh_address(hash160(P2SH_P2WSH_SPEND[1:]))),
        None,
        (ScriptType.P2SH.value, p2sh_address(hash160(b"\x00\x20" + sha256(KEY).digest()))),
    ]
