"""Writing real blocks to PostgreSQL: idempotent re-index, input resolution, one transaction per batch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import asyncpg
import pytest

from chains.bitcoin.files import read_json_blocks, read_raw_blocks
from chains.model import Block
from tracer.errors import StoreConflict
from tracer.jobs.index import index_files
from tracer.store.chaindata import write_blocks
from tracer.store.errors import translate_errors

BTC = Path(__file__).parents[1] / "fixtures" / "bitcoin"
BLOCK_277647 = BTC / "raw/btcd/277647.dat.bz2"
# Block 170 holds the first payment between people (Satoshi to Hal Finney, tx f4184fc5...); it spends the
# coinbase output of block 9, a pay-to-pubkey output whose spend reveals no address.
FIRST_PAYMENT = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
BLOCK_9_COINBASE_ADDRESS = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    tables = ("blocks", "transactions", "tx_outputs", "tx_inputs", "addresses")
    return {t: await pool.fetchval(f"SELECT count(*) FROM {t}") for t in tables}


async def tx_ids(pool: asyncpg.Pool) -> list[int]:
    return [r["id"] for r in await pool.fetch("SELECT id FROM transactions ORDER BY id")]


async def test_indexing_the_same_file_twice_changes_nothing(pool: asyncpg.Pool) -> None:
    first = await index_files(pool, [BLOCK_277647], kind="raw")
    after_first, ids_first = await counts(pool), await tx_ids(pool)
    second = await index_files(pool, [BLOCK_277647], kind="raw")
    assert (first.blocks, first.txs, first.outputs, first.inputs) == (1, 213, 769, 733)
    assert (second.blocks, second.unchanged) == (0, 1)
    assert await counts(pool) == after_first
    assert await tx_ids(pool) == ids_first  # what clustering evidence points to stays put


async def test_reindex_rewrites_a_stored_block_in_place(pool: asyncpg.Pool) -> None:
    await index_files(pool, [BLOCK_277647], kind="raw")
    before, ids_before = await counts(pool), await tx_ids(pool)
    again = await index_files(pool, [BLOCK_277647], kind="raw", reindex=True)
    assert (again.blocks, again.txs, again.unchanged) == (1, 213, 0)
    assert await counts(pool) == before
    assert set(await tx_ids(pool)).isdisjoint(ids_before)


def blocks_1_255() -> dict[int, Block]:
    return {b.height: b for b in read_raw_blocks(BTC / "raw/btcd/blocks1-256.bz2")}


async def first_payment_input(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow(
        """SELECT i.source, i.value, a.address FROM tx_inputs i
           JOIN transactions t ON t.id = i.tx_id LEFT JOIN addresses a ON a.id = i.address_id
           WHERE t.txid = decode($1, 'hex')""",
        FIRST_PAYMENT,
    )
    assert row is not None
    return row


@pytest.mark.parametrize("spender_first", [True, False])
async def test_inputs_resolve_from_stored_outputs_in_either_order(
    pool: asyncpg.Pool, spender_first: bool
) -> None:
    blocks = blocks_1_255()
    order = [blocks[170], blocks[9]] if spender_first else [blocks[9], blocks[170]]
    async with pool.acquire() as conn:
        await write_blocks(conn, [order[0]], source="test")
        if spender_first:
            assert (await first_payment_input(pool))["source"] == "unresolved"
        stats, _, _ = await write_blocks(conn, [order[1]], source="test")
    assert stats.rows["inputs_resolved"] == 1
    row = await first_payment_input(pool)
    assert (row["source"], row["value"], row["address"]) == (
        "stored",
        50 * 100_000_000,
        BLOCK_9_COINBASE_ADDRESS,
    )


async def test_pay_to_pubkey_spends_stay_unresolved_rather_than_guessed(pool: asyncpg.Pool) -> None:
    """Blocks 50001-50002 as getblock v2 JSON: inputs carry no spent output, and all three non-coinbase
    inputs spend pay-to-pubkey outputs (bitcoin-etl's expected export says so), whose spend reveals only
    a signature. They must be stored as unresolved outpoints, not given a made-up address."""
    case = BTC / "rpc/stream_50001_50002"
    await index_files(pool, sorted(case.glob("rpc_response_getblock_*_2.json")), kind="json")
    expected = [json.loads(line) for line in (case / "expected_transactions.json").read_text().splitlines()]
    spends = [(tx["hash"], txin) for tx in expected for txin in tx["inputs"]]
    assert [txin["type"] for _, txin in spends] == ["pubkey"] * 3
    for txid, txin in spends:
        row = await pool.fetchrow(
            """SELECT i.source, i.address_id, encode(i.prev_txid, 'hex') AS prev_txid, i.prev_vout
               FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
               WHERE t.txid = decode($1, 'hex') AND i.vin = $2""",
            txid,
            txin["index"],
        )
        assert row is not None
        assert (row["source"], row["address_id"]) == ("unresolved", None)
        assert (row["prev_txid"], row["prev_vout"]) == (
            txin["spent_transaction_hash"],
            txin["spent_output_index"],
        )


async def test_a_failing_batch_leaves_nothing_behind(pool: asyncpg.Pool) -> None:
    blocks = blocks_1_255()
    async with pool.acquire() as conn:
        await write_blocks(conn, [blocks[9]], source="test")
        before = await counts(pool)
        # Block 10 is new; block 9's transactions again under another height collide on txid: the whole
        # batch must roll back, block 10 included, and the error arrives as our StoreConflict.
        clash = dataclasses.replace(blocks[9], height=100_000)
        with pytest.raises(StoreConflict, match="23505"):
            async with translate_errors():
                await write_blocks(conn, [blocks[10], clash], source="test")
    assert await counts(pool) == before


async def test_json_and_raito_blocks_carry_prevouts(pool: asyncpg.Pool) -> None:
    report = await index_files(pool, [BTC / "raito/full_169.json.gz"], kind="json")
    assert (report.blocks, report.txs) == (1, 2)
    row = await first_payment_input(pool)
    assert (row["source"], row["value"], row["address"]) == (
        "prevout",
        50 * 100_000_000,
        BLOCK_9_COINBASE_ADDRESS,
    )
    assert read_json_blocks(BTC / "raito/full_169.json.gz")[0].height == 170
