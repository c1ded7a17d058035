"""The compiled parser (mypyc-built modules, the ``based58`` base58check codec) and the pure-Python
reference (the sources, the pure codec) give identical records on every bundled real block
(tests/fixtures/bitcoin/raw: blocks 1..255, 277647, 540107, 574200, 696394), on a generated chain and on
the raito files, and identical base58check strings on any payload."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin import address, parse
from chains.bitcoin.compiled import is_compiled, load_pure
from chains.bitcoin.files import read_bytes, read_raw_blocks
from chains.bitcoin.raito import parse_raito
from chains.bitcoin.serial import double_sha256
from tracer.devnode.chaingen import generate_blocks
from tracer.store.chaindata import block_rows

FIXTURES = Path(__file__).parents[1] / "fixtures/bitcoin"
RAW = sorted(p for p in (FIXTURES / "raw").rglob("*.*z*") if "utxo" not in p.name)
RAITO = sorted((FIXTURES / "raito").glob("*.json.gz"))


@cache
def pure() -> dict[str, ModuleType]:
    return load_pure()


def frames(path: Path) -> Iterator[bytes]:
    data = read_bytes(path)
    if path.name.endswith(".txt.gz"):
        yield bytes.fromhex(data.decode().strip())
    elif path.name.endswith(".blk.gz"):
        yield data
    else:
        yield from parse.iter_blk_frames(data)


@pytest.mark.skipif(bool(os.environ.get("TRACER_PURE_PYTHON")), reason="installed without compiling")
def test_the_installed_parser_is_compiled() -> None:
    assert is_compiled(parse) and is_compiled(address)  # else scripts/bootstrap did not build it
    assert not is_compiled(pure()["parse"])
    assert address.b58check_encode is not address.b58check_encode_pure


@pytest.mark.parametrize("path", RAW, ids=lambda p: p.name[:24])
def test_compiled_and_pure_give_identical_records_on_every_bundled_block(path: Path) -> None:
    compiled = {b.hash: b for b in read_raw_blocks(path)}
    reference = pure()
    with reference["address"].pure_python_codecs():
        for raw in frames(path):
            block_hash = double_sha256(raw[:80])[::-1].hex()
            expected = compiled[block_hash]
            assert reference["parse"].parse_block_bytes(raw, expected.height) == expected


def test_compiled_and_pure_agree_on_a_generated_chain() -> None:
    reference = pure()
    raws = list(generate_blocks(1_000, seed=9, txs_per_block=500))
    with reference["address"].pure_python_codecs():
        assert [reference["parse"].parse_block_bytes(r) for r in raws] == [
            parse.parse_block_bytes(r) for r in raws
        ]


@pytest.mark.parametrize("path", RAITO, ids=lambda p: p.name)
def test_compiled_and_pure_agree_on_raito_files(path: Path) -> None:
    document = json.loads(gzip.decompress(path.read_bytes()), parse_float=Decimal)
    assert pure()["raito"].parse_raito(document) == parse_raito(document)


@given(st.binary(max_size=40))
def test_base58check_strings_are_identical(payload: bytes) -> None:
    assert address.b58check_encode(payload) == address.b58check_encode_pure(payload)


@pytest.mark.parametrize("path", RAW, ids=lambda p: p.name[:24])
def test_row_fast_path_equals_the_records_on_every_bundled_block(path: Path) -> None:
    """``parse_block_rows`` (compiled, and pure) == the pure records mapped to rows: the oracle."""
    heights = {b.hash: b.height for b in read_raw_blocks(path)}
    reference = pure()
    with reference["address"].pure_python_codecs():
        for raw in frames(path):
            height = heights[double_sha256(raw[:80])[::-1].hex()]
            block = reference["parse"].parse_block_bytes(raw, height)
            expected = tuple(block_rows(block))
            assert parse.parse_block_rows(raw, block.height) == expected
            assert reference["parse"].parse_block_rows(raw, block.height) == expected


def test_row_fast_path_equals_the_records_on_a_generated_chain() -> None:
    reference = pure()
    raws = list(generate_blocks(1_000, seed=9, txs_per_block=500))
    with reference["address"].pure_python_codecs():
        blocks = [block_rows(reference["parse"].parse_block_bytes(r)) for r in raws]
    got = [parse.parse_block_rows(r, b.height) for r, b in zip(raws, blocks, strict=True)]
    assert got == [tuple(b) for b in blocks]
