"""An incremental exposure refresh gives exactly the rows a full rebuild gives, after a label import, a
clustering run and new blocks, and searches fewer actors than the full one.

Data: a generated mainnet-shaped chain (bench.chaingen) indexed in two parts through the file indexer, as
new blocks arrive; labels imported through the label job (CSV, synthetic actors on real addresses of that
chain); clustering through the clustering job. Both jobs refresh the exposure as they do in production;
the search bounds are made small here so that cuts (truncation) happen and must match too.
"""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import asyncpg
import pytest

import tracer.jobs.cluster
import tracer.jobs.labels
from bench.chaingen import generate_blocks, write_blk_files
from tracer.jobs.cluster import run_clustering
from tracer.jobs.index import index_files
from tracer.jobs.labels import import_labels
from tracer.store.exposure_refresh import ExposureParams, refresh_exposure

BLOCKS = list(generate_blocks(4_000, seed=7, txs_per_block=400))
SPLIT = 6  # blocks in the first part
SMALL = ExposureParams(hops=3, max_frontier=20, max_fanout=30, max_reach=40)  # cuts happen
_CATEGORIES = ("sanctioned", "scam_centre", "mixer", "ransomware", "exchange")

# Every derived table, in a stable order (primary keys), with every column.
TABLES = {
    "wallet_flows": "chain, src, dst, asset_id",
    "wallet_totals": "chain, wallet, asset_id",
    "address_stats": "address_id",
    "wallet_labels": "wallet, label_id",
    "wallet_exposure": "wallet, tenant, actor_key, direction, asset_id",
    "exposure_seeds": "chain, tenant, actor_key, wallet",
    "exposure_cuts": "chain, tenant, actor_key",
    "exposure_wallets": "address_id",
    "wallet_answers": "wallet, address_id",  # the answer parts screening passes through
    "answer_digests": "chain, tenant, actor_key, asset_id",
}


async def snapshot(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    return {
        t: [tuple(r) for r in await pool.fetch(f"SELECT * FROM {t} ORDER BY {k}")] for t, k in TABLES.items()
    }


_BUSY = """
SELECT a.address FROM tx_inputs i JOIN addresses a ON a.id = i.address_id
GROUP BY a.address ORDER BY count(*) DESC, a.address OFFSET $1 LIMIT 12
"""
# Addresses of wallets no actor's search reached (nor started from).
_UNREACHED = """
SELECT a.address FROM addresses a LEFT JOIN address_clusters ac ON ac.address_id = a.id
WHERE NOT EXISTS (SELECT 1 FROM wallet_exposure e WHERE e.wallet = COALESCE(ac.cluster_id, a.id))
  AND NOT EXISTS (SELECT 1 FROM wallet_labels l WHERE l.wallet = COALESCE(ac.cluster_id, a.id))
ORDER BY a.address OFFSET $1 LIMIT 3
"""


async def write_labels(pool: asyncpg.Pool, path: Path, query: str, offset: int, actor: str) -> Path:
    """Synthetic actors (the chain is generated) on addresses the query picks, ~3 addresses each."""
    rows = await pool.fetch(query, offset)
    lines = ["address,chain,actor,category,confidence"]
    lines += [f"{r[0]},BTC,{actor} {i % 4},{_CATEGORIES[i % 5]},high" for i, r in enumerate(rows)]
    await asyncio.to_thread(path.write_text, "\n".join(lines) + "\n")
    return path


async def last_run(pool: asyncpg.Pool) -> asyncpg.Record:
    return await pool.fetchrow("SELECT mode, actors, truncated FROM exposure_runs ORDER BY id DESC LIMIT 1")


@pytest.mark.slow
async def test_incremental_refresh_equals_a_full_rebuild(
    pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = functools.partial(refresh_exposure, params=SMALL)
    monkeypatch.setattr(tracer.jobs.cluster, "refresh_exposure", small)
    monkeypatch.setattr(tracer.jobs.labels, "refresh_exposure", small)
    await index_files(pool, write_blk_files(tmp_path / "a", BLOCKS[:SPLIT]), kind="raw")
    await run_clustering(pool, "bitcoin")  # the chain's first refresh: full
    assert (await last_run(pool))["mode"] == "full"
    await import_labels(pool, await write_labels(pool, tmp_path / "first.csv", _BUSY, 0, "actor"))
    first_actors = (await last_run(pool))["actors"]
    # New blocks, then a clustering run over them (regrouped wallets) and a second label source.
    await index_files(pool, write_blk_files(tmp_path / "b", BLOCKS[SPLIT:]), kind="raw")
    await run_clustering(pool, "bitcoin")
    after_blocks = await last_run(pool)
    await import_labels(pool, await write_labels(pool, tmp_path / "second.csv", _BUSY, 300, "other"))
    after_labels = await last_run(pool)
    assert (after_blocks["mode"], after_labels["mode"]) == ("incremental", "incremental")
    # Labels on 3 wallets no search reached (3 new actors): only those 3 are searched.
    await import_labels(pool, await write_labels(pool, tmp_path / "third.csv", _UNREACHED, 0, "lonely"))
    assert tuple(await last_run(pool)) == ("incremental", 3, after_labels["truncated"])
    incremental = await snapshot(pool)
    assert incremental["wallet_exposure"] and incremental["exposure_cuts"]  # the bounds did cut
    assert incremental["wallet_answers"]

    report = await refresh_exposure(pool, params=SMALL, full=True)
    assert report.mode == "full"
    full = await snapshot(pool)
    for table in TABLES:
        assert incremental[table] == full[table], table
    assert after_labels["truncated"] == report.truncated
    assert 0 < first_actors < report.actors and 0 < after_labels["actors"] <= report.actors


async def test_nothing_changed_searches_nothing(pool: asyncpg.Pool, tmp_path: Path) -> None:
    await index_files(pool, write_blk_files(tmp_path / "a", BLOCKS[:2]), kind="raw")
    await import_labels(pool, await write_labels(pool, tmp_path / "labels.csv", _BUSY, 0, "actor"))
    report = await refresh_exposure(pool)
    assert (report.mode, report.actors) == ("incremental", 0)
    assert report.exposures > 0
