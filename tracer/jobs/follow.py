"""Index from a live node (Bitcoin Core JSON-RPC or Esplora), resuming from the cursor in PostgreSQL; or keep
following its tip.

The same code path serves a production node (TRACER_BTC_RPC_URL / TRACER_ESPLORA_URL) and the local replay
node of recorded mainnet blocks used by the tests and the demo. The work itself is the indexer core
(``tracer.indexer.pipeline.Indexer``) with the Bitcoin adapter and the per-source cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from chains.errors import ChainError
from chains.transport import DEFAULT_TIMEOUT_S
from tracer.errors import InputError, SourceError
from tracer.indexer.bitcoin import BitcoinAdapter, open_adapter
from tracer.indexer.pipeline import DEFAULT_BATCH_BLOCKS, Indexer, RunOptions, tip_lag
from tracer.indexer.position import CursorPosition
from tracer.indexer.progress import Progress
from tracer.indexer.report import IndexReport
from tracer.metrics import IndexerMetrics
from tracer.store.chaindata import BlockRows, read_cursor
from tracer.store.errors import translate_errors

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 5.0  # between tip checks when following; Bitcoin blocks come every ~600 s
DEFAULT_CONFIRMATIONS = 0  # blocks below the tip left alone when following (reorgs are handled anyway)


@dataclass(frozen=True, slots=True)
class NodeJob:
    """What every node index shares: where the node is, how to run the stages, what to report to."""

    rpc_url: str | None = None
    esplora_url: str | None = None
    options: RunOptions = field(default_factory=RunOptions)
    metrics: IndexerMetrics | None = None
    progress: bool | None = False  # None: a bar when stderr is a terminal
    stop: asyncio.Event | None = None
    request_seconds: float = DEFAULT_TIMEOUT_S  # per node request
    blocks_dir: Path | None = None  # Bitcoin Core's blocks/ directory instead of a node
    rest: bool = False  # with rpc_url: blocks from the node's REST interface (``bitcoind -rest``)


async def index_from_node(
    pool: asyncpg.Pool,
    *,
    rpc_url: str | None = None,
    esplora_url: str | None = None,
    start: int | None = None,
    stop: int | None = None,
    batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    reindex: bool = False,
    parse_workers: int | None = None,
    bulk: bool | None = None,
    rest: bool = False,
) -> IndexReport:
    """Index heights ``start..stop`` (defaults: the cursor, the node's tip) in batches of one transaction;
    blocks stored with the same hash are kept unless ``reindex``."""
    job = NodeJob(
        rpc_url,
        esplora_url,
        RunOptions(batch_blocks, parse_workers=parse_workers, reindex=reindex, bulk=bulk),
        rest=rest,
    )
    return await run_node_job(pool, job, start=start, stop=stop)


async def run_node_job(
    pool: asyncpg.Pool, job: NodeJob, *, start: int | None = None, stop: int | None = None
) -> IndexReport:
    async with open_adapter(
        job.rpc_url,
        job.esplora_url,
        blocks_dir=job.blocks_dir,
        request_seconds=job.request_seconds,
        rest=job.rest,
    ) as adapter:
        indexer = make_indexer(pool, adapter, job)
        first, last = await bounds(pool, adapter, indexer, start, stop)
        progress = Progress(last - first + 1, bar=job.progress) if job.progress is not False else None
        report = await indexer.run(first, last, CursorPosition(adapter.chain, adapter.source), progress)
        if progress is not None:
            progress.close()
    log.info("indexed from node", extra=report.as_dict())
    return report


async def follow_node(
    pool: asyncpg.Pool,
    job: NodeJob,
    *,
    start: int | None = None,
    confirmations: int = DEFAULT_CONFIRMATIONS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> IndexReport:
    """Index up to ``tip - confirmations``, then keep polling the tip and index what comes, until
    ``job.stop`` is set (SIGTERM/SIGINT): the batch being written commits, then this returns."""
    stop = job.stop or asyncio.Event()
    job = dataclasses.replace(job, stop=stop)
    total = IndexReport()
    async with open_adapter(
        job.rpc_url,
        job.esplora_url,
        blocks_dir=job.blocks_dir,
        request_seconds=job.request_seconds,
        rest=job.rest,
    ) as adapter:
        indexer = make_indexer(pool, adapter, job)
        position = CursorPosition(adapter.chain, adapter.source)
        next_height = await first_height(pool, adapter, start)
        while not stop.is_set():
            target = await node_tip(indexer, next_height) - confirmations
            if next_height <= target:
                progress = (
                    Progress(target - next_height + 1, bar=job.progress)
                    if job.progress is not False
                    else None
                )
                report = await indexer.run(next_height, target, position, progress)
                if progress is not None:
                    progress.close()
                total.merge(report)
                if report.blocks or report.unchanged:
                    log.info("followed to height", extra={"height": target, **report.as_dict()})
                next_height = await read_cursor(pool, adapter.chain, adapter.source) or next_height
                continue
            if await _tip_replaced(pool, indexer, next_height - 1):
                next_height -= 1  # index our tip height again: the write stage walks back to the fork
                continue
            await _sleep_unless(stop, poll_seconds)
    return total


def make_indexer(pool: asyncpg.Pool, adapter: BitcoinAdapter, job: NodeJob) -> Indexer[bytes, BlockRows]:
    return Indexer(pool, adapter, options=job.options, metrics=job.metrics, stop=job.stop)


async def first_height(pool: asyncpg.Pool, adapter: BitcoinAdapter, start: int | None) -> int:
    if start is not None:
        return start
    cursor = await read_cursor(pool, adapter.chain, adapter.source)
    return cursor if cursor is not None else adapter.lowest_height()


async def bounds(
    pool: asyncpg.Pool,
    adapter: BitcoinAdapter,
    indexer: Indexer[bytes, BlockRows],
    start: int | None,
    stop: int | None,
) -> tuple[int, int]:
    """The heights to index: from ``start`` (default: the cursor) to ``stop`` (default: the node's tip)."""
    first = await first_height(pool, adapter, start)
    tip = await node_tip(indexer, first)
    last = tip if stop is None else stop
    if last > tip:
        raise InputError(f"--to {last} is beyond the node's tip {tip}")
    return first, last


async def node_tip(indexer: Indexer[bytes, BlockRows], next_height: int) -> int:
    try:
        return await tip_lag(indexer, next_height)
    except ChainError as exc:
        indexer.metrics.node_errors.labels(indexer.adapter.chain, type(exc).__name__).inc()
        raise SourceError(f"node: {exc}") from exc


async def _tip_replaced(pool: asyncpg.Pool, indexer: Indexer[bytes, BlockRows], height: int) -> bool:
    """Whether the node's block at our tip height is not ours (a reorg that did not lengthen the chain)."""
    if height < 0:
        return False
    try:
        theirs = await indexer.adapter.block_hash(height)
    except ChainError as exc:
        raise SourceError(f"node: {exc}") from exc
    async with translate_errors(), pool.acquire() as conn:
        ours = (await indexer.adapter.stored_hashes(conn, height, height)).get(height)
    return ours is not None and ours != theirs


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def contiguous_runs(heights: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted heights as (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for height in heights:
        if runs and runs[-1][1] == height - 1:
            runs[-1] = (runs[-1][0], height)
        else:
            runs.append((height, height))
    return runs
