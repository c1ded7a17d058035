"""Cluster quality on the bundled real blocks and tag packs: per heuristic set, merges, refused merges, and
purity (labelled addresses of different owners must never share a cluster).

Run: .venv/bin/python -m bench.cluster_quality
"""

from __future__ import annotations

import asyncio

from bench.common import FIXTURES, scratch_pool
from tracer.clustering.quality import measure
from tracer.demo import load
from tracer.jobs.cluster import ClusterOptions, run_clustering

# The default (common input), then each change heuristic on top of it, then all of them at once.
CHANGE = ("change_fresh_address", "change_optimal", "change_address_type", "change_fingerprint")
RUNS = (("common_input",), *(("common_input", h) for h in CHANGE), ("common_input", *CHANGE))


async def main() -> None:
    async with scratch_pool() as pool:
        await load(pool, FIXTURES, out=lambda _text: None)  # labels first, then the default clustering
        worst = 1.0
        for heuristics in RUNS:
            report = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=heuristics, full=True))
            async with pool.acquire() as conn:
                quality = await measure(conn, "bitcoin")
            worst = min(worst, quality.purity)
            print(f"heuristics: {','.join(heuristics)}")
            print(f"  clusters: {report.clusters} (largest {report.largest_cluster}) in {report.seconds} s")
            for name, (merges, refused) in quality.per_heuristic.items():
                print(f"  {name}: {merges} merges, {refused} refused merges")
            print(
                f"  labelled clusters: {quality.labelled_clusters} "
                f"({quality.multi_labelled_clusters} with 2+ labelled members); "
                f"owner conflicts: {len(quality.impure_clusters)}; purity: {quality.purity:.4f}"
            )
        print(f"worst purity: {worst:.4f}")


if __name__ == "__main__":
    asyncio.run(main())
