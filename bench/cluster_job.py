"""The clustering job on a mainnet-shaped chain (bench.chaingen): a full run at N transactions, then one more
block clustered incrementally, then the same chain recomputed in full for comparison. Prints time and the
job's peak memory (resident, this process; PostgreSQL's own memory is not counted) for each.

Run: .venv/bin/python -m bench.cluster_job [--txs 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from bench.chaingen import generate_blocks, write_blk_files
from bench.common import figure, scratch_pool, timed
from tracer.jobs.cluster import ClusterOptions, ClusterReport, run_clustering
from tracer.jobs.index import index_files

TXS_PER_BLOCK = 2_000
T = TypeVar("T")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM to the current resident size


def _peak_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def _measured(label: str, job: Callable[[], Awaitable[T]]) -> T:
    figure(f"{label}: resident memory before", _resident_bytes() / 1e9, "GB")
    _reset_peak()
    with timed() as seconds:
        result = await job()
    figure(f"{label}: time", seconds[0], "s")
    figure(f"{label}: peak resident memory of the job's process", _peak_bytes() / 1e9, "GB")
    return result


async def main(txs: int) -> None:
    blocks = 1 + (txs - 1) // TXS_PER_BLOCK  # the funding block (one tx), then full blocks
    chain = generate_blocks(1 + blocks * TXS_PER_BLOCK, seed=1, txs_per_block=TXS_PER_BLOCK)
    with tempfile.TemporaryDirectory(prefix="tracer-cluster-job-") as tmp:
        base = write_blk_files(Path(tmp) / "base", itertools.islice(chain, blocks))
        extra = write_blk_files(Path(tmp) / "extra", chain)  # the one block left
        async with scratch_pool() as pool:
            indexed = await index_files(pool, base, kind="raw")
            figure("transactions indexed", indexed.txs, "txs")
            report: ClusterReport = await _measured("full clustering", lambda: run_clustering(pool))
            figure("  of which clustering (the rest: exposure refresh)", report.seconds, "s")
            figure("  merges", report.merges, "merges")
            figure("  largest cluster", report.largest_cluster, "addresses")
            await index_files(pool, extra, kind="raw")
            step = await _measured("one more block, incremental", lambda: run_clustering(pool))
            figure("  of which clustering (the rest: exposure refresh)", step.seconds, "s")
            figure("  transactions examined", step.txs_examined, "txs")
            full = ClusterOptions(full=True)
            await _measured("the same chain, full recompute", lambda: run_clustering(pool, options=full))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--txs", type=int, default=1_000_000)
    asyncio.run(main(parser.parse_args().txs))
