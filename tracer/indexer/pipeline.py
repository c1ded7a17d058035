"""The indexer core: fetch -> parse -> write as overlapping asyncio stages with bounded queues.

- fetch (I/O): batches of heights are fetched ahead of the writer, ``fetch_ahead`` batches in flight;
- parse (CPU): each raw block goes to a process pool (``parse_workers`` processes; 0 parses in a thread of
  this process). Blocks already stored with the same hash are recognised from their raw header and never
  parsed;
- write: one transaction per batch, in height order: the adapter's rows, the position (cursor or lease)
  moved in the same transaction, so a kill at any moment leaves whole batches and a resumable position.

Queues between stages hold at most ``fetch_ahead`` batches, so a slow writer stalls parsing, and a slow parse
stalls fetching (back-pressure; memory stays bounded). A reorg (our stored parent is not the node's parent)
drops our block at the parent height in the write transaction and restarts the stages from there; walking
back one block per restart finds the fork point.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic

import asyncpg

from chains.errors import ChainError
from tracer.errors import SourceError
from tracer.indexer.adapter import BatchStats, ChainAdapter, Header, ParsedT, RawT, headers_chain
from tracer.indexer.position import Position
from tracer.indexer.progress import Progress
from tracer.indexer.report import IndexReport
from tracer.metrics import IndexerMetrics
from tracer.store.errors import translate_errors

log = logging.getLogger(__name__)

DEFAULT_BATCH_BLOCKS = 20  # blocks per transaction: big enough for COPY to pay off, small enough to resume
DEFAULT_FETCH_AHEAD = 3  # batches fetched/parsed ahead of the writer
# How far back a reorg may reach before we refuse to follow it (blocks). Six confirmations are the usual
# finality rule; the March 2013 fork (BIP50) undid 24 blocks. A walk-back past 100 means a wrong node or
# chain, not a reorg: stop and say so rather than drop more data.
MAX_REORG_DEPTH_BLOCKS = 100
# Ranges shorter than this many batches parse in a thread: starting worker processes costs more than it saves.
PROCESS_POOL_MIN_BATCHES = 4
PARENT_CHECK_S = 0.5  # how often a parse process checks that its indexer still runs
# Collector thresholds while an adapter without caches runs (CPython's default: 700, 10, 10). Its garbage is
# the JSON of batches, freed by reference counting, and nothing of it is cyclic; the default thresholds ran
# collections over batches in flight every few thousand allocations: ~10 % of the indexer's CPU
# (bench.evm_ingest, 20,003 blocks: 2.5 -> 2.25 s).
SPARSE_GC_THRESHOLDS = (50_000, 50, 1_000)
# Committed batches between two full collections while an adapter with caches runs (``_freeze_survivors``):
# each walks the caches (~1 s once they hold bench.bitcoin_ingest's 1M txs), and the cyclic garbage frozen
# meanwhile waits for it (a class asyncpg makes per COPY: 7-8 a batch, a few kB each).
FULL_COLLECTION_BATCHES = 200
JOBS_PER_WORKER = (
    2  # parse jobs a batch makes per worker process: they share it, and one streams behind the other
)
# The writer's batches commit without waiting for their WAL to be flushed: each batch moves its position
# (cursor or lease) in the same transaction, so what a crash of the server itself (not of the indexer) may
# lose is the last few batches *and* their position, which the next run indexes again; the database stays
# consistent (PostgreSQL's asynchronous commit), and a later synchronous commit (anyone's) flushes ours.
# Measured on the 1M-tx bench chain: ~35 MB of WAL per batch, COMMIT 1.0-5.2 s of the run.
ASYNC_COMMIT = "SET synchronous_commit = off"


@dataclass(frozen=True, slots=True)
class RunOptions:
    batch_blocks: int = DEFAULT_BATCH_BLOCKS
    fetch_ahead: int = DEFAULT_FETCH_AHEAD
    parse_workers: int | None = None  # None: one per core for long ranges, 0 (a thread) for short ones
    reindex: bool = False  # rewrite blocks stored with the same hash
    # The first pass over a long range: checks and secondary indexes deferred to the end of the run
    # (tracer.store.bulkload). None: the adapter decides from the range; False: never (shared ranges).
    bulk: bool | None = None

    def __post_init__(self) -> None:
        if self.batch_blocks < 1 or self.fetch_ahead < 1:
            raise ValueError("batch_blocks and fetch_ahead must be >= 1")
        if self.parse_workers is not None and self.parse_workers < 0:
            raise ValueError("parse_workers must be >= 0")


class Restart(Exception):  # control flow, not an error
    """Start the stages again from ``height`` (a reorg walked back, or the node changed under a batch)."""

    def __init__(self, height: int) -> None:
        super().__init__(height)
        self.height = height


@dataclass(slots=True)
class _Batch(Generic[RawT, ParsedT]):
    heights: list[int]
    headers: list[Header]
    raws: list[RawT]
    # One per height, in order (None: stored with this hash when we looked): a thread parses the whole
    # batch as one job, processes one job per block (``Indexer._submit_all``).
    parsed: asyncio.Future[list[ParsedT | None]]


class Indexer(Generic[RawT, ParsedT]):
    """Runs the stages for one adapter over height ranges. One writer at a time per instance."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        adapter: ChainAdapter[RawT, ParsedT],
        *,
        options: RunOptions | None = None,
        metrics: IndexerMetrics | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.pool = pool
        self.adapter = adapter
        self.options = options or RunOptions()
        self.metrics = metrics or IndexerMetrics.create()
        self.stop = stop or asyncio.Event()  # set it (SIGTERM) to finish the batch being written, then return
        self._parse: Callable[[RawT, int], ParsedT] = adapter.parser()
        self._executor: Executor | None = None
        self._workers = 0  # parse processes of ``_executor``
        self._held = False  # inside ``async with``: one process pool for every run
        self.tip: int | None = None  # the node's tip when last asked (``tip_lag``)
        self._frozen_batches = 0  # committed batches whose survivors ``_freeze_survivors`` froze

    async def __aenter__(self) -> Indexer[RawT, ParsedT]:
        """Keep one parse pool across several ``run`` calls (a worker going from lease to lease)."""
        self._executor = self._make_executor(None)
        self._held = True
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._held = False
        self._close_executor()

    def _close_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def run(
        self, first: int, last: int, position: Position, progress: Progress | None = None
    ) -> IndexReport:
        """Index ``first..last`` (inclusive); returns early, after a committed batch, if ``stop`` is set."""
        report = IndexReport()
        clock = time.perf_counter()
        if not self._held:
            self._executor = self._make_executor(last - first + 1)
        height = first
        async with translate_errors(), self.pool.acquire() as conn:
            await self.adapter.before_run(conn, heights=last - first + 1, bulk=self.options.bulk)
        thresholds, collecting = gc.get_threshold(), gc.isenabled()
        if self.adapter.keeps_caches:
            gc.disable()  # committed batches freeze and collect instead (``_freeze_survivors``)
        else:
            gc.set_threshold(*SPARSE_GC_THRESHOLDS)
        try:
            while height <= last and not self.stop.is_set():
                try:
                    await self._run_stages(height, last, position, report, progress)
                    break
                except Restart as restart:
                    if first - restart.height > MAX_REORG_DEPTH_BLOCKS:
                        raise SourceError(
                            f"reorg deeper than {MAX_REORG_DEPTH_BLOCKS} blocks below {first}"
                        ) from None
                    height = restart.height
        except ChainError as exc:
            self.metrics.node_errors.labels(self.adapter.chain, type(exc).__name__).inc()
            raise SourceError(f"node: {exc}") from exc
        finally:
            gc.unfreeze()
            gc.set_threshold(*thresholds)
            if collecting:
                gc.enable()
            if not self._held:
                self._close_executor()
            async with translate_errors():
                await self.adapter.after_run(self.pool)
        report.seconds = time.perf_counter() - clock
        return report

    def _make_executor(self, heights: int | None) -> Executor | None:
        """``heights`` None: as many runs as come (a pool pays off)."""
        workers = self.options.parse_workers
        if workers is None:
            long_run = heights is None or heights >= PROCESS_POOL_MIN_BATCHES * self.options.batch_blocks
            workers = min(os.cpu_count() or 1, 4) if long_run else 0
        self._workers = workers
        if workers == 0:
            return None  # the loop's default thread pool
        # forkserver: a fork of a clean process, not of this one with its threads and sockets.
        return ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=watch_owner,
            initargs=(os.getpid(),),
        )

    async def _run_stages(
        self, first: int, last: int, position: Position, report: IndexReport, progress: Progress | None
    ) -> None:
        ahead = self.options.fetch_ahead
        fetched: asyncio.Queue[tuple[list[int], asyncio.Task[list[RawT]]] | None] = asyncio.Queue(ahead)
        parsed: asyncio.Queue[_Batch[RawT, ParsedT] | BaseException | None] = asyncio.Queue(ahead)
        # The batch after the one being written, taken from the queue when it was there already: the adapter
        # may prepare it while that one waits on the database (``ChainAdapter.upcoming``). Its queue slot
        # is free meanwhile, so one more batch may be parsed ahead.
        next_up: list[_Batch[RawT, ParsedT] | BaseException | None] = []
        producer = asyncio.create_task(self._produce(first, last, fetched))
        parser = asyncio.create_task(self._parse_stage(fetched, parsed))
        try:
            # One connection for every batch of the stages: a pool release per batch costs a reset round
            # trip (RESET ALL, UNLISTEN, CLOSE, advisory unlock); measured 2.4 s of a 1M-tx first pass.
            async with self._held_connection(writer=True) as conn:
                while (item := next_up.pop() if next_up else await parsed.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    if not parsed.empty():
                        next_up.append(parsed.get_nowait())
                    if next_up and isinstance(next_up[0], _Batch):
                        self.adapter.upcoming(next_up[0].parsed)
                    await self._write(conn, item, position, report, progress)
                    if self.stop.is_set():
                        break
        finally:
            for task in (producer, parser):
                task.cancel()
            await asyncio.gather(producer, parser, return_exceptions=True)
            _cancel_queued(fetched, parsed, next_up)

    @contextlib.asynccontextmanager
    async def _held_connection(self, *, writer: bool = False) -> AsyncIterator[asyncpg.Connection]:
        """A pool connection for as long as the stages run; only its acquiring is a store error here (what
        the stages raise meanwhile is theirs to name). The ``writer``'s commits do not wait for the WAL
        to reach the disk (module doc: ``ASYNC_COMMIT``)."""
        async with translate_errors():
            conn: asyncpg.Connection = await self.pool.acquire()
            if writer:
                await conn.execute(ASYNC_COMMIT)
        try:
            yield conn
        finally:
            if writer and not conn.is_closed():
                with contextlib.suppress(asyncpg.PostgresError, OSError):
                    await conn.execute("RESET synchronous_commit")  # a pool may keep its sessions as they are
            await self.pool.release(conn)

    async def _produce(
        self,
        first: int,
        last: int,
        out: asyncio.Queue[tuple[list[int], asyncio.Task[list[RawT]]] | None],
    ) -> None:
        step = self.options.batch_blocks
        for start in range(first, last + 1, step):
            if self.stop.is_set():
                break
            heights = list(range(start, min(start + step, last + 1)))
            await out.put((heights, asyncio.create_task(self._fetch(heights))))
        await out.put(None)

    async def _fetch(self, heights: list[int]) -> list[RawT]:
        started = time.perf_counter()
        try:
            raws = await self.adapter.fetch(heights)
        except ChainError as exc:
            self.metrics.node_errors.labels(self.adapter.chain, type(exc).__name__).inc()
            raise
        self.metrics.node_seconds.labels(self.adapter.chain).observe(time.perf_counter() - started)
        return raws

    async def _parse_stage(
        self,
        inbox: asyncio.Queue[tuple[list[int], asyncio.Task[list[RawT]]] | None],
        out: asyncio.Queue[_Batch[RawT, ParsedT] | BaseException | None],
    ) -> None:
        try:
            async with self._held_connection() as conn:  # as the writer's (above)
                while (item := await inbox.get()) is not None:
                    heights, task = item
                    await out.put(await self._start_parse(conn, heights, await task))
            await out.put(None)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the writer, which raises it in the run's own task
            await out.put(exc)

    async def _start_parse(
        self, conn: asyncpg.Connection, heights: list[int], raws: list[RawT]
    ) -> _Batch[RawT, ParsedT]:
        headers = [self.adapter.raw_header(raw, h) for raw, h in zip(raws, heights, strict=True)]
        broken = headers_chain(headers)
        if broken is not None:  # the node switched branches between our requests: ask again
            log.warning("batch does not chain; fetching again", extra={"height": heights[broken]})
            raise Restart(heights[0])
        stored: dict[int, str] = {}
        if not self.options.reindex:
            async with translate_errors():
                stored = await self.adapter.stored_hashes(conn, heights[0], heights[-1])
        todo = [
            (raw, head.height)
            for raw, head in zip(raws, headers, strict=True)
            if stored.get(head.height) != head.hash
        ]
        return _Batch(heights, headers, raws, self._submit_all(heights[0], len(heights), todo))

    def _submit_all(
        self, first: int, count: int, todo: list[tuple[RawT, int]]
    ) -> asyncio.Future[list[ParsedT | None]]:
        """The parsed blocks of a batch, one per height (None: not to parse). The thread gets one job per
        batch, processes ``JOBS_PER_WORKER`` each, so that they share it: per-block hand-offs (a pickled
        call, a future and its callbacks each) cost more than small blocks take to parse (EVM: ~0.05 ms)."""
        loop = asyncio.get_running_loop()
        if self._executor is None:
            return loop.run_in_executor(None, _parse_many, self._parse, first, count, todo)
        size = -(-len(todo) // (self._workers * JOBS_PER_WORKER)) or 1
        jobs = [
            loop.run_in_executor(self._executor, _parse_many, self._parse, first, count, todo[at : at + size])
            for at in range(0, len(todo), size)
        ]
        return asyncio.ensure_future(_merged(count, jobs))

    def _submit(self, raw: RawT, height: int) -> asyncio.Future[ParsedT]:
        return asyncio.get_running_loop().run_in_executor(self._executor, self._parse, raw, height)

    async def _write(
        self,
        conn: asyncpg.Connection,
        batch: _Batch[RawT, ParsedT],
        position: Position,
        report: IndexReport,
        progress: Progress | None,
    ) -> None:
        started = time.perf_counter()
        blocks = await batch.parsed
        self.metrics.parse_seconds.labels(self.adapter.chain).observe(time.perf_counter() - started)
        written = time.perf_counter()
        try:
            async with translate_errors(), conn.transaction():
                stats, written_heights, fork = await self._write_in_tx(conn, batch, blocks, position)
        except BaseException:
            self.adapter.aborted()
            raise
        self.adapter.committed()
        if self.adapter.keeps_caches:
            self._frozen_batches += 1
            _freeze_survivors(collect=self._frozen_batches % FULL_COLLECTION_BATCHES == 0)
        if fork is not None:
            report.reorgs += 1
            self.metrics.reorgs.labels(self.adapter.chain).inc()
            raise Restart(fork)
        unchanged = len(batch.heights) - len(written_heights)
        report.add(stats, written_heights, unchanged)
        self._account(batch, stats, unchanged, progress, time.perf_counter() - written)

    async def _write_in_tx(
        self,
        conn: asyncpg.Connection,
        batch: _Batch[RawT, ParsedT],
        blocks: list[ParsedT | None],
        position: Position,
    ) -> tuple[BatchStats, list[int], int | None]:
        first, last = batch.heights[0], batch.heights[-1]
        stored = await self.adapter.stored_hashes(conn, first - 1, last)
        parent = stored.get(first - 1)
        if parent is not None and parent != batch.headers[0].prev_hash:
            await self._drop_stale_parent(conn, first - 1, parent, batch.headers[0], position)
            return BatchStats(0, 0), [], first - 1
        todo: list[ParsedT] = []
        todo_heights: list[int] = []
        replace: list[int] = []
        for head, raw, block in zip(batch.headers, batch.raws, blocks, strict=True):
            old = stored.get(head.height)
            if old == head.hash and not self.options.reindex:
                continue
            # None: stored when we looked, gone or changed since (another writer): parse it now
            parsed = block if block is not None else await self._submit(raw, head.height)
            if old is not None:
                replace.append(head.height)
            todo.append(parsed)
            todo_heights.append(head.height)
        stats = await self.adapter.write(conn, todo, replace=replace) if todo else BatchStats(0, 0)
        await position.advance(conn, last + 1)
        return stats, todo_heights, None

    async def _drop_stale_parent(
        self, conn: asyncpg.Connection, height: int, stored: str, head: Header, position: Position
    ) -> None:
        await position.rewind(conn, height)  # first: a shared range refuses before anything is deleted
        dropped = await self.adapter.rollback(conn, height)
        log.warning(
            "reorg: our block is not the node's parent; dropped our branch",
            extra={"height": height, "stored": stored, "node_parent": head.prev_hash, "dropped": dropped},
        )

    def _account(
        self,
        batch: _Batch[Any, Any],
        stats: BatchStats,
        unchanged: int,
        progress: Progress | None,
        seconds: float,
    ) -> None:
        chain = self.adapter.chain
        self.metrics.write_seconds.labels(chain).observe(seconds)
        self.metrics.blocks.labels(chain).inc(stats.blocks)
        self.metrics.txs.labels(chain).inc(stats.txs)
        self.metrics.blocks_unchanged.labels(chain).inc(unchanged)
        self.metrics.height.labels(chain).set(batch.heights[-1] + 1)
        if self.tip is not None:
            self.metrics.tip_lag.labels(chain).set(max(self.tip - batch.heights[-1], 0))
        if progress is not None:
            progress.advance(len(batch.heights), stats.txs, batch.heights[-1])


def _freeze_survivors(*, collect: bool) -> None:
    """Put what the batches since the last call left alive (mostly cache entries: outputs, ids) beyond
    the cyclic collector's reach: its collections otherwise walk every cached object again and again.
    Frozen objects are still freed by reference counting; ``run`` unfreezes them when it ends.

    While such a run lasts this is the only collection (``run`` disables the automatic ones): those ran
    every 700 allocations, and each row a batch unpickles or builds is one (none of them cyclic), so each
    was walked once or more before it could be frozen: bench.bitcoin_ingest at 1M txs, 24,000 collections
    took 6.3 s; collecting each batch's survivors before freezing them walks them all too (6.7 s). The
    little cyclic garbage a batch makes is frozen with the rest, so every ``FULL_COLLECTION_BATCHES``
    (``collect``) everything is unfrozen and collected."""
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def _parse_many(
    parse: Callable[[RawT, int], ParsedT], first: int, count: int, todo: list[tuple[RawT, int]]
) -> list[ParsedT | None]:
    out: list[ParsedT | None] = [None] * count
    for raw, height in todo:
        out[height - first] = parse(raw, height)
    return out


async def _merged(count: int, jobs: list[asyncio.Future[list[ParsedT | None]]]) -> list[ParsedT | None]:
    out: list[ParsedT | None] = [None] * count
    try:
        for job in jobs:
            for at, parsed in enumerate(await job):
                if parsed is not None:
                    out[at] = parsed
    finally:
        for job in jobs:
            job.cancel()  # a no-op once done; the rest, when one failed or we were cancelled
    return out


def watch_owner(pid: int) -> None:
    """Runs in each parse process: exit once the indexer that owns the pool is gone (killed -9), rather
    than wait forever on a queue nobody writes to (holding its pipes, and its caller, open)."""

    def watch() -> None:
        while _alive(pid):
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="watch-owner", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs: not gone, and not a zombie waiting to be reaped (Linux /proc, else kill 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _cancel_queued(fetched: asyncio.Queue[Any], parsed: asyncio.Queue[Any], next_up: list[Any]) -> None:
    """Cancel fetch tasks and parse futures still queued when the stages stop (a restart, an error)."""
    for queue in (fetched, parsed):
        while not queue.empty():
            next_up.append(queue.get_nowait())
    for item in next_up:
        if isinstance(item, tuple):
            task = item[1]
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: a failed prefetch is not the error being reported
            task.cancel()
        elif isinstance(item, _Batch):
            item.parsed.cancel()


async def tip_lag(indexer: Indexer[Any, Any], next_height: int) -> int:
    """The node's tip minus ``next_height`` (the lag metric), read from the node now."""
    tip = indexer.tip = await indexer.adapter.tip_height()
    indexer.metrics.tip_lag.labels(indexer.adapter.chain).set(max(tip + 1 - next_height, 0))
    return tip
