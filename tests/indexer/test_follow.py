"""Follow mode picks up blocks as the node gets them; SIGTERM finishes the batch being written, commits,
exits 0. (Reorgs under a follower: test_faults.py, with the replay node's scripted branch switch.)"""

from __future__ import annotations

import asyncio
import signal
import time

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot, start_tracer, store_of
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode, serve_replay
from tracer.jobs.follow import NodeJob, follow_node
from tracer.metrics import IndexerMetrics

DEADLINE_S = 120.0


async def cursor(pool: asyncpg.Pool) -> int | None:
    value = await pool.fetchval("SELECT next_height FROM index_cursors WHERE source = 'rpc'")
    return None if value is None else int(value)


async def until_cursor(pool: asyncpg.Pool, at_least: int) -> int:
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_S:
        now = await cursor(pool)
        if now is not None and now >= at_least:
            return now
        await asyncio.sleep(0.02)
    raise AssertionError(f"cursor never reached {at_least}")


async def test_follow_picks_up_new_blocks_until_stopped(
    pool: asyncpg.Pool, chain_blocks: list[bytes], chain_range: tuple[int, int], clean_rows: Snapshot
) -> None:
    first, last = chain_range
    store = store_of(chain_blocks[:20])  # the node knows 20 blocks; the rest "arrive" while we follow
    stop = asyncio.Event()
    metrics = IndexerMetrics.create()
    async with serve_replay(store) as node:
        job = NodeJob(rpc_url=node.rpc_url, metrics=metrics, stop=stop)
        following = asyncio.create_task(follow_node(pool, job, start=first, poll_seconds=0.05))
        await until_cursor(pool, first + 20)
        for raw in chain_blocks[20:]:
            store.add_raw(raw, "arrived")
        store._assign_heights({})
        await until_cursor(pool, last + 1)
        assert metrics.registry.get_sample_value("tracer_index_tip_lag_blocks", {"chain": "bitcoin"}) == 0
        stop.set()
        report = await asyncio.wait_for(following, DEADLINE_S)
    assert report.blocks == last - first + 1
    assert metrics.registry.get_sample_value("tracer_index_txs_total", {"chain": "bitcoin"}) == 9_000
    assert await snapshot(pool) == clean_rows


@pytest.mark.slow
async def test_sigterm_commits_the_batch_being_written_and_exits_0(
    pool: asyncpg.Pool, settings: Settings, chain_node: ReplayNode, chain_range: tuple[int, int]
) -> None:
    first, last = chain_range
    args = ["index", "bitcoin", "--rpc", chain_node.rpc_url, "--from", str(first), "--follow", "--batch", "1"]
    run = start_tracer(*args, "--poll-seconds", "0.1", settings=settings)
    await until_cursor(pool, first + 3)
    run.send_signal(signal.SIGTERM)
    out, err = await asyncio.to_thread(run.communicate, timeout=DEADLINE_S)
    assert run.returncode == 0, err
    stopped_at = await cursor(pool)
    assert stopped_at is not None and stopped_at <= last + 1
    heights = [r[0] for r in await pool.fetch("SELECT height FROM blocks ORDER BY height")]
    assert heights == list(range(first, stopped_at))  # whole batches, the cursor right behind them
    assert '"blocks"' in out
