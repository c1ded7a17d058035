"""The staged pipeline on a generated chain: process-pool parsing, headers recognised, rows as a clean run."""

from __future__ import annotations

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot
from tracer.devnode.bitcoin_replay import ReplayNode
from tracer.indexer import pipeline
from tracer.jobs.follow import index_from_node


async def test_process_pool_run_gives_the_clean_rows(
    pool: asyncpg.Pool, chain_node: ReplayNode, chain_range: tuple[int, int], clean_rows: Snapshot
) -> None:
    first, last = chain_range
    report = await index_from_node(
        pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4, parse_workers=2
    )
    assert (report.blocks, report.txs) == (last - first + 1, 9_000)
    assert await snapshot(pool) == clean_rows
    again = await index_from_node(pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4)
    assert (again.blocks, again.unchanged) == (0, last - first + 1)
    assert "already stored" in again.summary()


async def test_bitcoin_runs_freeze_each_batchs_survivors(
    pool: asyncpg.Pool,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its unspent-output and address-id caches grow with every batch: full collections would walk
    them again and again, so each committed batch's survivors are frozen."""
    frozen: list[int] = []
    monkeypatch.setattr(pipeline, "_freeze_survivors", lambda: frozen.append(1))
    first, _ = chain_range
    await index_from_node(pool, rpc_url=chain_node.rpc_url, start=first, stop=first + 7, batch_blocks=4)
    assert len(frozen) == 2
