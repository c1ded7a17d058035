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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncpg

from chains.bitcoin.files import read_json_blocks, read_raw_blocks
from chains.errors import ChainError
from chains.model import Block
from tracer.errors import InputError, MalformedInput
from tracer.store.chaindata import CHAIN_TABLES, WriteStats, write_blocks
from tracer.store.errors import translate_errors
from tracer.store.pool import refresh_statistics

log = logging.getLogger(__name__)

DEFAULT_BATCH_BLOCKS = 20  # blocks per transaction: big enough for COPY to pay off, small enough to resume


@dataclass(slots=True)
class IndexReport:
    blocks: int = 0
    txs: int = 0
    outputs: int = 0
    inputs: int = 0
    inputs_resolved: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    heights: list[int] = field(default_factory=list)

    def add(self, stats: WriteStats, blocks: Sequence[Block]) -> None:
        self.blocks += stats.blocks
        self.txs += stats.txs
        self.outputs += stats.outputs
        self.inputs += stats.inputs
        self.inputs_resolved += stats.inputs_resolved
        self.unchanged += stats.unchanged
        self.heights.extend(b.height for b in blocks)

    def as_dict(self) -> dict[str, object]:
        rate = self.seconds or float("inf")
        return {
            "blocks": self.blocks,
            "txs": self.txs,
            "outputs": self.outputs,
            "inputs": self.inputs,
            "inputs_resolved_from_stored_outputs": self.inputs_resolved,
            "blocks_unchanged": self.unchanged,
            "seconds": round(self.seconds, 3),
            "blocks_per_second": round(self.blocks / rate, 1),
            "txs_per_second": round(self.txs / rate, 1),
            "heights": [min(self.heights), max(self.heights)] if self.heights else [],
        }


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
    started = time.perf_counter()
    pending: list[Block] = []
    for path in paths:
        pending.extend(await asyncio.to_thread(_read, reader, path))
        while len(pending) >= batch_blocks:
            await _write(pool, pending[:batch_blocks], f"file:{kind}", report, reindex)
            del pending[:batch_blocks]
    if pending:
        await _write(pool, pending, f"file:{kind}", report, reindex)
    await refresh_statistics(pool, CHAIN_TABLES)
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
    pool: asyncpg.Pool, blocks: Sequence[Block], source: str, report: IndexReport, reindex: bool
) -> None:
    async with translate_errors(), pool.acquire() as conn:
        stats = await write_blocks(conn, blocks, source=source, reindex=reindex)
    report.add(stats, blocks)
