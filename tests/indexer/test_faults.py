"""A node that misbehaves (each fault kind the replay node injects) or reorganises its tip under a follower:
the index ends with exactly the rows of a clean run."""

from __future__ import annotations

import asyncpg
import pytest

from indexer.conftest import Snapshot, follow_through_reorg, snapshot
from tracer.devnode.bitcoin_replay import serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.devnode.faults import FAULT_KINDS, FaultPlan
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.follow import NodeJob, run_node_job

FAULT_RATE = 0.3  # of JSON-RPC (and Core REST) requests; the client retries each up to 5 times
STALL_S = 1.5  # a stalled answer comes after this; the client gives up after REQUEST_S
REQUEST_S = 0.5


@pytest.mark.slow
@pytest.mark.parametrize("rest", [False, True], ids=["rpc", "rest"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
async def test_each_fault_kind_ends_with_the_clean_rows(
    kind: str,
    rest: bool,
    *,
    pool: asyncpg.Pool,
    chain_store: ReplayStore,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    first, last = chain_range
    faults = FaultPlan(rate=FAULT_RATE, kinds=(kind,), seed=11, stall_seconds=STALL_S, retry_after_seconds=0)
    async with serve_replay(chain_store, faults=faults) as node:
        job = NodeJob(
            rpc_url=node.rpc_url, options=RunOptions(batch_blocks=2), request_seconds=REQUEST_S, rest=rest
        )
        report = await run_node_job(pool, job, start=first, stop=last)
    assert faults.counts.get(kind, 0) >= 3  # the faults did happen
    assert report.blocks == last - first + 1
    assert await snapshot(pool) == clean_rows


@pytest.mark.parametrize("depth", [1, 6])
async def test_follower_sees_the_node_switch_branches_at_the_same_height(
    depth: int,
    *,
    pool: asyncpg.Pool,
    chain_store: ReplayStore,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    """The replay node serves a stale branch of ``depth`` top blocks, then the real chain (same height):
    only the hash at our tip tells. The follower must replace what it stored of the stale branch."""
    first, last = chain_range
    report = await follow_through_reorg(
        pool, chain_store, depth=depth, start=first, batch_blocks=4, seconds=120
    )
    # Our tip was rewritten in place; each stale parent below it was found and dropped by the walk-back.
    assert report.reorgs == depth - 1
    assert report.heights.count(last) == 2  # once from the stale branch, once from the real chain
    assert report.heights[-depth:] == list(range(last - depth + 1, last + 1))
    assert await snapshot(pool) == clean_rows
