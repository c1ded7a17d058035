"""The staged pipeline on a generated chain: process-pool parsing, headers recognised, rows as a clean run."""

from __future__ import annotations

import asyncpg

from indexer.conftest import Snapshot, snapshot
from tracer.devnode.bitcoin_replay import ReplayNode
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
