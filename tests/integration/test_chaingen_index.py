"""A generated chain loads into PostgreSQL through the file indexer with every input resolved."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from bench.chaingen import index_generated


async def test_generated_chain_indexes_with_every_input_resolved(pool: asyncpg.Pool, tmp_path: Path) -> None:
    report = await index_generated(pool, tmp_path / "blocks", 3_000, seed=3, txs_per_block=600)
    assert (report.blocks, report.txs) == (6, 3_000)
    unresolved = await pool.fetchval(
        "SELECT count(*) FROM tx_inputs WHERE prev_txid IS NOT NULL AND (value IS NULL OR address_id IS NULL)"
    )
    assert unresolved == 0  # every prevout exists earlier in the chain
    assert await pool.fetchval("SELECT count(*) FROM tx_inputs") == report.inputs
