"""A height range indexed by several worker processes sharing it through leases (``--workers N``,
``--shared``). Every worker runs ``run_shared_node_job`` with the same bounds; planning and finishing are
idempotent, so it does not matter which worker starts first or ends last."""

from __future__ import annotations

import dataclasses
import logging

import asyncpg

from tracer.errors import InputError
from tracer.indexer.bitcoin import open_adapter
from tracer.indexer.leases import (
    DEFAULT_LEASE_SECONDS,
    DEFAULT_RANGE_BLOCKS,
    forget_done,
    open_chunks,
    plan_ranges,
)
from tracer.indexer.report import IndexReport
from tracer.indexer.workers import work_shared
from tracer.jobs.follow import NodeJob, bounds, make_indexer
from tracer.store.chaindata import move_cursor, read_cursor
from tracer.store.errors import translate_errors

log = logging.getLogger(__name__)


async def plan_shared(
    pool: asyncpg.Pool,
    job: NodeJob,
    *,
    start: int | None = None,
    stop: int | None = None,
    range_blocks: int = DEFAULT_RANGE_BLOCKS,
) -> tuple[int, int]:
    """Resolve the bounds (defaults: the cursor, the node's tip) and plan their chunks; returns them."""
    async with open_adapter(
        job.rpc_url,
        job.esplora_url,
        blocks_dir=job.blocks_dir,
        request_seconds=job.request_seconds,
        rest=job.rest,
    ) as adapter:
        indexer = make_indexer(pool, adapter, job)
        first, last = await bounds(pool, adapter, indexer, start, stop)
        if first > last:
            raise InputError(f"nothing to index: from {first} to {last}")
        async with translate_errors():
            await plan_ranges(pool, adapter.chain, adapter.source, first, last, size=range_blocks)
    return first, last


async def run_shared_node_job(
    pool: asyncpg.Pool,
    job: NodeJob,
    *,
    first: int,
    last: int,
    range_blocks: int = DEFAULT_RANGE_BLOCKS,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> IndexReport:
    """Work on the chunks of ``first..last`` until all are done; the worker that sees them all done moves
    the cursor past ``last``."""
    async with open_adapter(
        job.rpc_url,
        job.esplora_url,
        blocks_dir=job.blocks_dir,
        request_seconds=job.request_seconds,
        rest=job.rest,
    ) as adapter:
        chain, source = adapter.chain, adapter.source
        async with translate_errors():
            await plan_ranges(pool, chain, source, first, last, size=range_blocks)
        # Several writers: no deferred checks (one worker's rebuild would race another's writes).
        options = dataclasses.replace(job.options, bulk=False)
        async with make_indexer(pool, adapter, dataclasses.replace(job, options=options)) as indexer:
            report = await work_shared(indexer, lease_seconds=lease_seconds)
        if await open_chunks(pool, chain, source) == 0:
            await _finish(pool, chain, source, first, last)
    log.info("shared index worker done", extra=report.as_dict())
    return report


async def _finish(pool: asyncpg.Pool, chain: str, source: str, first: int, last: int) -> None:
    async with translate_errors(), pool.acquire() as conn, conn.transaction():
        cursor = await read_cursor(conn, chain, source)
        if cursor is None or first <= cursor <= last:
            await move_cursor(conn, chain, source, last + 1)
    await forget_done(pool, chain, source)
