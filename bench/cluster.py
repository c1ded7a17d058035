"""Clustering time on the bundled data, and our union-find against networkx (the peer) on the same merges.

Run: .venv/bin/python bench/cluster.py
"""

from __future__ import annotations

import asyncio
import itertools

import networkx as nx

from bench.common import FIXTURES, figure, scratch_pool, timed
from tracer.clustering.unionfind import UnionFind
from tracer.demo import load
from tracer.jobs.cluster import run_clustering


async def main() -> None:
    async with scratch_pool() as pool:
        await load(pool, FIXTURES, out=lambda _text: None)
        with timed() as job:
            report = await run_clustering(pool)
        figure("clustering job (read, heuristics, union-find, write)", job[0], "s")
        figure("transactions examined", report.txs_examined, "txs")
        figure("merges", report.merges, "merges")
        merges = [list(r["address_ids"]) for r in await pool.fetch("SELECT address_ids FROM merge_evidence")]
    repeat = 20
    with timed() as ours:
        for _ in range(repeat):
            forest = UnionFind()
            for ids in merges:
                forest.union_all(ids)
            forest.clusters()
    with timed() as peer:
        for _ in range(repeat):
            graph = nx.Graph()
            for ids in merges:
                graph.add_edges_from(itertools.pairwise(ids))
            list(nx.connected_components(graph))
    figure("union-find, tracer", ours[0] / repeat * 1000, "ms")
    figure("connected components, networkx", peer[0] / repeat * 1000, "ms")
    figure("speed-up over networkx", peer[0] / ours[0], "x")


if __name__ == "__main__":
    asyncio.run(main())
