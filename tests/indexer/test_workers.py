"""Several indexer processes sharing one height range through leases, one of them killed -9 mid-range: the
others take its range over, and the rows end exactly as one clean run's. Also a single process killed -9
and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot, start_tracer
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode

# Small batches and chunks, short leases: the range is shared in many pieces and a dead worker's piece is
# taken over within seconds.
SHARED = ("--batch", "1", "--range-blocks", "4", "--lease-seconds", "2", "--parse-workers", "0")
DEADLINE_S = 120.0


def index_args(node: ReplayNode, first: int, last: int, *extra: str) -> list[str]:
    return ["index", "bitcoin", "--rpc", node.rpc_url, "--from", str(first), "--to", str(last), *extra]


async def wait_for(pool: asyncpg.Pool, sql: str, *args: object) -> object:
    """Poll until ``sql`` returns a non-null value; that value."""
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE_S:
        value = await pool.fetchval(sql, *args)
        if value is not None:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for: {sql}")


async def kill_a_worker_mid_range(pool: asyncpg.Pool, exclude: set[int]) -> int:
    """Wait until some worker (not in ``exclude``) committed a batch of a chunk it still holds; kill -9 it."""
    owner = await wait_for(
        pool,
        """SELECT owner FROM index_leases
           WHERE owner IS NOT NULL AND next_height > first_height AND next_height <= last_height
             AND NOT (split_part(owner, ':', 2)::int = ANY($1::int[]))
           LIMIT 1""",
        list(exclude),
    )
    assert isinstance(owner, str)
    pid = int(owner.split(":")[1])
    os.kill(pid, signal.SIGKILL)
    return pid


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=DEADLINE_S)
    return process.returncode, out, err


@pytest.mark.slow
@pytest.mark.parametrize("workers", [2, 3])
async def test_shared_range_with_a_worker_killed_ends_with_the_clean_rows(
    workers: int,
    *,
    pool: asyncpg.Pool,
    settings: Settings,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    first, last = chain_range
    procs = [
        start_tracer(*index_args(chain_node, first, last, "--shared", *SHARED), settings=settings)
        for _ in range(workers)
    ]
    victim = await kill_a_worker_mid_range(pool, exclude=set())
    results = {p.pid: await asyncio.to_thread(finish, p) for p in procs}
    assert results[victim][0] == -signal.SIGKILL
    for pid, (code, _, err) in results.items():
        if pid != victim:
            assert code == 0, err
    assert await snapshot(pool) == clean_rows
    assert await pool.fetchval("SELECT count(*) FROM index_leases") == 0  # the last one out cleaned up
    assert await pool.fetchval("SELECT next_height FROM index_cursors WHERE source = 'rpc'") == last + 1


@pytest.mark.slow
async def test_workers_option_starts_helpers_and_survives_losing_one(
    pool: asyncpg.Pool,
    settings: Settings,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    first, last = chain_range
    parent = start_tracer(*index_args(chain_node, first, last, "--workers", "3", *SHARED), settings=settings)
    await kill_a_worker_mid_range(pool, exclude={parent.pid})  # one of the helpers it started
    code, _, err = await asyncio.to_thread(finish, parent)
    assert code == 0, err
    assert "helper workers exited" in err
    assert await snapshot(pool) == clean_rows


@pytest.mark.slow
async def test_kill_9_mid_index_then_resume_gives_the_clean_rows(
    pool: asyncpg.Pool,
    settings: Settings,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    first, last = chain_range
    run = start_tracer(*index_args(chain_node, first, last, "--batch", "1"), settings=settings)
    await wait_for(pool, "SELECT next_height FROM index_cursors WHERE next_height > $1", first + 3)
    run.kill()
    assert (await asyncio.to_thread(finish, run))[0] == -signal.SIGKILL
    resumed = start_tracer(
        "index", "bitcoin", "--rpc", chain_node.rpc_url, "--to", str(last), settings=settings
    )
    code, _, err = await asyncio.to_thread(finish, resumed)
    assert code == 0, err
    assert await snapshot(pool) == clean_rows
