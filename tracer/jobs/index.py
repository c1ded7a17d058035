"""Index job: blocks from files or a node into PostgreSQL, one transaction per batch.

Files are parsed off the event loop (parsing is CPU-bound); batches are written with COPY. A node index
keeps a cursor in PostgreSQL moved in the same transaction as the rows, so a restart resumes where the
last committed batch ended.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import asyncpg

from chains.bitcoin.files import read_json_blocks, read_raw_blocks
from chains.errors import ChainError
from chains.model import Block, Chain
from tracer.errors import InputError, MalformedInput
from tracer.indexer.pipeline import DEFAULT_BATCH_BLOCKS
from tracer.indexer.report import IndexReport
from tracer.store.chaindata import CHAIN_TABLES, ChainWriter, write_blocks
from tracer.store.errors import translate_errors
from tracer.store.pool import refresh_grown_statistics

__all__ = ["DEFAULT_BATCH_BLOCKS", "IndexReport", "index_files"]  # IndexReport: callers read it from here

log = logging.getLogger(__name__)


async def index_files(
    pool: asyncpg.Pool,
    paths: Sequence[Path],
    *,
    kind: Literal["raw", "json"],
    batch_blocks: int = DEFAULT_BATCH_BLOCKS,
    reindex: bool = False,
) -> IndexReport:
    """Index raw or JSON block files; ``reindex`` rewrites blocks already stored with the same hash."""
    reader: Callable[[Path], list[Block]] = read_raw_blocks if kind == "raw" else read_json_blocks
    report = IndexReport()
    writer = ChainWriter(Chain.BITCOIN.value, f"file:{kind}")  # its caches carry over from batch to batch
    started = time.perf_counter()
    pending: list[Block] = []
    for path in paths:
        pending.extend(await asyncio.to_thread(_read, reader, path))
        while len(pending) >= batch_blocks:
            await _write(pool, pending[:batch_blocks], writer, report, reindex)
            del pending[:batch_blocks]
    if pending:
        await _write(pool, pending, writer, report, reindex)
    async with translate_errors(), pool.acquire() as conn:
        await refresh_grown_statistics(conn, CHAIN_TABLES)
    report.seconds = time.perf_counter() - started
    log.info("indexed files", extra=report.as_dict())
    return report


def _read(reader: Callable[[Path], list[Block]], path: Path) -> list[Block]:
    """Blocks of one file; every way a file can be wrong becomes an InputError naming it."""
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    try:
        return reader(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ChainError as exc:
        raise MalformedInput(f"{path}: {exc}") from exc


async def _write(
    pool: asyncpg.Pool, blocks: Sequence[Block], writer: ChainWriter, report: IndexReport, reindex: bool
) -> None:
    async with translate_errors(), pool.acquire() as conn:
        stats, unchanged, written = await write_blocks(
            conn, blocks, source=writer.source, reindex=reindex, writer=writer
        )
    report.add(stats, written, unchanged)
