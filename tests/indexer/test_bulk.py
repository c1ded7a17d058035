"""The first-pass mode (``--bulk``: foreign keys and address indexes deferred to the end of the run) killed
-9 mid-range and resumed, with or without ``--bulk``: the rows end exactly as one clean run's, and the
schema ends with every check and index it started with."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot, start_tracer
from indexer.test_workers import finish, index_args, wait_for
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode

_SCHEMA = """
SELECT 'constraint:' || conname FROM pg_constraint
WHERE conrelid = ANY('{addresses,transactions,tx_outputs,tx_inputs}'::regclass[])
UNION ALL
SELECT 'index:' || indexname FROM pg_indexes
WHERE tablename IN ('addresses', 'transactions', 'tx_outputs', 'tx_inputs')
ORDER BY 1
"""


async def schema(pool: asyncpg.Pool) -> list[str]:
    return [row[0] for row in await pool.fetch(_SCHEMA)]


@pytest.mark.slow
@pytest.mark.parametrize("resume_bulk", [True, False])
async def test_bulk_run_killed_then_resumed_gives_the_clean_rows_and_schema(
    resume_bulk: bool,
    *,
    pool: asyncpg.Pool,
    settings: Settings,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    first, last = chain_range
    full_schema = await schema(pool)
    run = start_tracer(*index_args(chain_node, first, last, "--batch", "1", "--bulk"), settings=settings)
    await wait_for(pool, "SELECT next_height FROM index_cursors WHERE next_height > $1", first + 3)
    run.kill()
    assert (await asyncio.to_thread(finish, run))[0] == -signal.SIGKILL
    deferred = await pool.fetchval("SELECT count(*) FROM bulk_load_dropped")
    # transactions->blocks, outputs and inputs ->transactions and ->addresses; 4 indexes (address ids,
    # spent outpoints, transactions by block); the unique keys of (chain, address) and of txids, the primary
    # keys of outputs and inputs
    assert deferred == 13
    names = {row[0] for row in await pool.fetch("SELECT name FROM bulk_load_dropped")}
    # each deferred item is gone from the schema (a unique key: its constraint and its index)
    assert await schema(pool) == [item for item in full_schema if item.split(":", 1)[1] not in names]

    resume = ["-v", "index", "bitcoin", "--rpc", chain_node.rpc_url, "--to", str(last)]
    resumed = start_tracer(*resume, *(["--bulk"] if resume_bulk else []), settings=settings)
    code, _, err = await asyncio.to_thread(finish, resumed)
    assert code == 0, err
    if resume_bulk:  # its cache starts empty: it looked up the killed run's outputs, through their keys
        assert "a writer rebuilt deferred keys" in err
    assert await snapshot(pool) == clean_rows
    assert await schema(pool) == full_schema
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0


async def test_bulk_refused_with_follow_or_workers(settings: Settings, chain_node: ReplayNode) -> None:
    for extra in (["--follow"], ["--workers", "2"]):
        run = start_tracer(
            "index", "bitcoin", "--rpc", chain_node.rpc_url, "--bulk", *extra, settings=settings
        )
        code, _, err = await asyncio.to_thread(finish, run)
        assert code != 0
        assert "--bulk is for one writer" in err
        assert "Traceback" not in err
