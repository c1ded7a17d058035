"""The staged pipeline on a generated chain: process-pool parsing, headers recognised, rows as a clean run."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot
from tracer.devnode.bitcoin_replay import ReplayNode
from tracer.indexer import pipeline
from tracer.jobs.follow import index_from_node
from tracer.store import chaindata
from tracer.store.utxo import UtxoCache


async def test_process_pool_run_gives_the_clean_rows(
    pool: asyncpg.Pool, chain_node: ReplayNode, chain_range: tuple[int, int], clean_rows: Snapshot
) -> None:
    first, last = chain_range
    report = await index_from_node(
        pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4, parse_workers=2
    )
    assert (report.blocks, report.txs) == (last - first + 1, 9_000)
    assert await snapshot(pool) == clean_rows
    again = await index_from_node(pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4)
    assert (again.blocks, again.unchanged) == (0, last - first + 1)
    assert "already stored" in again.summary()


async def test_bitcoin_runs_freeze_each_batchs_survivors(
    pool: asyncpg.Pool,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its unspent-output and address-id caches grow with every batch: collections would walk them again
    and again, so each committed batch's survivors are frozen, with no automatic collection while the run
    lasts and a full one every few batches; after the run the collector is as it was, nothing frozen."""
    frozen: list[tuple[bool, bool]] = []  # (collect, automatic collections on)
    freeze = pipeline._freeze_survivors

    def record(*, collect: bool) -> None:
        frozen.append((collect, gc.isenabled()))
        freeze(collect=collect)

    monkeypatch.setattr(pipeline, "_freeze_survivors", record)
    monkeypatch.setattr(pipeline, "FULL_COLLECTION_BATCHES", 2)
    first, _ = chain_range
    assert gc.isenabled()
    await index_from_node(pool, rpc_url=chain_node.rpc_url, start=first, stop=first + 7, batch_blocks=2)
    assert frozen == [(False, False), (True, False), (False, False), (True, False)]
    assert gc.isenabled() and gc.get_freeze_count() == 0


async def test_inputs_shipped_in_parts_with_their_misses_give_the_clean_rows(
    pool: asyncpg.Pool,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's inputs go in several COPYs while the rest are built (``ChainWriter._ship_inputs``); with
    no unspent-output cache, every input spending an earlier batch is looked up by the part it is in."""
    monkeypatch.setattr(chaindata, "_STEP_ROWS", 7)
    monkeypatch.setattr(chaindata, "_INPUT_PART_ROWS", 30)
    monkeypatch.setattr(UtxoCache, "transactions", property(lambda self: {}))
    parts: list[int] = []
    ship = chaindata.ChainWriter._ship_input_part

    async def counted(self: chaindata.ChainWriter, conn: asyncpg.Connection, *args: Any) -> None:
        parts.append(1)
        await ship(self, conn, *args)

    monkeypatch.setattr(chaindata.ChainWriter, "_ship_input_part", counted)
    build = chaindata.ChainWriter._input_rows

    def slow(self: chaindata.ChainWriter, *args: Any) -> Iterator[None]:
        for step in build(self, *args):
            time.sleep(0.002)  # the server answers meanwhile: the COPY in flight ends while rows are built
            yield step

    monkeypatch.setattr(chaindata.ChainWriter, "_input_rows", slow)
    first, last = chain_range
    await index_from_node(
        pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4, parse_workers=0
    )
    batches = -(-(last - first + 1) // 4)
    assert len(parts) > 2 * batches
    assert await snapshot(pool) == clean_rows


async def test_batches_prepared_ahead_give_the_clean_rows(
    pool: asyncpg.Pool,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The writer prepares the next batch (address lookup, outputs' slots, transaction columns) while the
    current one waits on the database (``ChainWriter.upcoming``), and commits the unspent-output cache in
    steps meanwhile: the rows are those of a clean run, and most batches were prepared ahead."""
    prepared: list[bool] = []
    take = chaindata.ChainWriter._prepared

    def counted(self: chaindata.ChainWriter, blocks: Any) -> Any:
        ahead = take(self, blocks)
        prepared.append(ahead is not None)
        return ahead

    monkeypatch.setattr(chaindata.ChainWriter, "_prepared", counted)
    first, last = chain_range
    await index_from_node(
        pool, rpc_url=chain_node.rpc_url, start=first, stop=last, batch_blocks=4, parse_workers=2
    )
    assert sum(prepared) >= len(prepared) // 2
    assert await snapshot(pool) == clean_rows
