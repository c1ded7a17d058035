"""Index from a live node (Bitcoin Core JSON-RPC or Esplora), resuming from the cursor in PostgreSQL.

The same code path serves a production node (TRACER_BTC_RPC_URL / TRACER_ESPLORA_URL) and the local replay
node of recorded mainnet blocks used by the tests and the demo.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence

import asyncpg

from chains.bitcoin.esplora import EsploraNode
from chains.bitcoin.node import BitcoinNode, BitcoinRpcNode
from chains.errors import ChainError
from chains.model import Block, Chain
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport
from tracer.errors import InputError, SourceError
from tracer.jobs.index import DEFAULT_BATCH_BLOCKS, IndexReport
from tracer.store.chaindata import CHAIN_TABLES, delete_from_height, move_cursor, read_cursor, write_blocks
from tracer.store.errors import translate_errors
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

# How far back a reorg may reach before we refuse to follow it (blocks). Six confirmations are the usual
# finality rule; the March 2013 fork (BIP50) undid 24 blocks. A walk-back past 100 means a wrong node or
# chain, not a reorg: stop and say so rather than drop more data.
MAX_REORG_DEPTH_BLOCKS = 100


@contextlib.asynccontextmanager
async def open_node(rpc_url: str | None, esplora_url: str | None) -> AsyncIterator[tuple[BitcoinNode, str]]:
    """The node for the given URL, and the cursor name it indexes under ("rpc" or "esplora")."""
    if rpc_url:
        async with HttpTransport(rpc_url) as transport:
            yield BitcoinRpcNode(JsonRpcClient(transport, jsonrpc="1.0")), "rpc"
    elif esplora_url:
        async with EsploraNode(esplora_url) as node:
            yield node, "esplora"
    else:
        raise InputError("no node configured: give --rpc URL or --esplora URL")


async def index_from_node(
    pool: asyncpg.Pool,
    *,
    rpc_url: str | None = None,
    esplora_url: str | None = None,
    start: int | None = None,
    stop: int | None = None,
    batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    reindex: bool = False,
) -> IndexReport:
    """Index heights ``start..stop`` (defaults: the cursor, the node's tip) in batches of one transaction;
    blocks stored with the same hash are kept unless ``reindex``."""
    report = IndexReport()
    clock = time.perf_counter()
    try:
        async with open_node(rpc_url, esplora_url) as (node, source):
            tip = await node.tip_height()
            first = (
                start if start is not None else (await read_cursor(pool, Chain.BITCOIN.value, source) or 0)
            )
            last = tip if stop is None else stop
            if last > tip:
                raise InputError(f"--to {last} is beyond the node's tip {tip}")
            height = first
            while height <= last:
                heights = list(range(height, min(height + batch_blocks, last + 1)))
                blocks = await node.blocks(heights)
                fork = await _drop_stale_branch(pool, blocks[0], source)
                if fork is not None:
                    if first - fork > MAX_REORG_DEPTH_BLOCKS:
                        raise SourceError(f"reorg deeper than {MAX_REORG_DEPTH_BLOCKS} blocks below {first}")
                    height = fork  # our block at `fork` was on a stale branch and is gone: fetch again
                    continue
                async with translate_errors(), pool.acquire() as conn:
                    stats = await write_blocks(
                        conn, blocks, source=source, cursor=(source, heights[-1] + 1), reindex=reindex
                    )
                report.add(stats, blocks)
                height = heights[-1] + 1
    except ChainError as exc:
        raise SourceError(f"node: {exc}") from exc
    await refresh_statistics(pool, CHAIN_TABLES)
    report.seconds = time.perf_counter() - clock
    log.info("indexed from node", extra=report.as_dict())
    return report


async def _drop_stale_branch(pool: asyncpg.Pool, block: Block, source: str) -> int | None:
    """If ``block`` does not extend our stored parent, drop our blocks from the parent's height up (and move
    the cursor back with them, in one transaction); return that height. Walking back one block per call
    finds the fork point."""
    parent = block.height - 1
    if parent < 0:
        return None
    async with translate_errors(), pool.acquire() as conn, conn.transaction():
        stored = await conn.fetchval(
            "SELECT encode(hash, 'hex') FROM blocks WHERE chain = $1 AND height = $2",
            block.chain.value,
            parent,
        )
        if stored is None or stored == block.prev_hash:
            return None
        dropped = await delete_from_height(conn, block.chain.value, parent)
        await move_cursor(conn, block.chain.value, source, parent)
    log.warning(
        "reorg: our block is not the node's parent; dropped our branch",
        extra={"height": parent, "stored": stored, "node_parent": block.prev_hash, "dropped": dropped},
    )
    return parent


def contiguous_runs(heights: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted heights as (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for height in heights:
        if runs and runs[-1][1] == height - 1:
            runs[-1] = (runs[-1][0], height)
        else:
            runs.append((height, height))
    return runs
