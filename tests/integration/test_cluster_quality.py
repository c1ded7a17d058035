"""Cluster quality on the bundled real blocks and tag packs (bench.cluster_quality measures the same):
labelled addresses of different owners never share a cluster, with the default heuristics and with every
change heuristic switched on (the collapse guards refuse what would join them)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tracer.clustering.quality import measure
from tracer.jobs.cluster import ClusterOptions, run_clustering

ALL_CHANGE = ("change_fresh_address", "change_optimal", "change_address_type", "change_fingerprint")


async def test_default_clusters_never_join_different_owners(loaded_pool: asyncpg.Pool) -> None:
    async with loaded_pool.acquire() as conn:
        quality = await measure(conn, "bitcoin")
    assert quality.labelled_clusters > 0  # the tag packs do label clustered addresses
    assert quality.impure_clusters == []
    assert quality.purity == 1.0
    merges, refused = quality.per_heuristic["common_input"]
    assert merges > 1000 and refused == 0  # ownership evidence is never refused


@pytest.mark.slow
async def test_change_heuristics_stay_pure_and_are_undone_by_switching_them_off(pool: asyncpg.Pool) -> None:
    from tracer.demo import load

    await load(pool, Path(__file__).parents[1] / "fixtures", out=lambda _text: None)
    report = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input", *ALL_CHANGE)))
    async with pool.acquire() as conn:
        quality = await measure(conn, "bitcoin")
    assert report.mode == "full"
    assert quality.impure_clusters == []
    assert all(quality.per_heuristic.get(h, (0, 0))[0] > 0 for h in ALL_CHANGE[:3])
    await run_clustering(pool, "bitcoin")  # back to the defaults: recomputed without the change merges
    async with pool.acquire() as conn:
        assert set((await measure(conn, "bitcoin")).per_heuristic) == {"common_input"}
