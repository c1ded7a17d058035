"""The EVM adapter on the indexer core, end to end over HTTP: anvil (rows exactly, reorgs by
evm_snapshot/evm_revert, resume) and the replay node of recorded mainnet answers (refuses eth_call)."""

from __future__ import annotations

import gc
import gzip
import json
from pathlib import Path

import asyncpg
import pytest

from chains.evm import params
from chains.evm.address import from_hex
from chains.model import Chain
from evm.evm_scenario import TOKEN_UNIT, expected_transfers, run_scenario, transfer
from tracer.devnode.evm_anvil import Anvil
from tracer.devnode.evm_replay import EvmReplayStore, serve_evm_replay
from tracer.indexer import pipeline
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.evm_index import EvmJob, index_evm

ETH = Path(__file__).parents[1] / "fixtures" / "ethereum"
TRANSFER_ROWS = """
SELECT t.kind, k.address AS asset, f.address AS sender, r.address AS receiver, t.amount
FROM transfers t JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id
LEFT JOIN tokens k ON k.id = t.asset_id
"""


async def transfer_rows(pool: asyncpg.Pool) -> set[tuple[str, str | None, str, str, int]]:
    rows = await pool.fetch(TRANSFER_ROWS)
    return {(r["kind"], r["asset"], r["sender"], r["receiver"], int(r["amount"])) for r in rows}


# Parsed in this process's thread, and in worker processes (undecoded answers in, pickled blocks out).
@pytest.mark.parametrize("parse_workers", [0, 2])
async def test_indexes_the_scenario_exactly_with_token_metadata(
    anvil: Anvil, anvil_url: str, pool: asyncpg.Pool, parse_workers: int
) -> None:
    s = await run_scenario(anvil)
    issuers = {from_hex(s.token): "tracer-test-issuer"}
    options = RunOptions(batch_blocks=4, parse_workers=parse_workers)
    job = EvmJob(anvil_url, Chain.ETHEREUM, options, issuers=issuers)
    report = await index_evm(pool, job)  # no --from: genesis on a fresh database; no --to: the tip
    tip = await anvil.height()
    assert (report.blocks, report.heights[0], report.heights[-1]) == (tip + 1, 0, tip)
    assert report.rows["transfers"] == 10
    assert await transfer_rows(pool) == expected_transfers(s)
    token = await pool.fetchrow(
        "SELECT symbol, name, decimals FROM tokens WHERE address = $1", from_hex(s.token)
    )
    assert tuple(token) == ("TUSD", "Tracer USD", 6)
    label = await pool.fetchval(
        "SELECT l.label FROM labels l JOIN addresses a ON a.id = l.address_id WHERE a.address = $1",
        from_hex(s.bob),
    )
    assert label == "TUSD frozen by tracer-test-issuer"
    again = await index_evm(pool, job)  # resumes at tip + 1: nothing to do
    assert again.blocks == 0


async def test_reorg_by_snapshot_and_revert_rolls_back_and_resumes(
    anvil: Anvil, anvil_url: str, pool: asyncpg.Pool
) -> None:
    s = await run_scenario(anvil)
    issuers = {from_hex(s.token): "tracer-test-issuer"}
    job = EvmJob(anvil_url, Chain.ETHEREUM, RunOptions(batch_blocks=3), issuers=issuers)
    fork = await anvil.height()
    snapshot = await anvil.call("evm_snapshot")
    stale = await anvil.send(s.owner, s.token, data=transfer(s.alice, 1 * TOKEN_UNIT))
    await anvil.send(s.owner, s.token, data=_blacklist(s.alice))
    await index_evm(pool, job)
    assert await _frozen(pool, s.alice)
    await anvil.call("evm_revert", snapshot)  # the node drops our last two blocks ...
    fresh = [await anvil.send(s.owner, s.token, data=transfer(s.bob, n * TOKEN_UNIT)) for n in (7, 8, 9)]
    report = await index_evm(pool, job)  # ... and three new ones come: we resume and find the fork
    assert report.reorgs >= 1
    heights = [r["height"] for r in await pool.fetch("SELECT height FROM blocks ORDER BY height")]
    assert heights == list(range(fork + 4))
    hashes = {bytes(r["tx_hash"]).hex() for r in await pool.fetch("SELECT tx_hash FROM transfers")}
    assert stale[2:] not in hashes and all(h[2:] in hashes for h in fresh)
    token = from_hex(s.token)
    expected = expected_transfers(s) | {
        ("token", token, from_hex(s.owner), from_hex(s.bob), n * TOKEN_UNIT) for n in (7, 8, 9)
    }
    assert await transfer_rows(pool) == expected
    assert not await _frozen(pool, s.alice)  # the freeze was on the dropped branch
    chained = await pool.fetchval(
        "SELECT bool_and(b.prev_hash = p.hash) FROM blocks b JOIN blocks p ON p.height = b.height - 1"
    )
    assert chained


def _blacklist(who: str) -> str:
    from tracer.devnode.evm_anvil import calldata

    return calldata("addBlackList(address)", ["address"], [who])


async def _frozen(pool: asyncpg.Pool, address: str) -> bool:
    count = await pool.fetchval(
        "SELECT count(*) FROM labels l JOIN addresses a ON a.id = l.address_id WHERE a.address = $1",
        from_hex(address),
    )
    return bool(count)


async def test_recorded_mainnet_blocks_through_a_node_refusing_eth_call(pool: asyncpg.Pool) -> None:
    store = EvmReplayStore.from_dirs(ETH / "helios", ETH / "etl", block_receipts=True)
    async with serve_evm_replay(store) as url:
        job = EvmJob(url, Chain.ETHEREUM, RunOptions(batch_blocks=2))
        await index_evm(pool, job, start=1755634, stop=1755635)
        report = await index_evm(pool, job, start=21925176, stop=21925176)
    assert report.blocks == 1
    with gzip.open(ETH / "helios" / "receipts.json.gz", "rt") as fh:
        receipts = json.load(fh)
    expected = {
        (bytes.fromhex(r["transactionHash"][2:]), int(log["logIndex"], 16), int(log["data"], 16))
        for r in receipts
        for log in r["logs"]
        if log["topics"][:1] == [params.TRANSFER_TOPIC] and len(log["topics"]) == 3
    }
    rows = await pool.fetch("SELECT tx_hash, index, amount FROM transfers WHERE block_height = 21925176")
    assert {(bytes(r["tx_hash"]), r["index"], int(r["amount"])) for r in rows} == expected
    # eth_call refused: every token registered, none with metadata; amounts are base units anyway.
    unknown = await pool.fetchval("SELECT count(*) FROM tokens WHERE symbol IS NULL AND decimals IS NULL")
    assert unknown == await pool.fetchval("SELECT count(*) FROM tokens") > 0
    etl_token = await pool.fetchrow(
        "SELECT amount FROM transfers WHERE block_height = 1755635 AND kind = 'token'"
    )
    assert int(etl_token["amount"]) == 5 * 10**18  # ethereum-etl's expected_token_transfers.json
    failed = await pool.fetchval(
        "SELECT count(*) FROM account_txs WHERE NOT success AND block_height = 21925176"
    )
    assert failed == 3


async def test_per_transaction_receipts_fallback_on_the_replay_node(pool: asyncpg.Pool) -> None:
    store = EvmReplayStore.from_dirs(ETH / "etl", block_receipts=False)
    async with serve_evm_replay(store) as url:
        report = await index_evm(pool, EvmJob(url, Chain.ETHEREUM), start=1755634, stop=1755635)
    assert report.blocks == 2 and report.rows["transfers"] >= 1


async def test_account_runs_leave_the_garbage_collector_alone(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Collect-and-freeze after each batch pays off only for adapters with big caches (Bitcoin); for
    account chains it walked the raw JSON fetched ahead and cost a third of the run's CPU."""
    frozen: list[int] = []
    monkeypatch.setattr(pipeline, "_freeze_survivors", lambda: frozen.append(1))
    # ... and collections are sparse while it runs (pipeline.SPARSE_GC_THRESHOLDS), as they were after it.
    before, thresholds = gc.get_threshold(), []
    set_threshold = gc.set_threshold

    def record(*values: int) -> None:
        thresholds.append(values)
        set_threshold(*values)

    monkeypatch.setattr(gc, "set_threshold", record)
    store = EvmReplayStore.from_dirs(ETH / "etl", block_receipts=True)
    async with serve_evm_replay(store) as url:
        job = EvmJob(url, Chain.ETHEREUM, RunOptions(batch_blocks=1))
        report = await index_evm(pool, job, start=1755634, stop=1755635)
    assert report.blocks == 2 and frozen == []
    assert thresholds == [pipeline.SPARSE_GC_THRESHOLDS, before] and gc.get_threshold() == before
