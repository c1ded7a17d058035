"""The compiled base58check codec (PyPI ``based58``) and the pure-Python reference give identical records
on every bundled real block (tests/fixtures/bitcoin/raw: blocks 1..255, 277647, 540107, 574200, 696394)
and on a generated chain, and identical strings on any payload."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chains.bitcoin import address
from chains.bitcoin.address import b58check_encode_pure, pure_python_codecs
from chains.bitcoin.files import read_raw_blocks
from chains.bitcoin.parse import parse_block_bytes
from tracer.devnode.chaingen import generate_blocks

RAW = sorted(
    p for p in (Path(__file__).parents[1] / "fixtures/bitcoin/raw").rglob("*.*z*") if "utxo" not in p.name
)


def test_the_compiled_codec_is_installed() -> None:
    assert address.b58check_encode is not b58check_encode_pure  # else the fast path is not measured here


@pytest.mark.parametrize("path", RAW, ids=lambda p: p.name[:24])
def test_both_codecs_give_identical_records_on_every_bundled_block(path: Path) -> None:
    compiled = read_raw_blocks(path)
    with pure_python_codecs():
        pure = read_raw_blocks(path)
    assert pure == compiled
    assert sum(o.address is not None for b in compiled for t in b.txs for o in t.outputs) > 0


def test_both_codecs_agree_on_a_generated_chain() -> None:
    raws = list(generate_blocks(1_000, seed=9, txs_per_block=500))
    compiled = [parse_block_bytes(raw) for raw in raws]
    with pure_python_codecs():
        assert [parse_block_bytes(raw) for raw in raws] == compiled


@given(st.binary(max_size=40))
def test_base58check_strings_are_identical(payload: bytes) -> None:
    assert address.b58check_encode(payload) == b58check_encode_pure(payload)
