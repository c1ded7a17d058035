"""Indexer tests: a generated mainnet-shaped chain (bench.chaingen: real serialization and hashes) served by
the replay node over real HTTP, indexed into real PostgreSQL, compared row for row with a clean run."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import asyncpg
import pytest

from bench.chaingen import generate_blocks
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode, serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.devnode.faults import ReorgPlan
from tracer.indexer.pipeline import RunOptions
from tracer.indexer.report import IndexReport
from tracer.jobs.follow import NodeJob, follow_node, index_from_node
from tracer.store.pool import open_pool

CHAIN_TXS = 9_000  # transactions in the generated chain: 31 blocks (a funding block, then 300 a block)
TXS_PER_BLOCK = 300
SEED = 7
TRACER = [sys.executable, "-m", "tracer.cli"]

Snapshot = dict[str, list[tuple[object, ...]]]

# Everything a run writes, keyed by content rather than by generated ids (tx ids, address ids differ
# between runs by design): the same rows in the same tables, or not.
_SNAPSHOT_QUERIES = {
    "blocks": "SELECT height, hash, prev_hash, tx_count FROM blocks ORDER BY height",
    "transactions": """SELECT txid, block_height, position, version, locktime, size, vsize, is_coinbase,
                              input_count, output_count, output_value FROM transactions
                       ORDER BY txid, block_height""",
    # (txid, block height) names a transaction: a txid can repeat in another block (BIP30, migration 029)
    "outputs": """SELECT t.txid, t.block_height, o.vout, a.address, o.value, o.script_type
                  FROM tx_outputs o JOIN transactions t ON t.id = o.tx_id
                  LEFT JOIN addresses a ON a.id = o.address_id ORDER BY 1, 2, 3""",
    "inputs": """SELECT t.txid, t.block_height, i.vin, i.prev_txid, i.prev_vout, i.sequence, a.address,
                        i.value, i.script_type, i.source
                 FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
                 LEFT JOIN addresses a ON a.id = i.address_id ORDER BY 1, 2, 3""",
    "addresses": "SELECT address FROM addresses ORDER BY address",
}


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def snapshot(pool: asyncpg.Pool) -> Snapshot:
    return {name: [tuple(r) for r in await pool.fetch(sql)] for name, sql in _SNAPSHOT_QUERIES.items()}


def store_of(raws: Iterable[bytes]) -> ReplayStore:
    store = ReplayStore()
    for raw in raws:
        store.add_raw(raw, "chaingen")
    store._assign_heights({})
    return store


@pytest.fixture(scope="session")
def chain_blocks() -> list[bytes]:
    return list(generate_blocks(CHAIN_TXS, seed=SEED, txs_per_block=TXS_PER_BLOCK))


@pytest.fixture(scope="session")
def chain_store(chain_blocks: list[bytes]) -> ReplayStore:
    return store_of(chain_blocks)


@pytest.fixture
async def chain_node(chain_store: ReplayStore) -> AsyncIterator[ReplayNode]:
    async with serve_replay(chain_store) as node:
        yield node


@pytest.fixture(scope="session")
def chain_range(chain_store: ReplayStore) -> tuple[int, int]:
    return min(chain_store.by_height), max(chain_store.by_height)


@pytest.fixture(scope="session")
async def clean_rows(pg_server_url: str, template_url: str, chain_store: ReplayStore) -> Snapshot:
    """The rows of one uninterrupted single-process run (parsing in a thread): what every other way of
    indexing the chain must end with."""
    name = f"clean_{uuid.uuid4().hex[:8]}"
    head, _, query = template_url.partition("?")
    template = head.rsplit("/", 1)[1]
    await _admin(pg_server_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    url = head.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")
    try:
        async with open_pool(Settings(database_url=url)) as pool, serve_replay(chain_store) as node:
            first, last = min(chain_store.by_height), max(chain_store.by_height)
            await index_from_node(pool, rpc_url=node.rpc_url, start=first, stop=last, parse_workers=0)
            rows = await snapshot(pool)
    finally:
        await _admin(pg_server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    assert len(rows["transactions"]) == CHAIN_TXS
    return rows


def start_tracer(*args: str, settings: Settings) -> subprocess.Popen[str]:
    """A real ``tracer`` process on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env["TRACER_HOME"] = str(settings.home)
    assert settings.database_url is not None
    env["TRACER_DATABASE_URL"] = settings.database_url
    return subprocess.Popen(
        [*TRACER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


async def follow_through_reorg(
    pool: asyncpg.Pool, store: ReplayStore, *, depth: int, start: int, batch_blocks: int, seconds: float
) -> IndexReport:
    """Follow a replay node that serves a stale branch of its top ``depth`` blocks, then the real chain
    (same height: only the hash at our tip tells), until our tip is the real one or ``seconds`` passed;
    the follower's report."""
    tip = max(store.by_height)
    real_tip = store.by_height[tip]
    stop = asyncio.Event()
    async with serve_replay(store, reorg=ReorgPlan(depth=depth, after_requests=40)) as node:
        job = NodeJob(rpc_url=node.rpc_url, options=RunOptions(batch_blocks=batch_blocks), stop=stop)
        following = asyncio.create_task(follow_node(pool, job, start=start, poll_seconds=0.05))
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            stored = await pool.fetchval("SELECT encode(hash, 'hex') FROM blocks WHERE height = $1", tip)
            if stored == real_tip:
                break
            await asyncio.sleep(0.05)
        stop.set()
        return await asyncio.wait_for(following, seconds)
