"""The exposure refresh writes only the wallet labels and seeds that changed (tracer/store/exposure_labels.py)
and gives exactly the rows a full rebuild gives: after a re-import that removes labels and changes their
category and actor (and so the actor records' categories), and after a source is deleted. A chain without
transactions keeps only its wallet labels until its first blocks, whose refresh is a full one.

Data: a generated mainnet-shaped chain (bench.chaingen) indexed through the file indexer; labels imported
through the label job from CSV (synthetic actors on real addresses of that chain).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from bench.chaingen import generate_blocks, write_blk_files
from chains.bitcoin.parse import parse_block_bytes
from integration.test_exposure_incremental import TABLES, last_run, snapshot
from tracer.jobs.index import index_files
from tracer.jobs.labels import import_labels
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.labels import delete_source

BLOCKS = list(generate_blocks(2_000, seed=11, txs_per_block=200))
_BUSY = """
SELECT a.address FROM tx_inputs i JOIN addresses a ON a.id = i.address_id
GROUP BY a.address ORDER BY count(*) DESC, a.address LIMIT 24
"""
_CATEGORIES = ("sanctioned", "scam_centre", "mixer", "ransomware")


async def write_csv(path: Path, addresses: list[str], *, shift: int = 0) -> Path:
    """One label per address; ``shift`` moves every other address to another actor and category."""
    lines = ["address,chain,actor,category"]
    for i, address in enumerate(addresses):
        moved = shift if i % 2 else 0
        lines.append(f"{address},BTC,actor {(i + moved) % 5},{_CATEGORIES[(i + moved) % 4]}")
    await asyncio.to_thread(path.write_text, "\n".join(lines) + "\n")
    return path


async def assert_same_as_full(pool: asyncpg.Pool) -> None:
    incremental = await snapshot(pool)
    assert (await refresh_exposure(pool, full=True)).mode == "full"
    full = await snapshot(pool)
    for table in TABLES:
        assert incremental[table] == full[table], table


async def test_changed_and_deleted_labels_equal_a_full_rebuild(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await index_files(pool, write_blk_files(tmp_path / "blocks", BLOCKS[:4]), kind="raw")
    busy = [r[0] for r in await pool.fetch(_BUSY)]
    await import_labels(pool, await write_csv(tmp_path / "a.csv", busy[:16]))
    await import_labels(pool, await write_csv(tmp_path / "b.csv", busy[12:]))
    assert await pool.fetchval("SELECT count(*) FROM wallet_exposure") > 0
    # The same file again, a quarter of its addresses gone and every other one with another actor.
    await import_labels(pool, await write_csv(tmp_path / "a.csv", busy[4:16], shift=1))
    run = await last_run(pool)
    assert run["mode"] == "incremental" and run["actors"] > 0
    await assert_same_as_full(pool)

    await delete_source(pool, "public", "b.csv")
    assert (await refresh_exposure(pool)).mode == "incremental"
    orphans = (
        "SELECT count(*) FROM wallet_labels w WHERE NOT EXISTS (SELECT FROM labels l WHERE l.id = w.label_id)"
    )
    assert await pool.fetchval(orphans) == 0
    await assert_same_as_full(pool)


async def test_a_chain_without_transactions_keeps_only_its_wallet_labels(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    paid = [o.address for raw in BLOCKS[1:4] for tx in parse_block_bytes(raw).txs[1:] for o in tx.outputs]
    labels = await write_csv(tmp_path / "early.csv", sorted({a for a in paid if a})[:10])
    report = await import_labels(pool, labels)  # before any block
    assert (await last_run(pool))["mode"] == "full" and report.labels == 10
    assert await pool.fetchval("SELECT count(*) FROM wallet_labels") == 10
    assert await pool.fetchval("SELECT count(*) FROM exposure_seeds") == 0
    second = await refresh_exposure(pool)
    assert (second.mode, second.actors, second.exposures) == ("incremental", 0, 0)

    await index_files(pool, write_blk_files(tmp_path / "blocks", BLOCKS[:4]), kind="raw")
    first_blocks = await refresh_exposure(pool)
    assert first_blocks.mode == "full" and first_blocks.actors > 0
    await assert_same_as_full(pool)
