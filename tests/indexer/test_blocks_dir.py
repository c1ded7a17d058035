"""``tracer index bitcoin --blocks-dir DIR``: Core's blk*.dat files, out of height order, plain or XORed with
xor.dat (Core 28+), end with the rows of a clean run over JSON-RPC."""

from __future__ import annotations

import random
from pathlib import Path

import asyncpg
import pytest

from chains.bitcoin import params
from chains.bitcoin.blkfiles import xor_at
from indexer.conftest import Snapshot, snapshot, start_tracer
from tracer.config import Settings

KEY = bytes.fromhex("3f1c92a7d04e6b58")


def write_blocks_dir(directory: Path, blocks: list[bytes], key: bytes | None, files: int = 3) -> Path:
    """blk00000.dat.. holding ``blocks`` shuffled (as Core's parallel download leaves them), XORed with
    ``key`` by file offset when given (and its xor.dat)."""
    order = blocks[:]
    random.Random(5).shuffle(order)
    directory.mkdir(parents=True)
    per_file = -(-len(order) // files)
    for n in range(files):
        data = b"".join(
            params.MAINNET_MAGIC + len(raw).to_bytes(4, "little") + raw
            for raw in order[n * per_file : (n + 1) * per_file]
        )
        (directory / f"blk{n:05d}.dat").write_bytes(xor_at(data, key, 0) if key else data)
    if key:
        (directory / "xor.dat").write_bytes(key)
    return directory


@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "xor"])
async def test_blocks_dir_out_of_order_gives_the_clean_rows(
    key: bytes | None,
    *,
    pool: asyncpg.Pool,
    settings: Settings,
    tmp_path: Path,
    chain_blocks: list[bytes],
    clean_rows: Snapshot,
) -> None:
    blocks_dir = write_blocks_dir(tmp_path / "blocks", chain_blocks, key)
    run = start_tracer("index", "bitcoin", "--blocks-dir", str(blocks_dir), "--batch", "4", settings=settings)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert await snapshot(pool) == clean_rows
    assert await pool.fetchval("SELECT next_height FROM index_cursors WHERE source = 'blk'") == (
        await pool.fetchval("SELECT max(height) + 1 FROM blocks")
    )
