"""Reading a Bitcoin Core blocks directory: streamed, header-first, XOR-obfuscated (Core 28+), best chain.

Built from real mainnet blocks 1..255 (tests/fixtures/bitcoin/raw/btcd/blocks1-256.bz2), written as
blk*.dat files out of height order; forks are made from real blocks by changing a header's nonce (a new
hash, same parent) and re-pointing the next real block at it (its merkle root stays valid).
"""

from __future__ import annotations

import bz2
import random
import tracemalloc
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from bench.chaingen import generate_blocks, write_blk_files
from chains.bitcoin import params
from chains.bitcoin.blkfiles import (
    best_chain,
    blk_files,
    block_work,
    iter_best_chain,
    read_xor_key,
    scan_headers,
    xor_at,
)
from chains.bitcoin.files import iter_raw_blocks, read_raw_blocks
from chains.bitcoin.parse import iter_blk_frames, parse_block_bytes
from chains.bitcoin.serial import double_sha256
from chains.errors import ParseError

FIXTURE = Path(__file__).parents[1] / "fixtures/bitcoin/raw/btcd/blocks1-256.bz2"
KEY = bytes.fromhex("3a7c91e0055bd2f4")
BLOCK_1 = "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"


@cache
def real_blocks() -> tuple[bytes, ...]:
    return tuple(iter_blk_frames(bz2.decompress(FIXTURE.read_bytes())))


def hash_of(raw: bytes) -> str:
    return double_sha256(raw[:80])[::-1].hex()


def write_dir(directory: Path, blocks: list[bytes], *, files: int = 3, key: bytes | None = None) -> Path:
    """blk00000.dat.. holding ``blocks`` in the given order, XORed with ``key`` (and its xor.dat)."""
    directory.mkdir()
    per_file = -(-len(blocks) // files)
    for n in range(files):
        data = b"".join(
            params.MAINNET_MAGIC + len(raw).to_bytes(4, "little") + raw
            for raw in blocks[n * per_file : (n + 1) * per_file]
        )
        data += bytes(1000)  # Core pre-allocates: zeros after the last block
        (directory / f"blk{n:05d}.dat").write_bytes(xor_at(data, key, 0) if key else data)
    if key is not None:
        (directory / "xor.dat").write_bytes(key)
    (directory / "rev00000.dat").write_bytes(b"undo data is not read")
    return directory


def shuffled(seed: int = 5) -> list[bytes]:
    blocks = list(real_blocks())
    random.Random(seed).shuffle(blocks)
    return blocks


def sibling(raw: bytes, prev: bytes | None = None, nonce_delta: int = 1) -> bytes:
    """A real block with another nonce (so another hash) and optionally another parent."""
    nonce = (int.from_bytes(raw[76:80], "little") + nonce_delta) % 2**32
    header = raw[:4] + (prev if prev is not None else raw[4:36]) + raw[36:76] + nonce.to_bytes(4, "little")
    return header + raw[80:]


@pytest.mark.parametrize("key", [None, KEY, bytes(8)], ids=["plain", "xor", "zero-key"])
def test_shuffled_directory_comes_back_in_height_order(tmp_path: Path, key: bytes | None) -> None:
    blocks_dir = write_dir(tmp_path / "blocks", shuffled(), key=key)
    chain = list(iter_best_chain(blocks_dir))
    assert [b.height for b in chain] == list(range(1, 256))
    assert chain[0].hash == BLOCK_1 and chain[0].prev_hash == params.GENESIS_HASH
    assert [b.read() for b in chain] == list(real_blocks())
    parsed = chain[99].parse()
    assert parsed == parse_block_bytes(real_blocks()[99], 100)


def test_xor_key_is_undone_by_file_offset(tmp_path: Path) -> None:
    blocks_dir = write_dir(tmp_path / "blocks", list(real_blocks()), key=KEY)
    assert read_xor_key(blocks_dir) == KEY
    raw_file = (blocks_dir / "blk00000.dat").read_bytes()
    assert raw_file[:4] != params.MAINNET_MAGIC  # really obfuscated on disk
    assert xor_at(raw_file, KEY, 0)[:4] == params.MAINNET_MAGIC
    assert xor_at(raw_file[13:40], KEY, 13) == xor_at(raw_file, KEY, 0)[13:40]


def test_wrong_or_missing_key_is_a_clear_error(tmp_path: Path) -> None:
    blocks_dir = write_dir(tmp_path / "blocks", list(real_blocks()), key=KEY)
    (blocks_dir / "xor.dat").write_bytes(bytes(8))
    with pytest.raises(ParseError, match=r"blk00000\.dat: no mainnet magic at offset 0.*xor\.dat"):
        list(iter_best_chain(blocks_dir))
    (blocks_dir / "xor.dat").write_bytes(b"short")
    with pytest.raises(ParseError, match="8-byte XOR key"):
        read_xor_key(blocks_dir)


def test_headers_are_found_without_reading_whole_files(tmp_path: Path) -> None:
    blocks_dir = write_dir(tmp_path / "blocks", list(real_blocks()), files=2)
    headers = list(scan_headers(blocks_dir))
    assert [p.name for p in blk_files(blocks_dir)] == ["blk00000.dat", "blk00001.dat"]
    assert len(headers) == 255
    assert headers[0].offset == 8 and headers[0].size == len(real_blocks()[0])
    assert headers[1].offset == 8 + len(real_blocks()[0]) + 8


def test_a_shorter_fork_is_left_out(tmp_path: Path) -> None:
    real = list(real_blocks())
    stale_250 = sibling(real[249])  # height 250, same parent as the real 250
    stale_251 = sibling(real[250], prev=double_sha256(stale_250[:80]))
    blocks_dir = write_dir(tmp_path / "blocks", [*real[:200], stale_251, *real[200:], stale_250])
    chain = list(iter_best_chain(blocks_dir))
    assert [b.hash for b in chain] == [hash_of(raw) for raw in real]


def test_a_longer_fork_wins(tmp_path: Path) -> None:
    real = list(real_blocks())
    fork, prev = [], real[251][4:36]  # replaces heights 252..255 with 5 blocks: 252'..256'
    for raw in [*real[251:255], real[254]]:
        fork.append(sibling(raw, prev=prev, nonce_delta=7))
        prev = double_sha256(fork[-1][:80])
    blocks_dir = write_dir(tmp_path / "blocks", shuffled() + fork[::-1])
    chain = list(iter_best_chain(blocks_dir))
    assert [b.height for b in chain] == list(range(1, 257))
    assert [b.hash for b in chain] == [hash_of(r) for r in real[:251]] + [hash_of(r) for r in fork]
    assert chain[-1].parse().height == 256


def test_equal_work_tie_goes_to_the_block_seen_first(tmp_path: Path) -> None:
    real = list(real_blocks())
    rival = sibling(real[254])  # a second block 255
    blocks_dir = write_dir(tmp_path / "blocks", [*real[:200], rival, *real[200:]], files=1)
    assert [b.hash for b in iter_best_chain(blocks_dir)][-1] == hash_of(rival)


def test_block_work_matches_core() -> None:
    # Core's chainwork of block 1 is 0x200020002 (two blocks at difficulty 1: 0x100010001 each)
    assert block_work(0x1D00FFFF) == 0x100010001
    assert best_chain([]) == []


def test_a_cut_short_last_frame_ends_the_file(tmp_path: Path) -> None:
    blocks_dir = write_dir(tmp_path / "blocks", list(real_blocks()), files=1)
    path = blocks_dir / "blk00000.dat"
    data = path.read_bytes().rstrip(b"\0")
    path.write_bytes(data[:-100])  # a node killed while writing the last block
    assert len(list(iter_best_chain(blocks_dir))) == 254


def test_not_a_directory_and_unknown_height(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not a directory"):
        list(iter_best_chain(tmp_path / "missing"))
    blocks_dir = write_dir(tmp_path / "blocks", list(real_blocks())[10:], files=1)  # parent of 11 unknown
    with pytest.raises(ParseError, match="pass start_height"):
        list(iter_best_chain(blocks_dir))
    assert next(iter_best_chain(blocks_dir, start_height=11)).height == 11


def test_a_chain_without_genesis_takes_its_height_from_the_bip34_coinbase(tmp_path: Path) -> None:
    generated = list(generate_blocks(1_500, seed=2, txs_per_block=300))
    write_blk_files(tmp_path, reversed(generated), max_file_bytes=100_000)
    chain = list(iter_best_chain(tmp_path))
    assert [b.height for b in chain] == list(range(800_000, 800_000 + len(generated)))
    assert [b.read() for b in chain] == generated


def test_one_file_streams_block_by_block_with_the_same_records(tmp_path: Path) -> None:
    path = write_dir(tmp_path / "blocks", list(real_blocks()), files=1) / "blk00000.dat"
    streamed = iter_raw_blocks(path)
    first = next(streamed)
    assert first.height == 1 and first.hash == BLOCK_1
    assert [first, *streamed] == read_raw_blocks(path)


def peak_bytes(func: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_streaming_a_file_holds_one_block_at_a_time(tmp_path: Path) -> None:
    generated = list(generate_blocks(4_000, seed=3, txs_per_block=500))  # 9 blocks in one file
    (path,) = write_blk_files(tmp_path, generated)
    streamed = peak_bytes(lambda: sum(1 for _ in iter_raw_blocks(path)))
    whole = peak_bytes(lambda: read_raw_blocks(path))
    assert streamed < whole / 3  # about one parsed block instead of the file and all its records
