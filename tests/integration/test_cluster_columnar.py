"""The default Bitcoin clustering (common input alone) reads columns instead of rebuilding transactions
(tracer.clustering.columnar); it must decide exactly as the row path that runs the heuristic on every
rebuilt transaction: the same clusters, the same evidence word for word, the same vetoes.

Data: the bundled real blocks as the README demo loads them (ordinary multi-input payments, a Samourai
Whirlpool CoinJoin that is vetoed, a batch payout with 40 equal outputs that is not) and a generated
mainnet-shaped chain (bench.chaingen).
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bench.chaingen import generate_blocks, write_blk_files
from tracer.jobs import cluster as job
from tracer.jobs.cluster import ClusterOptions, run_clustering
from tracer.jobs.index import index_files
from tracer.store.cluster_aggregates import refresh_aggregates

FIXTURES = Path(__file__).parents[1] / "fixtures"
FULL = ClusterOptions(heuristics=("common_input",), full=True)


async def outcome(pool: asyncpg.Pool) -> tuple[list[tuple[object, ...]], ...]:
    membership = await pool.fetch("SELECT address_id, cluster_id FROM address_clusters ORDER BY 1")
    evidence = await pool.fetch(
        """SELECT tx_id, heuristic, block_height, position, txid, address_ids, anchor_id, confidence,
                  conditions, parameters FROM merge_evidence ORDER BY tx_id"""
    )
    vetoes = await pool.fetch(
        "SELECT tx_id, heuristic, reason, detail, parameters FROM heuristic_vetoes ORDER BY tx_id"
    )
    clusters = await pool.fetch(
        """SELECT c.id, c.size, c.first_height, c.last_height, c.label_count, a.asset, a.received, a.sent
           FROM clusters c LEFT JOIN cluster_assets a ON a.cluster_id = c.id ORDER BY c.id, a.asset"""
    )
    return tuple([tuple(r) for r in rows] for rows in (membership, evidence, vetoes, clusters))


async def columns_and_rows(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    columnar = await run_clustering(pool, "bitcoin", FULL)
    by_columns = await outcome(pool)
    monkeypatch.setattr(job, "COLUMNAR_HEURISTICS", frozenset())  # every transaction rebuilt
    rows = await run_clustering(pool, "bitcoin", FULL)
    assert await outcome(pool) == by_columns
    assert (columnar.merges, columnar.vetoes, columnar.txs_examined) == (
        rows.merges,
        rows.vetoes,
        rows.txs_examined,
    )
    assert columnar.merges > 0
    async with pool.acquire() as conn:  # the summed-in-arrays aggregates equal the set-based SQL ones
        await refresh_aggregates(conn, "bitcoin", None)
    assert await outcome(pool) == by_columns


async def test_columns_decide_as_rows_on_real_blocks(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracer.demo import load

    await load(pool, FIXTURES, out=lambda _text: None)
    await columns_and_rows(pool, monkeypatch)
    assert await pool.fetchval("SELECT count(*) FROM heuristic_vetoes") > 0  # the CoinJoin path ran


@pytest.mark.slow
async def test_columns_decide_as_rows_on_a_generated_chain(
    pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = list(generate_blocks(6_000, seed=5, txs_per_block=500))
    await index_files(pool, write_blk_files(tmp_path, blocks), kind="raw")
    monkeypatch.setattr(job, "COLUMNAR_SPAN", 1_000)  # many spans
    await columns_and_rows(pool, monkeypatch)
