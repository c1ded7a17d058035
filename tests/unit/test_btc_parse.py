"""Raw block parsing on real mainnet blocks (btcd test data, rsksmart hex): hashes, heights from BIP34,
txids, sizes, sums, and input addresses derived from scripts checked against the spent outputs."""

from __future__ import annotations

import bz2
import gzip
import itertools
import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chains.bitcoin import params
from chains.bitcoin.address import p2pkh_address, p2sh_address
from chains.bitcoin.parse import (
    coinbase_height,
    double_sha256,
    iter_blk_frames,
    merkle_root,
    parse_block_bytes,
    parse_block_rows,
    parse_hex_block,
    parse_tx_bytes,
    varint_bytes,
)
from chains.bitcoin.script import classify_output
from chains.bitcoin.serial import read_varint
from chains.errors import ParseError
from chains.model import Block, InputSource, ScriptType, Tx
from tracer.store.chaindata import block_rows

RAW = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin" / "raw"
HASH_574200 = "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"
HASH_540107 = "00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab"


def _blk(block_hash: str) -> bytes:
    return gzip.decompress((RAW / "btcd" / f"block-{block_hash}.blk.gz").read_bytes())


@pytest.fixture(scope="module")
def raw_574200() -> bytes:
    return _blk(HASH_574200)


@pytest.fixture(scope="module")
def block_574200(raw_574200: bytes) -> Block:
    return parse_block_bytes(raw_574200)


@pytest.fixture(scope="module")
def block_696394() -> Block:
    return parse_hex_block(
        gzip.decompress((RAW / "rsksmart" / "block-696394-mainnet.txt.gz").read_bytes()).decode()
    )


@pytest.fixture(scope="module")
def block_277647() -> Block:
    frames = list(iter_blk_frames(bz2.decompress((RAW / "btcd" / "277647.dat.bz2").read_bytes())))
    assert len(frames) == 1
    return parse_block_bytes(frames[0])


def _tx(block: Block, prefix: str) -> Tx:
    (tx,) = [t for t in block.txs if t.txid.startswith(prefix)]
    return tx


def _check_common(block: Block, raw_size: int) -> None:
    """Invariants of any parsed block: positions, coinbase, sizes add up to the serialized block."""
    assert [tx.index for tx in block.txs] == list(range(len(block.txs)))
    assert block.txs[0].is_coinbase and block.txs[0].inputs[0].source is InputSource.COINBASE
    assert not any(tx.is_coinbase for tx in block.txs[1:])
    assert len({tx.txid for tx in block.txs}) == len(block.txs)
    header_and_count = params.HEADER_BYTES + len(varint_bytes(len(block.txs)))
    assert header_and_count + sum(tx.size for tx in block.txs) == raw_size
    assert all(0 < tx.vsize <= tx.size for tx in block.txs)
    assert all(0 <= out.value <= params.MAX_MONEY_SAT for tx in block.txs for out in tx.outputs)
    for tx in block.txs[1:]:
        for inp in tx.inputs:
            assert inp.value is None
            assert inp.source in (InputSource.SCRIPT, InputSource.UNRESOLVED)
            assert (inp.address is None) == (inp.source is InputSource.UNRESOLVED)


def test_block_574200(raw_574200: bytes, block_574200: Block) -> None:
    # 2019 block with segwit spends; height from its BIP34 coinbase; hash from the header = file name.
    block = block_574200
    assert (block.hash, block.height, len(block.txs)) == (HASH_574200, 574200, 3315)
    assert block.prev_hash == "0000000000000000001a899a865d3e6f9fef7801b86c0dc1bdda8b2337c1ae75"
    assert block.time == 1556771671
    _check_common(block, len(raw_574200))
    assert block.txs[0].txid == "57233bf44b82ef3662479e5c80f71ba00c1ae82e8c9739213841f27a2f3d0d79"
    assert block.txs[0].output_value >= 1_250_000_000  # 12.5 BTC subsidy + fees
    assert sum(tx.vsize < tx.size for tx in block.txs) == 1341  # segwit transactions
    # Batch payouts that look like CoinJoins (tests/fixtures/README.md "CoinJoin false positives").
    batch = _tx(block, "8d34c368")
    assert batch.txid == "8d34c3680c3212c241cc3633232bc134185a1f3e37020f2ae8b479baaa4c3b6b"
    assert (len(batch.inputs), len(batch.outputs)) == (2, 46)
    assert Counter(o.value for o in batch.outputs)[1_000_000_000] == 40
    other = _tx(block, "b6b39233")
    assert (len(other.inputs), len(other.outputs), Counter(o.value for o in other.outputs)[1795961]) == (
        2,
        30,
        19,
    )
    sources = Counter(i.source for tx in block.txs for i in tx.inputs)
    assert sources == {InputSource.SCRIPT: 5018, InputSource.UNRESOLVED: 36, InputSource.COINBASE: 1}


def test_block_540107() -> None:
    raw = _blk(HASH_540107)
    block = parse_block_bytes(raw)
    assert (block.hash, block.height, len(block.txs)) == (HASH_540107, 540107, 230)
    _check_common(block, len(raw))
    assert block.txs[0].txid == "5301a7831d21d8395e511ba4786ddcd71b630148bd6bb902f4b1c71b7df563ed"
    # Every one of its 7,032 spends reveals its address (P2PKH, P2SH multisig, P2SH-P2WPKH, ...).
    assert Counter(i.source for tx in block.txs for i in tx.inputs)[InputSource.SCRIPT] == 7032
    types = Counter(o.script_type for tx in block.txs for o in tx.outputs)
    assert (
        types[ScriptType.P2PKH] == 266
        and types[ScriptType.P2SH] == 175
        and types[ScriptType.NONSTANDARD] == 1
    )


def test_block_696394_hex(block_696394: Block) -> None:
    block = block_696394
    assert block.height == 696394  # BIP34
    assert block.hash == "0000000000000000000aca0460feaf0661f173b75d4cc824b57233aa7c6b7bc3"
    assert len(block.txs) == 2291
    _check_common(block, 1_420_306)
    payout = _tx(block, "a66d7995")  # the 2-input, 2,916-output payout batch named in the fixtures README
    assert payout.txid == "a66d79959d8326ed6cb4dca2916d62b9d288d34410fec4e328040c27d893d555"
    assert (len(payout.inputs), len(payout.outputs)) == (2, 2916)


def test_block_277647_inputs_match_the_utxo_set(block_277647: Block) -> None:
    """btcd's 277647.utxostore holds every output this block spends: addresses derived from the spends
    must equal the spent outputs', and the fees they imply must equal what the coinbase claims."""
    block = block_277647
    assert (block.height, len(block.txs)) == (277647, 213)
    assert block.hash == "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"
    utxos = _load_btcd_utxostore(bz2.decompress((RAW / "btcd" / "277647.utxostore.bz2").read_bytes()))
    fees = 0
    derived = 0
    for tx in block.txs[1:]:
        spent = [utxos[(i.prevout.txid, i.prevout.vout)] for i in tx.inputs if i.prevout is not None]
        for inp, (_, stype, address) in zip(tx.inputs, spent, strict=True):
            if inp.address is not None:
                assert (inp.script_type, inp.address) == (stype, address)
                derived += 1
        fees += sum(value for value, _, _ in spent) - tx.output_value
    assert derived == len(utxos) == 732
    subsidy = 25 * params.COIN_SAT  # second halving era (blocks 210000..419999)
    assert fees == block.txs[0].output_value - subsidy == 4_737_355


def _vlq(data: bytes, pos: int) -> tuple[int, int]:
    """btcd/Core serialization VLQ (MSB base-128 with +1 per continuation byte)."""
    n = 0
    while True:
        byte = data[pos]
        pos += 1
        n = n << 7 | byte & 0x7F
        if not byte & 0x80:
            return n, pos
        n += 1


def _decompress_amount(x: int) -> int:
    """Bitcoin Core compressor.cpp DecompressAmount."""
    if x == 0:
        return 0
    x -= 1
    exponent, x = x % 10, x // 10
    n = (x // 9) * 10 + x % 9 + 1 if exponent < 9 else x + 1
    return int(n * 10**exponent)


def _load_btcd_utxostore(data: bytes) -> dict[tuple[str, int], tuple[int, ScriptType, str | None]]:
    """btcd blockchain/testdata utxostore: [txid][u32 vout][u32 n][entry]; entry = VLQ header code,
    VLQ compressed amount, compressed script (btcd blockchain/compress.go: 0 P2PKH, 1 P2SH, 2-5 P2PK)."""
    utxos: dict[tuple[str, int], tuple[int, ScriptType, str | None]] = {}
    pos = 0
    while pos < len(data):
        txid = data[pos : pos + 32][::-1].hex()
        vout, size = struct.unpack_from("<II", data, pos + 32)
        entry = data[pos + 40 : pos + 40 + size]
        pos += 40 + size
        _, at = _vlq(entry, 0)
        amount, at = _vlq(entry, at)
        code, at = _vlq(entry, at)
        if code == 0:
            info: tuple[ScriptType, str | None] = (ScriptType.P2PKH, p2pkh_address(entry[at : at + 20]))
        elif code == 1:
            info = (ScriptType.P2SH, p2sh_address(entry[at : at + 20]))
        elif code in (2, 3, 4, 5):
            info = (ScriptType.P2PK, None)  # never derivable from a spend
        else:
            info = classify_output(entry[at : at + code - 6])
        utxos[(txid, vout)] = (_decompress_amount(amount), *info)
    return utxos


def test_blocks_1_to_255_framed() -> None:
    """btcd blocks1-256: blk*.dat framing, version-1 blocks (no BIP34 height), so heights are passed in."""
    frames = list(iter_blk_frames(bz2.decompress((RAW / "btcd" / "blocks1-256.bz2").read_bytes())))
    assert len(frames) == 255
    blocks = [parse_block_bytes(frame, height) for height, frame in enumerate(frames, start=1)]
    assert blocks[0].hash == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"  # block 1
    assert blocks[0].prev_hash == params.GENESIS_HASH
    assert blocks[0].txs[0].txid == "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"
    assert blocks[0].txs[0].outputs[0].address == "12c6DSiU4Rq3P4ZxziKxzrL5LmMBrzjrJX"
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(blocks))
    assert sum(len(b.txs) for b in blocks) == 262
    # Block 9's coinbase: its output is the one spent by the first person-to-person payment (block 170).
    assert blocks[8].txs[0].txid == "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
    with pytest.raises(ParseError, match="pass height="):
        parse_block_bytes(frames[0])


def test_parse_tx_bytes_matches_the_block_parse(raw_574200: bytes, block_574200: Block) -> None:
    # The second tx of block 574200, cut out of the block by its size.
    start = params.HEADER_BYTES + 3 + block_574200.txs[0].size
    second = block_574200.txs[1]
    assert parse_tx_bytes(raw_574200[start : start + second.size], index=1) == second
    with pytest.raises(ParseError):
        parse_tx_bytes(raw_574200[start : start + second.size + 1], index=1)


def test_coinbase_height_rules() -> None:
    time_574200 = 1556771671
    assert coinbase_height(b"\x03\x38\xc2\x08rest", 0x20000000, time_574200) == 574008
    assert coinbase_height(b"\x03\x5b\x7a\x03", 2, time_574200) == params.BIP34_HEIGHT
    assert coinbase_height(b"\x03\x5a\x7a\x03", 2, time_574200) is None  # below BIP34 enforcement
    assert coinbase_height(b"\x03\x38\xc2\x08", 1, time_574200) is None  # version 1
    assert coinbase_height(b"\x04\x38\xc2\x08\x00", 2, time_574200) is None  # not minimal
    assert coinbase_height(b"\x03\x38\xc2\x88", 2, time_574200) is None  # negative
    assert coinbase_height(b"\x02\xff\x7f", 2, time_574200) is None  # too small to be BIP34
    # A 2012-style coinbase opening with the nBits push 0x1d00ffff reads as 486,604,799: no header time
    # can account for that many blocks since genesis.
    assert coinbase_height(b"\x04\xff\xff\x00\x1d", 2, time_574200) is None
    assert coinbase_height(b"\x03\x80\x8d\x5b", 2, 2**32 - 1) == 6_000_000
    assert coinbase_height(b"\x03\x38\xc2\x08", 2, 1_300_000_000) is None  # 2011 time, 574008 blocks


def test_merkle_root_and_hash_helpers() -> None:
    one = bytes(range(32))
    assert merkle_root([one]) == one
    assert merkle_root([one, one, one]) == double_sha256(double_sha256(one + one) * 2)
    with pytest.raises(ParseError):
        merkle_root([])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw + b"\x00",  # trailing byte
        lambda raw: raw[:40] + bytes((raw[40] ^ 1,)) + raw[41:],  # merkle root changed
        lambda raw: raw[:79],  # shorter than a header
        lambda raw: raw[:80] + b"\xfd\xff\xff",  # tx count far beyond the data
        lambda raw: raw[:80] + b"\xff" + b"\xff" * 8 + raw[81:],  # tx count of 2**64 - 1
    ],
)
@pytest.mark.parametrize("block", ["277647", "540107"])
def test_broken_blocks_raise_parse_error(mutate: Callable[[bytes], bytes], block: str) -> None:
    raw, height = _broken_block_base(block)
    with pytest.raises(ParseError):
        parse_block_bytes(mutate(raw), height=height)
    with pytest.raises(ParseError):
        parse_block_rows(mutate(raw), height)


def _broken_block_base(block: str) -> tuple[bytes, int]:
    """Block 277647 (legacy transactions) or 540107 (segwit ones too), and its height."""
    if block == "277647":
        return next(iter_blk_frames(bz2.decompress((RAW / "btcd" / "277647.dat.bz2").read_bytes()))), 277647
    return _blk(HASH_540107), 540107


def test_compact_sizes_above_cores_max_size_are_refused() -> None:
    """Bitcoin Core's ReadCompactSize refuses values above MAX_SIZE; so do we, so no count or length read from
    the bytes can push a position past what a compiled int holds."""
    at_max = b"\xfe" + params.MAX_COMPACT_SIZE.to_bytes(4, "little")
    assert read_varint(at_max, 0) == (params.MAX_COMPACT_SIZE, 5)
    for too_big in (b"\xfe" + (params.MAX_COMPACT_SIZE + 1).to_bytes(4, "little"), b"\xff" + b"\xff" * 8):
        with pytest.raises(ParseError, match="MAX_SIZE"):
            read_varint(too_big, 0)


@settings(max_examples=30, deadline=None)
@example(cut=0, flips=[(700922, 2)])  # a witness item's length became 2**64 - 1 (CI, stop 19: ValueError)
@given(
    cut=st.integers(0, 10**9),
    flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), max_size=2),
)
def test_the_row_reader_agrees_with_the_record_parser_on_broken_blocks(
    cut: int, flips: list[tuple[int, int]]
) -> None:
    """Block 540107 cut short and with bytes changed: the row reader (its own pass over the bytes) raises
    ParseError exactly when parse_block_bytes does, and otherwise gives its rows."""
    raw, height = _broken_block_base("540107")
    data = bytearray(raw[: len(raw) - cut % len(raw)] if cut % 3 else raw)
    for at, xor in flips:
        if data:
            data[at % len(data)] ^= xor
    broken = bytes(data)
    try:
        expected = tuple(block_rows(parse_block_bytes(broken, height)))
    except ParseError:
        with pytest.raises(ParseError):
            parse_block_rows(broken, height)
    else:
        assert parse_block_rows(broken, height) == expected


def _coinbase_only_block(values: list[int]) -> bytes:
    """A block of one coinbase paying ``values`` to a P2PKH script, its merkle root right (no proof of work:
    the parser does not check it)."""
    script = bytes.fromhex("76a914") + bytes(20) + bytes.fromhex("88ac")
    outputs = b"".join(struct.pack("<Q", v) + varint_bytes(len(script)) + script for v in values)
    tx = (
        struct.pack("<i", 1)
        + b"\x01" + bytes(32) + struct.pack("<I", 0xFFFF_FFFF)  # one input: the coinbase's null prevout
        + b"\x02\x51\x51" + struct.pack("<I", 0xFFFF_FFFF)  # its script and sequence
        + varint_bytes(len(values)) + outputs
        + struct.pack("<I", 0)
    )  # fmt: skip
    header = (
        struct.pack("<i", 1) + bytes(32) + merkle_root([double_sha256(tx)]) + struct.pack("<III", 0, 0, 0)
    )
    return header + b"\x01" + tx


@pytest.mark.parametrize(
    "values",
    [[params.MAX_MONEY_SAT + 1], [2**63], [2**64 - 1], [params.MAX_MONEY_SAT, 1], [params.MAX_MONEY_SAT] * 5],
)
def test_outputs_paying_more_than_can_exist_raise_parse_error(values: list[int]) -> None:
    # Core's CheckTransaction refuses these; an amount past 2**63 would not even fit a bigint column.
    raw = _coinbase_only_block(values)
    with pytest.raises(ParseError, match="more than the 2100000000000000 that can exist"):
        parse_block_bytes(raw, height=1)
    with pytest.raises(ParseError, match="more than the 2100000000000000 that can exist"):
        parse_block_rows(raw, 1)


def test_outputs_paying_all_that_can_exist_parse() -> None:
    raw = _coinbase_only_block([params.MAX_MONEY_SAT - 1, 1])
    assert [o.value for o in parse_block_bytes(raw, height=1).txs[0].outputs] == [params.MAX_MONEY_SAT - 1, 1]
    assert parse_block_rows(raw, 1)[4][0][9] == params.MAX_MONEY_SAT


def test_blk_framing_errors_and_padding() -> None:
    block = b"\x01" * 10
    frame = params.MAINNET_MAGIC + struct.pack("<I", len(block)) + block
    assert list(iter_blk_frames(frame + frame + bytes(64))) == [block, block]  # zero padding ends the file
    with pytest.raises(ParseError, match="magic"):
        list(iter_blk_frames(frame + b"\x0b\x11\x09\x07" + frame[4:]))  # testnet3 magic
    with pytest.raises(ParseError, match="claims"):
        list(iter_blk_frames(frame[:-1]))
    with pytest.raises(ParseError, match="truncated frame header"):
        list(iter_blk_frames(frame + params.MAINNET_MAGIC + b"\x01"))


def test_hex_block_errors() -> None:
    with pytest.raises(ParseError, match="hex"):
        parse_hex_block("zz")
