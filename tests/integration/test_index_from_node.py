"""Indexing from a node over HTTP (the replay node serving recorded mainnet blocks 1-255): the same code
path as a live Bitcoin Core or Esplora. Resume from the cursor, reorg handling, a node that is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tracer.devnode.bitcoin_replay import ReplayNode, serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.errors import InputError, SourceError
from tracer.jobs.follow import index_from_node

BLOCKS_1_255 = Path(__file__).parents[1] / "fixtures" / "bitcoin" / "raw" / "btcd" / "blocks1-256.bz2"


@pytest.fixture(scope="module")
def store() -> ReplayStore:
    return ReplayStore.from_paths([BLOCKS_1_255])


@pytest.fixture
async def node(store: ReplayStore) -> AsyncIterator[ReplayNode]:
    async with serve_replay(store) as running:
        yield running


async def stored_heights(pool: asyncpg.Pool) -> list[int]:
    return [r["height"] for r in await pool.fetch("SELECT height FROM blocks ORDER BY height")]


async def test_resumes_from_the_cursor_after_a_stop(pool: asyncpg.Pool, node: ReplayNode) -> None:
    first = await index_from_node(pool, rpc_url=node.rpc_url, start=1, stop=40, batch_blocks=16)
    assert (first.blocks, first.heights[0], first.heights[-1]) == (40, 1, 40)
    resumed = await index_from_node(pool, rpc_url=node.rpc_url, batch_blocks=64)  # no --from: the cursor
    assert (resumed.heights[0], resumed.heights[-1]) == (41, 255)
    assert await stored_heights(pool) == list(range(1, 256))
    cursor = await pool.fetchval("SELECT next_height FROM index_cursors WHERE source = 'rpc'")
    assert cursor == 256


async def test_a_stale_stored_block_is_replaced_when_the_node_disagrees(
    pool: asyncpg.Pool, node: ReplayNode
) -> None:
    await index_from_node(pool, rpc_url=node.rpc_url, start=1, stop=30)
    real_hash = await pool.fetchval("SELECT encode(hash, 'hex') FROM blocks WHERE height = 25")
    # Make our block 25 a block the node never had: as if we had indexed a branch that lost a reorg.
    await pool.execute("UPDATE blocks SET hash = decode(repeat('ab', 32), 'hex') WHERE height = 25")
    report = await index_from_node(pool, rpc_url=node.rpc_url, start=26, stop=30)
    assert report.heights == list(range(25, 31))  # walked back to the fork and rewrote from there
    assert await pool.fetchval("SELECT encode(hash, 'hex') FROM blocks WHERE height = 25") == real_hash
    assert await stored_heights(pool) == list(range(1, 31))


async def test_esplora_gives_the_same_rows_as_json_rpc(pool: asyncpg.Pool, node: ReplayNode) -> None:
    rpc = await index_from_node(pool, rpc_url=node.rpc_url, start=1, stop=20)
    rows_rpc = await pool.fetch("SELECT encode(txid, 'hex'), block_height FROM transactions ORDER BY 2, 1")
    esplora = await index_from_node(pool, esplora_url=node.esplora_url, start=1, stop=20, reindex=True)
    rows_esplora = await pool.fetch(
        "SELECT encode(txid, 'hex'), block_height FROM transactions ORDER BY 2, 1"
    )
    assert (rpc.txs, esplora.txs) == (20, 20)
    assert rows_rpc == rows_esplora


async def test_asking_beyond_the_tip_is_an_input_error(pool: asyncpg.Pool, node: ReplayNode) -> None:
    with pytest.raises(InputError, match="beyond the node's tip 255"):
        await index_from_node(pool, rpc_url=node.rpc_url, start=250, stop=300)


async def test_a_node_that_is_down_is_a_source_error(pool: asyncpg.Pool, store: ReplayStore) -> None:
    async with serve_replay(store) as running:
        url = running.rpc_url
    with pytest.raises(SourceError, match="node"):  # the port is closed now
        await index_from_node(pool, rpc_url=url, start=1, stop=2)
