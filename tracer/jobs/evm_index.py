"""Index an EVM chain (Ethereum, or TRON over its JSON-RPC or its HTTP API) from a node into PostgreSQL,
resuming from the cursor; or keep following the tip. The work is the indexer core
(``tracer.indexer.pipeline.Indexer``) with ``tracer.indexer.evm.EvmAdapter`` (or
``tracer.indexer.tron.TronHttpAdapter``) and the per-(chain, source) cursor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import asyncpg

from chains.errors import ChainError
from chains.model import Chain
from tracer.errors import InputError, SourceError
from tracer.indexer.evm import AccountAdapter, EvmAdapter, open_evm_adapter
from tracer.indexer.pipeline import Indexer, RunOptions
from tracer.indexer.position import CursorPosition
from tracer.indexer.report import IndexReport
from tracer.store.chaindata import read_cursor
from tracer.store.transfers import AccountRows

if TYPE_CHECKING:  # imported when used: TRON's HTTP API client brings aiohttp, a start-up cost
    from tracer.indexer.tron import TronHttpAdapter

log = logging.getLogger(__name__)

FOLLOW_POLL_SECONDS = 2.0  # between tip checks when following; Ethereum makes a block every 12 s, TRON 3 s


@dataclass(frozen=True, slots=True)
class EvmJob:
    rpc_url: str
    chain: Chain
    options: RunOptions = field(default_factory=RunOptions)
    chain_id: int | None = None  # None: the chain's mainnet id
    traces: bool = True
    issuers: Mapping[str, str] | None = None  # None: the known stablecoin issuers of the chain
    tron_http: bool = False  # rpc_url is TRON's HTTP API (wallet/getblockbynum ...), not JSON-RPC


@contextlib.asynccontextmanager
async def _adapter(job: EvmJob) -> AsyncIterator[EvmAdapter | TronHttpAdapter]:
    try:
        if job.tron_http:
            if job.chain is not Chain.TRON:
                raise InputError("--tron-api reads TRON only: give --chain tron")
            from tracer.indexer.tron import open_tron_http_adapter

            async with open_tron_http_adapter(job.rpc_url, issuers=job.issuers) as tron:
                yield tron
            return
        async with open_evm_adapter(
            job.rpc_url, job.chain, chain_id=job.chain_id, traces=job.traces, issuers=job.issuers
        ) as adapter:
            yield adapter
    except ChainError as exc:
        raise SourceError(f"node: {exc}") from exc


async def index_evm(
    pool: asyncpg.Pool,
    job: EvmJob,
    *,
    start: int | None = None,
    stop: int | None = None,
    follow: bool = False,
    stop_event: asyncio.Event | None = None,
) -> IndexReport:
    """Index ``start..stop`` (defaults: the cursor or genesis, the node's tip). With ``follow``, keep indexing
    new blocks until ``stop_event`` is set."""
    total = IndexReport()
    clock = time.perf_counter()
    stop_event = stop_event or asyncio.Event()
    async with _adapter(job) as adapter:
        indexer: Indexer[Any, AccountRows] = Indexer(pool, adapter, options=job.options, stop=stop_event)
        position = CursorPosition(adapter.chain, adapter.source)
        first = start if start is not None else (await read_cursor(pool, adapter.chain, adapter.source) or 0)
        while True:
            tip = await _tip(adapter)
            last = tip if stop is None else stop
            if stop is not None and last > tip and not follow:
                raise InputError(f"--to {last} is beyond the node's tip {tip}")
            last = min(last, tip)
            if first <= last:
                total.merge(await indexer.run(first, last, position))
                await _refresh_exposure_for_labels(pool, adapter)
                first = await read_cursor(pool, adapter.chain, adapter.source) or first
            if not follow or stop_event.is_set() or (stop is not None and first > stop):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), FOLLOW_POLL_SECONDS)
            if stop_event.is_set():
                break
    total.seconds = time.perf_counter() - clock
    log.info("indexed %s from node", job.chain.value, extra=total.as_dict())
    return total


async def _refresh_exposure_for_labels(pool: asyncpg.Pool, adapter: AccountAdapter) -> None:
    """Freeze labels the run wrote reach screening now: screening reads the precomputed exposure (wallet
    labels, exposure to labelled actors), which label imports and clustering refresh the same way."""
    if adapter.labels_changed:
        # Imported here: it brings the risk rules, a start-up cost every index run would pay otherwise.
        from tracer.store.exposure_refresh import refresh_exposure

        await refresh_exposure(pool, adapter.chain)
        adapter.labels_changed = False


async def _tip(adapter: EvmAdapter | TronHttpAdapter) -> int:
    try:
        return await adapter.tip_height()
    except ChainError as exc:
        raise SourceError(f"node: {exc}") from exc
