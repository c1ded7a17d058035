"""Exposure refresh at scale: a full rebuild against the incremental refresh that label imports, clustering
runs and new blocks trigger, on a generated mainnet-shaped chain (bench.chaingen).

Run: .venv/bin/python -m bench.exposure_refresh [--txs 1000000] [--home DIR]

1. generate ``--txs`` transactions (in full blocks) plus two more blocks of the same seeded stream, held
   back; index all but those through the file indexer, cluster (the chain's first refresh: full), import
   a label list (synthetic actors on real addresses of the chain: the busiest wallets and random ones);
2. time a full refresh; then a label import of three new actors (its incremental refresh); then one new
   block: index it, cluster incrementally, and its incremental refresh; then the next block the same way;
   then delete the top block (a reorg's rollback).

Each figure is the refresh's own time (``exposure_runs.seconds``), with the actors it searched again.
With ``--home`` the database is kept and reused (blocks already there are not indexed again). The last
line is ``ratio: <full refresh seconds / incremental refresh seconds after one new block>``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from bench.chaingen import DEFAULT_START_HEIGHT, generate_blocks, write_blk_files
from bench.common import figure, scratch_settings, timed
from tracer.config import Settings
from tracer.jobs.cluster import run_clustering
from tracer.jobs.index import index_files
from tracer.jobs.labels import import_labels
from tracer.store import embedded
from tracer.store.chaindata import delete_from_height
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import open_pool

TXS_PER_BLOCK = 2000
HELD_BACK = 2  # blocks that arrive after the first refresh
_CATEGORIES = ("sanctioned", "scam_centre;pig_butchering", "mixer", "ransomware", "exchange")
_BUSIEST = """
SELECT a.address FROM address_stats s JOIN addresses a ON a.id = s.address_id
ORDER BY s.tx_count DESC, a.address LIMIT $1
"""
_RANDOM = """
SELECT a.address FROM address_stats s JOIN addresses a ON a.id = s.address_id
WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.address_id = a.id) ORDER BY random() LIMIT $1
"""
_LAST_RUN = "SELECT mode, seconds, actors, exposures FROM exposure_runs ORDER BY id DESC LIMIT 1"


def _labels_csv(addresses: Sequence[str], actor: str) -> str:
    """Synthetic actors (this chain is generated: no real actor owns its addresses), ~4 addresses each."""
    lines = ["address,chain,actor,category,confidence"]
    for i, address in enumerate(addresses):
        lines.append(f"{address},BTC,{actor} {i % 97},{_CATEGORIES[i % len(_CATEGORIES)]},high")
    return "\n".join(lines) + "\n"


async def _index(pool: asyncpg.Pool, directory: Path, blocks: list[bytes]) -> None:
    if blocks:
        await index_files(pool, write_blk_files(directory, blocks), kind="raw")


async def _last_run(pool: asyncpg.Pool, name: str) -> float:
    run = await pool.fetchrow(_LAST_RUN)
    figure(f"{name}: {run['mode']} refresh, {run['actors']} actors searched", run["seconds"], "s")
    return float(run["seconds"])


async def _prepare(pool: asyncpg.Pool, work: Path, blocks: list[bytes], stored: int) -> None:
    with timed() as t:
        await _index(pool, work / "chain", blocks[stored:])
    figure(f"index {len(blocks) - stored} blocks", t[0], "s")
    with timed() as t:
        report = await run_clustering(pool)
    figure(f"cluster ({report.clusters:,} clusters) + exposure", t[0], "s")
    if not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM labels)"):
        busy = [r["address"] for r in await pool.fetch(_BUSIEST, 40)]
        others = [r["address"] for r in await pool.fetch(_RANDOM, 400)]
        path = work / "bench-labels.csv"
        path.write_text(_labels_csv([*busy[::2], *others], "bench actor"))
        await import_labels(pool, path)
        await _last_run(pool, "label import (420 labels)")


async def _measure(pool: asyncpg.Pool, work: Path, new_blocks: list[bytes]) -> None:
    report = await refresh_exposure(pool, full=True)
    full = report.seconds
    figure(
        f"full refresh ({report.flows:,} flows, {report.exposures:,} exposures, {report.actors} actors)",
        full,
        "s",
    )
    path = work / f"new-actors-{time.time_ns()}.csv"  # a new source each run (a kept database has the last)
    path.write_text(_labels_csv([r["address"] for r in await pool.fetch(_RANDOM, 3)], "new bench actor"))
    await import_labels(pool, path)
    await _last_run(pool, "label import (3 labels, 3 new actors)")
    one_block = 0.0
    for n, block in enumerate(new_blocks, start=1):
        await _index(pool, work / f"new{n}", [block])
        with timed() as t:
            clusters = await run_clustering(pool)
        seconds = await _last_run(
            pool, f"+1 block ({n}): cluster {clusters.mode} {clusters.seconds:.1f} s, then"
        )
        figure(f"+1 block ({n}): clustering and refresh together", t[0], "s")
        one_block = one_block or seconds
    await _rollback_top(pool)
    print(f"ratio: {full / one_block:.1f}")


async def _rollback_top(pool: asyncpg.Pool) -> None:
    """A reorg's first step: delete the top block with its rows (a kept database indexes it again next run;
    the refresh after a reorg is a full one, measured above)."""
    async with pool.acquire() as conn, conn.transaction():
        top = await conn.fetchval("SELECT max(height) FROM blocks WHERE chain = 'bitcoin'")
        with timed() as t:
            await delete_from_height(conn, "bitcoin", top)
    figure("delete the top block (a reorg's rollback, its rows cascading)", t[0], "s")


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exposure_refresh")
    parser.add_argument("--txs", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="keep the database under this directory and reuse it")
    args = parser.parse_args(argv)
    if args.home:
        url = await asyncio.to_thread(embedded.start, args.home)
        await _run(Settings(database_url=url, home=args.home), args.txs)
        return
    with scratch_settings() as settings:
        await _run(settings, args.txs)


def _stream(n_blocks: int) -> list[bytes]:
    """The first ``n_blocks`` of the generated chain, all full (the funding block, then TXS_PER_BLOCK each),
    so a longer stream starts with the same blocks."""
    return list(generate_blocks(1 + (n_blocks - 1) * TXS_PER_BLOCK, txs_per_block=TXS_PER_BLOCK))


async def _run(settings: Settings, txs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="tracer-bench-") as tmp:
        async with open_pool(settings.model_copy(update={"pool_max_size": 4})) as pool:
            top = await pool.fetchval("SELECT max(height) FROM blocks WHERE chain = 'bitcoin'")
            stored = 0 if top is None else top - DEFAULT_START_HEIGHT + 1  # a kept database: go on from there
            blocks = _stream(max(stored, 1 + -(-(txs - 1) // TXS_PER_BLOCK)) + HELD_BACK)
            await _prepare(pool, Path(tmp), blocks[:-HELD_BACK], stored)
            await _measure(pool, Path(tmp), blocks[-HELD_BACK:])


if __name__ == "__main__":
    asyncio.run(main())
