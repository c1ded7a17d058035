"""Incremental clustering equals batch clustering; reorgs and switched-off heuristics undo their merges.

Data: a generated mainnet-shaped chain (bench.chaingen: wallets co-spend, pay change to fresh addresses,
reuse addresses heavy-tailed), indexed in two parts through the file indexer, as new blocks arrive.
Change heuristics are switched on with a small size limit and two labelled owners, so the collapse guards
refuse merges too: their decisions must come out the same however the chain is split into runs.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bench.chaingen import generate_blocks, write_blk_files
from tracer.jobs.cluster import ClusterOptions, run_clustering
from tracer.jobs.index import index_files

HEURISTICS = ("common_input", "change_optimal", "change_address_type", "change_fresh_address")
OPTIONS = ClusterOptions(heuristics=HEURISTICS, max_weak_size=40)
BLOCKS = list(generate_blocks(4_000, seed=11, txs_per_block=400))
SPLIT = 6  # blocks in the first part


async def membership(pool: asyncpg.Pool) -> list[tuple[int, int]]:
    rows = await pool.fetch("SELECT address_id, cluster_id FROM address_clusters ORDER BY 1")
    return [(r[0], r[1]) for r in rows]


async def decisions(pool: asyncpg.Pool) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    merged = await pool.fetch(
        "SELECT heuristic, txid, address_ids FROM merge_evidence ORDER BY txid, heuristic"
    )
    refused = await pool.fetch(
        "SELECT heuristic, txid, address_ids, reason FROM refused_merges ORDER BY txid, heuristic"
    )
    return [tuple(r) for r in merged], [tuple(r) for r in refused]


async def aggregates(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        """SELECT c.id, c.size, c.first_height, c.last_height, c.label_count, a.received, a.sent
           FROM clusters c LEFT JOIN cluster_assets a ON a.cluster_id = c.id ORDER BY c.id"""
    )
    return [tuple(r) for r in rows]


async def index_part(pool: asyncpg.Pool, directory: Path, blocks: list[bytes]) -> None:
    await index_files(pool, write_blk_files(directory, blocks), kind="raw")


async def label_two_owners(pool: asyncpg.Pool) -> None:
    """Two exchanges on two busy addresses, so owner-conflict refusals can happen."""
    source = await pool.fetchval(
        """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
           VALUES ('test', 'test', 'test', 'test', '', 2, 0) RETURNING id"""
    )
    busiest = await pool.fetch(
        """SELECT address_id FROM tx_inputs WHERE address_id IS NOT NULL
           GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2"""
    )
    for row, owner in zip(busiest, ("Exchange A", "Exchange B"), strict=True):
        await pool.execute(
            """INSERT INTO labels (source_id, address_id, label, category, categories)
               VALUES ($1, $2, $3, 'exchange', ARRAY['exchange'])""",
            source,
            row[0],
            owner,
        )


@pytest.mark.slow
async def test_incremental_equals_batch_and_a_reorg_undoes_its_merges(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await index_part(pool, tmp_path / "a", BLOCKS[:SPLIT])
    await label_two_owners(pool)
    first = await run_clustering(pool, "bitcoin", OPTIONS)
    assert first.mode == "full"
    after_first = (await membership(pool), await decisions(pool), await aggregates(pool))

    await index_part(pool, tmp_path / "b", BLOCKS[SPLIT:])
    step = await run_clustering(pool, "bitcoin", OPTIONS)
    assert step.mode == "incremental"
    assert 0 < step.txs_examined < first.txs_examined + step.txs_examined
    incremental = (await membership(pool), await decisions(pool), await aggregates(pool))

    batch = await run_clustering(
        pool, "bitcoin", ClusterOptions(heuristics=HEURISTICS, max_weak_size=40, full=True)
    )
    assert batch.mode == "full"
    assert (await membership(pool), await decisions(pool), await aggregates(pool)) == incremental
    assert batch.refused > 0  # the guards did act, identically in both runs
    reasons = {r[0] for r in await pool.fetch("SELECT DISTINCT reason FROM refused_merges")}
    assert "size_limit" in reasons

    # A reorg: the indexer deletes the blocks of the second part; their merges cascade away with them.
    heights = await pool.fetch("SELECT height FROM blocks ORDER BY height")
    cut = heights[SPLIT][0]
    await pool.execute("DELETE FROM blocks WHERE chain = 'bitcoin' AND height >= $1", cut)
    repaired = await run_clustering(pool, "bitcoin", OPTIONS)
    assert repaired.mode == "full"  # evidence disappeared: recomputed
    assert (await membership(pool), await decisions(pool), await aggregates(pool)) == after_first


async def test_switching_a_heuristic_off_undoes_its_merges(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await index_part(pool, tmp_path / "all", BLOCKS[:SPLIT])
    await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",)))
    only_common = await membership(pool)
    with_change = await run_clustering(
        pool, "bitcoin", ClusterOptions(heuristics=("common_input", "change_optimal"))
    )
    assert with_change.mode == "full"  # a different set of heuristics: recomputed, nothing re-indexed
    assert await pool.fetchval("SELECT count(*) FROM merge_evidence WHERE heuristic = 'change_optimal'") > 0
    assert await membership(pool) != only_common
    undone = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",)))
    assert undone.mode == "full"
    assert await membership(pool) == only_common
    assert await pool.fetchval("SELECT count(*) FROM merge_evidence WHERE heuristic <> 'common_input'") == 0


async def test_a_retired_cluster_id_resolves_to_the_cluster_it_merged_into(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    from tracer.store.views import cluster_summary

    await index_part(pool, tmp_path / "a", BLOCKS[:SPLIT])
    await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",)))
    before = {r[0]: r[1] for r in await pool.fetch("SELECT id, size FROM clusters")}
    await index_part(pool, tmp_path / "b", BLOCKS[SPLIT:])
    await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",)))
    after = {r[0]: r[1] for r in await pool.fetch("SELECT id, size FROM clusters")}
    unchanged = [cid for cid, size in before.items() if after.get(cid) == size]
    retired = [cid for cid in before if cid not in after]
    assert unchanged  # ids of clusters that did not change stay put
    assert retired  # some clusters merged into others
    async with pool.acquire() as conn:
        for cid in retired:
            summary = await cluster_summary(conn, cid)
            assert summary is not None and summary.resolved_from == cid
            assert summary.id < cid and summary.id in after  # the smaller id survives


@pytest.mark.slow
async def test_inputs_resolved_below_the_last_run_are_clustered_without_full(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Blocks indexed out of order (as parallel workers commit them): the later part first, so its inputs
    that spend outputs of the earlier part are stored unresolved; a run clusters it; then the earlier part
    arrives and the indexer resolves those inputs -- below the last run. The next incremental run must end
    where a full recompute ends: clusters, evidence and aggregates."""
    common = ClusterOptions(heuristics=("common_input",))
    await index_part(pool, tmp_path / "late", BLOCKS[SPLIT:])
    unresolved = await pool.fetchval("SELECT count(*) FROM tx_inputs WHERE source = 'unresolved'")
    assert unresolved > 0
    await run_clustering(pool, "bitcoin", common)
    await index_part(pool, tmp_path / "early", BLOCKS[:SPLIT])
    late = await pool.fetchval("SELECT count(DISTINCT tx_id) FROM cluster_late_inputs")
    assert late > 0
    watermark = await pool.fetchval("SELECT last_tx_id FROM cluster_state WHERE chain = 'bitcoin'")
    assert await pool.fetchval("SELECT max(tx_id) FROM cluster_late_inputs") <= watermark  # below it
    step = await run_clustering(pool, "bitcoin", common)
    assert step.mode == "incremental"
    assert await pool.fetchval("SELECT count(*) FROM cluster_late_inputs") == 0  # consumed
    incremental = (await membership(pool), await decisions(pool), await aggregates(pool))
    batch = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",), full=True))
    assert batch.mode == "full"
    assert (await membership(pool), await decisions(pool), await aggregates(pool)) == incremental
