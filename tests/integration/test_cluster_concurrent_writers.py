"""Incremental clustering while several indexer workers write (``--workers N``): nothing committed late is
missed. Each test pauses one party at the exact point where the race lies, with a real PostgreSQL lock held
by the test (no hook in the code under test), and lets the others run meanwhile:

- a batch that drew its transaction ids and has not committed, while a later batch and a clustering run go
  on: ids must follow commit order, or the paused batch's transactions end below the run's watermark;
- a clustering run that has read its transactions and has not committed, while a batch commits and resolves
  inputs of transactions that run has read: those inputs must stay queued for the next run;
- a clustering run that has taken its snapshot, while a reorg commits: the run's writes conflict with it
  (SQLSTATE 40001), and the run starts again on a snapshot that sees the reorg.

Either way, the next incremental run must end where a full recompute ends, and no input stays unresolved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest

from integration.test_cluster_incremental import BLOCKS, aggregates, decisions, index_part, membership
from tracer.indexer.bitcoin import parse_block
from tracer.jobs.cluster import ClusterOptions, run_clustering
from tracer.store.addresses import AddressIds
from tracer.store.chaindata import ChainWriter, delete_from_height

COMMON = ClusterOptions(heuristics=("common_input",))
BASE, LOWER = 3, 6  # blocks [0, BASE) indexed first; [BASE, LOWER) the lower batch; the rest the upper one
WAIT_S = 60.0


async def wait_until(done: Callable[[], bool], probe: asyncpg.Connection, sql: str, *args: object) -> None:
    """Poll ``sql`` on ``probe`` until it returns true, or ``done()`` (the task waited for ended)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not done() and not await probe.fetchval(sql, *args):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {sql}")
        await asyncio.sleep(0.02)


_WAITS_ON_A_LOCK = (
    "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock')"
)


async def write_batch(conn: asyncpg.Connection, first: int, raw: list[bytes]) -> None:
    """What one indexer worker writes for a batch of its lease: blocks from ``first`` on, one transaction."""
    async with conn.transaction():
        await ChainWriter("bitcoin", "workers").write(
            conn, [parse_block(b, first + i) for i, b in enumerate(raw)]
        )


async def register_addresses(pool: asyncpg.Pool, raw: list[bytes]) -> None:
    """Store the addresses first, so that two open batches never wait on each other's new address rows."""
    parsed = [parse_block(b, i) for i, b in enumerate(raw)]
    found = {o[2] for b in parsed for o in b.outputs if o[2] is not None}
    async with pool.acquire() as conn, conn.transaction():
        await AddressIds("bitcoin").ids(conn, found)


async def same_as_full(pool: asyncpg.Pool) -> None:
    step = await run_clustering(pool, "bitcoin", COMMON)
    assert step.mode == "incremental"
    incremental = (await membership(pool), await decisions(pool), await aggregates(pool))
    full = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",), full=True))
    assert full.mode == "full"
    assert (await membership(pool), await decisions(pool), await aggregates(pool)) == incremental
    unresolved = "SELECT count(*) FROM tx_inputs WHERE value IS NULL AND prev_txid IS NOT NULL"
    assert await pool.fetchval(unresolved) == 0


@pytest.mark.slow
async def test_a_batch_that_drew_ids_first_and_commits_last_is_clustered(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await index_part(pool, tmp_path / "base", BLOCKS[:BASE])
    await run_clustering(pool, "bitcoin", COMMON)
    await register_addresses(pool, BLOCKS)
    async with (
        pool.acquire() as blocker,
        pool.acquire() as probe,
        pool.acquire() as lower,
        pool.acquire() as upper,
    ):
        held = blocker.transaction()
        await held.start()
        # Holds the lower batch's first block row: that batch stops at its COPY, after drawing its ids.
        await blocker.execute(
            "INSERT INTO blocks (chain, height, hash, prev_hash, time, tx_count, source)"
            " VALUES ('bitcoin', $1, '\\x00', '\\x00', now(), 0, 'test')",
            BASE,
        )
        lower_task = asyncio.ensure_future(write_batch(lower, BASE, BLOCKS[BASE:LOWER]))
        await wait_until(lower_task.done, probe, _WAITS_ON_A_LOCK, lower.get_server_pid())
        upper_task = asyncio.ensure_future(write_batch(upper, LOWER, BLOCKS[LOWER:]))
        await wait_until(upper_task.done, probe, _WAITS_ON_A_LOCK, upper.get_server_pid())
        upper_committed_first = upper_task.done()
        await run_clustering(pool, "bitcoin", COMMON)  # while the lower batch is open
        await held.rollback()
        await asyncio.gather(lower_task, upper_task)
    assert not upper_committed_first  # ids follow commit order: a later batch waits for an open one
    in_lower = """SELECT count(*) FROM merge_evidence e JOIN transactions t ON t.id = e.tx_id
                  WHERE t.block_height >= $1 AND t.block_height < $2"""
    await same_as_full(pool)
    assert await pool.fetchval(in_lower, BASE, LOWER) > 0  # the lower batch's merges are in


@pytest.mark.slow
async def test_inputs_resolved_while_a_run_reads_are_left_for_the_next_run(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await index_part(pool, tmp_path / "base", BLOCKS[:BASE])
    await run_clustering(pool, "bitcoin", COMMON)
    await index_part(pool, tmp_path / "upper", BLOCKS[LOWER:])  # spends outputs not stored yet
    assert await pool.fetchval("SELECT count(*) FROM tx_inputs WHERE source = 'unresolved'") > 0
    async with pool.acquire() as blocker, pool.acquire() as probe:
        held = blocker.transaction()
        await held.start()
        # Reads go on; the run stops at its first write to the clusters, after reading the transactions.
        await blocker.execute("LOCK TABLE clusters IN EXCLUSIVE MODE")
        run = asyncio.ensure_future(run_clustering(pool, "bitcoin", COMMON))
        waiting = (
            """SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = 'clusters'::regclass)"""
        )
        await wait_until(run.done, probe, waiting)
        assert not run.done()
        await index_part(pool, tmp_path / "lower", BLOCKS[BASE:LOWER])  # resolves the upper inputs now
        assert await pool.fetchval("SELECT count(*) FROM cluster_late_inputs") > 0
        await held.rollback()
        assert (await run).mode == "incremental"
    assert await pool.fetchval("SELECT count(*) FROM cluster_late_inputs") > 0  # left for the next run
    await same_as_full(pool)


@pytest.mark.slow
async def test_a_reorg_that_commits_while_a_run_reads_makes_the_run_start_again(
    pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await index_part(pool, tmp_path / "base", BLOCKS[:LOWER])
    await run_clustering(pool, "bitcoin", COMMON)
    await index_part(pool, tmp_path / "upper", BLOCKS[LOWER:])
    cut = await pool.fetchval("SELECT height FROM blocks ORDER BY height OFFSET $1 LIMIT 1", BASE)
    async with pool.acquire() as blocker, pool.acquire() as probe, pool.acquire() as reorg:
        held = blocker.transaction()
        await held.start()
        # The run takes its snapshot (its first read: the chain's extent) and stops at its next one, the
        # cluster state; a reorg then drops blocks that snapshot still holds, and the merges the run goes on
        # to write name transactions that are gone (SQLSTATE 40001 under REPEATABLE READ).
        await blocker.execute("LOCK TABLE cluster_state IN ACCESS EXCLUSIVE MODE")
        run = asyncio.ensure_future(run_clustering(pool, "bitcoin", COMMON))
        waiting = """SELECT EXISTS (SELECT 1 FROM pg_locks
                                    WHERE NOT granted AND relation = 'cluster_state'::regclass)"""
        await wait_until(run.done, probe, waiting)
        async with reorg.transaction():
            assert await delete_from_height(reorg, "bitcoin", cut) == len(BLOCKS) - BASE
        await held.rollback()
        report = await run
    assert [r.sqlstate for r in caplog.records if hasattr(r, "sqlstate")] == ["40001"]  # the race did happen
    assert report.mode == "full"  # started again on a snapshot without the dropped blocks' evidence
    after_reorg = (await membership(pool), await decisions(pool), await aggregates(pool))
    full = await run_clustering(pool, "bitcoin", ClusterOptions(heuristics=("common_input",), full=True))
    assert (await membership(pool), await decisions(pool), await aggregates(pool)) == after_reorg
    assert full.txs_examined > 0
    assert await pool.fetchval("SELECT count(*) FROM blocks") == BASE
