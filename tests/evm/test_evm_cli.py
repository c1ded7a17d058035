"""``tracer index evm`` as a real process against anvil: kill -9 mid-index (a first pass, its checks and
indexes deferred), resume, rows and schema exactly; bad input is one line on stderr and an exit code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from evm.evm_scenario import expected_transfers, run_scenario
from tracer.devnode.evm_anvil import Anvil

TRACER = [sys.executable, "-m", "tracer.cli"]
EMPTY_BLOCKS = 1500  # enough that a batch of 5 blocks at a time is still running when we kill it


def _env(database_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    return env | {"TRACER_HOME": str(home), "TRACER_DATABASE_URL": database_url}


async def _killed_queries_done(pool: asyncpg.Pool) -> None:
    """A backend whose client was killed in the middle of a COMMIT still completes it: wait for the killed
    indexer's last statements to end before reading what it left."""
    active = """SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'"""
    for _ in range(200):
        if not await pool.fetchval(active):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the killed indexer's queries did not end")


async def _cursor(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT coalesce(max(next_height), 0) FROM index_cursors WHERE chain = 'ethereum'"
        )
    )


async def _wait_for_progress(pool: asyncpg.Pool, proc: asyncio.subprocess.Process) -> None:
    """Until the indexer has committed a few batches (polling: the cursor is only visible in the database)."""
    deadline = time.monotonic() + 120
    # Another process's progress, visible only in the database: polling is the way to wait for it.
    while await _cursor(pool) < 50 and time.monotonic() < deadline and proc.returncode is None:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


async def _account_schema(pool: asyncpg.Pool) -> list[str]:
    return [
        row[0]
        for row in await pool.fetch(
            "SELECT 'constraint:' || conname FROM pg_constraint"
            " WHERE conrelid = ANY('{account_txs,transfers,token_events}'::regclass[])"
            " UNION ALL SELECT 'index:' || indexname FROM pg_indexes"
            " WHERE tablename IN ('account_txs', 'transfers', 'token_events') ORDER BY 1"
        )
    ]


@pytest.mark.slow
async def test_kill_9_mid_index_then_resume(
    anvil: Anvil, anvil_url: str, fresh_db: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    full_schema = await _account_schema(pool)
    s = await run_scenario(anvil)
    await anvil.mine(EMPTY_BLOCKS)
    late = await anvil.send(s.owner, s.alice, value=12345)  # a transfer after the gap, in the last block
    tip = await anvil.height()
    args = ["index", "evm", "--rpc", anvil_url, "--chain", "ethereum", "--batch", "5"]
    proc = await asyncio.create_subprocess_exec(
        *TRACER, *args, env=_env(fresh_db, tmp_path), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    await _wait_for_progress(pool, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the indexer and its parser processes, mid-run
    await proc.wait()
    await _killed_queries_done(pool)
    killed_at, stored = await pool.fetchrow(  # one statement: one snapshot
        "SELECT (SELECT coalesce(max(next_height), 0) FROM index_cursors WHERE chain = 'ethereum'),"
        " (SELECT count(*) FROM blocks)"
    )
    assert 0 < killed_at < tip + 1, "the index was not interrupted mid-way"
    assert stored == killed_at  # whole batches only: every stored block is below the cursor
    # A first pass over 1,500+ blocks into an empty store defers the account rows' checks and indexes.
    deferred = await pool.fetchval("SELECT count(*) FROM bulk_load_dropped")
    assert deferred == 15  # 12 foreign keys (4 per table) and 3 indexes
    assert len(await _account_schema(pool)) == len(full_schema) - deferred
    resumed = await asyncio.to_thread(
        subprocess.run,
        [*TRACER, "index", "evm", "--rpc", anvil_url, "--chain", "ethereum", "--batch", "200"],
        env=_env(fresh_db, tmp_path), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["heights"] == [killed_at, tip]
    heights = [r["height"] for r in await pool.fetch("SELECT height FROM blocks ORDER BY height")]
    assert heights == list(range(tip + 1))
    rows = await pool.fetch(
        "SELECT t.kind, k.address, f.address AS f, r.address AS r, t.amount FROM transfers t"
        " JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id"
        " LEFT JOIN tokens k ON k.id = t.asset_id"
    )
    found = [(r["kind"], r["address"], r["f"], r["r"], int(r["amount"])) for r in rows]
    assert len(found) == len(set(found)) == 11  # nothing written twice
    from chains.evm.address import from_hex

    assert set(found) == expected_transfers(s) | {
        ("native", None, from_hex(s.owner), from_hex(s.alice), 12345)
    }
    assert late
    assert await _account_schema(pool) == full_schema  # every deferred check and index is back
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chain", "ethereum"], "needs --rpc URL and --chain"),
        (["--rpc", "http://127.0.0.1:9", "--chain", "ethereum"], "node"),
        (["--rpc", "http://127.0.0.1:9", "--chain", "ethereum", "--from", "-3"], "--from must be at least 0"),
    ],
)
def test_bad_input_is_a_clear_line_and_an_exit_code(
    fresh_db: str, tmp_path: Path, args: list[str], message: str
) -> None:
    done = subprocess.run(
        [*TRACER, "index", "evm", *args], env=_env(fresh_db, tmp_path), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    # The last line says what is wrong (retries of an unreachable node log warnings before it).
    assert message in done.stderr.strip().splitlines()[-1] and "Traceback" not in done.stderr


async def test_wrong_chain_id_is_refused(anvil_url: str, fresh_db: str, tmp_path: Path) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [*TRACER, "index", "evm", "--rpc", anvil_url, "--chain", "tron"],
        env=_env(fresh_db, tmp_path), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "chain id 1, expected 728126428" in done.stderr
