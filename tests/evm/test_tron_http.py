"""TRON through its HTTP API, end to end over HTTP: recorded real mainnet transactions with their real
transaction infos (tests/fixtures/tron/ledger_live_blocks.json, from LedgerHQ/ledger-live) served by the
TRON replay node (tracer.devnode.tron_replay), read by the real client (chains.tron.http) and written by
the indexer core (tracer.indexer.tron)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from chains.errors import NodeNotSynced, NodeProtocolError
from chains.model import Chain
from chains.tron.address import from_hex
from chains.tron.http import TronHttpNode
from tracer.devnode.tron_replay import TronReplayStore, assembled_block_id, serve_tron_replay
from tracer.errors import InputError
from tracer.jobs.evm_index import EvmJob, index_evm
from tracer.store.chaindata import read_cursor

RECORDS = Path(__file__).parents[1] / "fixtures" / "tron" / "ledger_live_blocks.json"
USDT_HEX = "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"  # TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t
LEDGER_ACCOUNT = from_hex("416e3b44b96104b26f84057974a1f0c9880f7c9b13")  # the account the recording is about
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ROWS = """
SELECT b.height, t.kind, k.address AS asset, f.address AS sender, r.address AS receiver, t.amount
FROM transfers t JOIN blocks b ON b.chain = t.chain AND b.height = t.block_height
JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id
LEFT JOIN tokens k ON k.id = t.asset_id WHERE t.chain = 'tron'
"""


def records() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(RECORDS.read_text())
    return data


def test_recorded_transactions_are_real_and_their_infos_match_them() -> None:
    """Each txID is sha256 of its raw_data_hex; the decoded fields are in that hex; each TRC-20 Transfer
    log names the calldata's sender, recipient and amount (so the info belongs to the transaction)."""
    for record in records():
        tx, info = record["transaction"], record["info"]
        assert hashlib.sha256(bytes.fromhex(tx["raw_data_hex"])).hexdigest() == tx["txID"] == info["id"]
        assert info["blockNumber"] == record["blockNumber"]
        value = tx["raw_data"]["contract"][0]["parameter"]["value"]
        for key, field in value.items():
            if key.endswith("address") or key == "data":
                assert str(field) in tx["raw_data_hex"]
        for log in info.get("log", []):
            assert log["topics"][0] == TRANSFER_TOPIC and "41" + log["address"] == value["contract_address"]
            calldata = value["data"]
            assert log["topics"][1][24:] == value["owner_address"][2:]
            assert log["topics"][2][24:] == calldata[8 + 24 : 8 + 64]
            assert int(log["data"], 16) == int(calldata[8 + 64 :], 16)


async def index_each_block(pool: asyncpg.Pool, url: str) -> list[int]:
    """Each recorded block as its own range (the recorded heights are not consecutive)."""
    blocks = []
    for height in sorted({r["blockNumber"] for r in records()}):
        report = await index_evm(pool, EvmJob(url, Chain.TRON, tron_http=True), start=height, stop=height)
        blocks.append(report.blocks)
    return blocks


async def test_indexes_recorded_mainnet_transactions_exactly(pool: asyncpg.Pool) -> None:
    store = TronReplayStore.from_records(RECORDS)
    async with serve_tron_replay(store) as url:
        assert await index_each_block(pool, url) == [1] * 7
        assert await index_each_block(pool, url) == [0] * 7  # stored with the same hash: unchanged
    usdt, recipient = from_hex(USDT_HEX), from_hex("4118314cd6beab3b324174395a40731cfdf07e857d")
    exchange = from_hex("41ec20315a879c48f5e3a6a1c9826d5225f8b658b8")
    payee = from_hex("4115e75fb8683b09c857d7b8a740b1d0234a3ca97b")
    sender = from_hex("4121b72c741caed659bf48c3fa2b717b007c20fb4b")
    trc10_sender = from_hex("414a590bf4bbbb25e162987084d3529ae2078ac177")
    assert {tuple(r) for r in await pool.fetch(ROWS)} == {
        (64072142, "token", usdt, LEDGER_ACCOUNT, recipient, 1_000),
        (64072148, "token", usdt, LEDGER_ACCOUNT, recipient, 10_000),
        (64072156, "token", usdt, LEDGER_ACCOUNT, recipient, 1_000),
        (69316562, "token", usdt, LEDGER_ACCOUNT, exchange, 41_677_389),
        (69316598, "native", None, LEDGER_ACCOUNT, payee, 150_466_320),
        (69316621, "native", None, sender, LEDGER_ACCOUNT, 1),
        (69316644, "token", "trc10:1005065", trc10_sender, LEDGER_ACCOUNT, 8_888_880_000),
    }
    assert await pool.fetchval("SELECT count(*) FROM account_txs WHERE chain = 'tron'") == 7
    token = await pool.fetchrow(
        "SELECT symbol, decimals FROM tokens WHERE chain = 'tron' AND address = $1", usdt
    )
    assert tuple(token) == (None, None)  # the replay node refuses triggerconstantcontract
    assert await read_cursor(pool, "tron", "tron-http") == 69316645
    stored = await pool.fetchval(
        "SELECT encode(hash, 'hex') FROM blocks WHERE chain = 'tron' AND height = 69316562"
    )
    assert stored == assembled_block_id(69316562)


async def test_client_errors_are_node_errors() -> None:
    store = TronReplayStore.from_records(RECORDS)
    async with serve_tron_replay(store) as url, TronHttpNode(url, retries=0) as node:
        assert await node.tip_height() == 69316644
        with pytest.raises(NodeNotSynced):
            await node.raw_block(69316645)
        with pytest.raises(NodeProtocolError, match="runs no contracts"):
            await node.constant_call(from_hex(USDT_HEX), "0x95d89b41")
        raw = await node.raw_block(69316562)
        assert len(raw.block["transactions"]) == len(raw.infos) == 1


async def test_tron_api_needs_the_tron_chain(pool: asyncpg.Pool) -> None:
    async with serve_tron_replay(TronReplayStore.from_records(RECORDS)) as url:
        with pytest.raises(InputError, match="--chain tron"):
            await index_evm(pool, EvmJob(url, Chain.ETHEREUM, tron_http=True))
        with pytest.raises(InputError, match="beyond the node's tip"):
            await index_evm(pool, EvmJob(url, Chain.TRON, tron_http=True), start=69316644, stop=69316650)


async def test_cli_indexes_through_the_tron_api(fresh_db: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"TRACER_HOME": str(tmp_path), "TRACER_DATABASE_URL": fresh_db}
    argv = [sys.executable, "-m", "tracer.cli", "index", "evm", "--chain", "tron"]
    async with serve_tron_replay(TronReplayStore.from_records(RECORDS)) as url:
        done = await asyncio.to_thread(
            subprocess.run, [*argv, "--tron-api", url, "--from", "69316562", "--to", "69316562"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        both = await asyncio.to_thread(
            subprocess.run, [*argv, "--tron-api", url, "--rpc", url],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["heights"] == [69316562, 69316562]
    assert await pool.fetchval("SELECT count(*) FROM transfers WHERE chain = 'tron'") == 1
    assert both.returncode != 0 and "give one of --rpc URL and --tron-api URL" in both.stderr
    assert "Traceback" not in both.stderr
