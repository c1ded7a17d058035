"""A whole real TRON mainnet block (50,000,011: 293 transactions, 76 logs, 2 internal transactions) from
graphsense-lib's recorded ingest rows (tests/fixtures/tron/graphsense/, MIT), served as TRON node answers
by the replay nodes (``tracer.devnode.tron_rows``) and indexed through the real clients: TRON's HTTP API
(``/wallet/getblockbynum``, ``/wallet/gettransactioninfobyblocknum``) and its Ethereum-compatible JSON-RPC.
Expected rows are worked out here from the recorded rows directly, not from the rebuilt answers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from chains.evm.params import TRON_CHAIN_ID
from chains.model import Chain
from chains.tron.address import from_hex, to_hex
from tracer.devnode.evm_replay import EvmReplayStore, serve_evm_replay
from tracer.devnode.tron_replay import TronReplayStore, serve_tron_replay
from tracer.devnode.tron_rows import CONTRACT_TYPES, http_answers, jsonrpc_answers, load_rows
from tracer.jobs.evm_index import EvmJob, index_evm

FIXTURES = Path(__file__).parents[1] / "fixtures"
ROWS_FILE = FIXTURES / "tron" / "graphsense" / "trx_block_50000011.json.gz"
BINANCE_PACK = FIXTURES / "labels" / "graphsense-tagpacks" / "packs" / "exchange-wallets-binance.yaml"
HEIGHT = 50_000_011
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER, TRANSFER_FROM = "a9059cbb", "23b872dd"  # ERC-20 / TRC-20 selectors
TRANSFER_CONTRACT, TRIGGER_SMART_CONTRACT = 1, 31  # java-tron Tron.proto ContractType
ROWS = """
SELECT t.kind, k.address AS asset, f.address AS sender, r.address AS receiver, t.amount,
       encode(t.tx_hash, 'hex') AS tx, t.index
FROM transfers t JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id
LEFT JOIN tokens k ON k.id = t.asset_id WHERE t.chain = 'tron' AND t.block_height = $1
"""
HEADER = (
    "SELECT encode(hash, 'hex'), encode(prev_hash, 'hex') FROM blocks WHERE chain = 'tron' AND height = $1"
)
TXS = "SELECT position, encode(hash, 'hex'), success FROM account_txs WHERE chain = 'tron' ORDER BY position"
Expected = set[tuple[str, str | None, str, str, int, str, int]]


def rows() -> dict[str, list[dict[str, Any]]]:
    return load_rows(ROWS_FILE)


def word(hex64: str, n: int) -> str:
    return hex64[64 * n : 64 * (n + 1)]


def test_the_rows_are_one_whole_consistent_mainnet_block() -> None:
    """What can be checked without the raw transactions: TRON block ids carry their height; every
    transaction, log index and gas unit of the block is there; each Transfer log (from the JSON-RPC
    receipts) says what its transaction's calldata says; the one contract event names the TRX its internal
    transaction (from gRPC transaction infos, a separate answer) moved."""
    data = rows()
    (block,) = data["blocks"]
    txs, logs, traces = data["transactions"], data["logs"], data["traces"]
    assert int(block["block_hash"][:16], 16) == HEIGHT and int(block["parent_hash"][:16], 16) == HEIGHT - 1
    indices = [t["transaction_index"] for t in txs]
    assert indices == list(range(block["transaction_count"])) == list(range(293))
    assert len({t["tx_hash"] for t in txs}) == 293 and {t["block_hash"] for t in txs} == {block["block_hash"]}
    assert sum(t["receipt_gas_used"] for t in txs) == block["gas_used"]
    assert sorted(r["log_index"] for r in logs) == list(range(76))
    by_hash = {t["tx_hash"]: t for t in txs}
    for log in logs:
        tx = by_hash[log["tx_hash"]]
        assert tx["transaction_index"] == log["transaction_index"] and log["address"] == tx["to_address"]
        if log["topics"][0] == TRANSFER_TOPIC:
            args = tx["input"][8:]
            sender = tx["from_address"] if tx["input"][:8] == TRANSFER else word(args, 0)
            rest = args if tx["input"][:8] == TRANSFER else args[64:]
            # calldata words may carry TRON's 41 before the 20 address bytes; the event's topics do not
            assert (log["topics"][1][24:], log["topics"][2][24:]) == (sender[-40:], word(rest, 0)[24:])
            assert log["data"] == word(rest, 1)
    (event,) = [r for r in logs if r["topics"][0] != TRANSFER_TOPIC]
    paid = [r for r in traces if r["call_value"]]
    assert [(r["transferto_address"], r["call_value"]) for r in paid] == [
        (word(event["data"], 0)[24:], int(word(event["data"], 1), 16))
    ]
    assert sum(from_hex(r["address"]) == USDT for r in logs) == 73


def leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def test_the_rebuilt_answers_carry_only_values_of_the_rows() -> None:
    """Nothing made up: every value in the rebuilt HTTP and JSON-RPC answers is a value of the rows (as
    recorded, with TRON's 41 or 0x before it, hex in JSON-RPC, seconds as ms) or a name (contract types,
    SUCCESS, the note "call" as hex)."""
    data = rows()
    recorded = [leaf for v in data.values() for leaf in leaves(v) if leaf is not None]
    allowed: set[object] = set(CONTRACT_TYPES.values()) | {"SUCCESS", b"call".hex(), False, None}
    for v in recorded:
        if isinstance(v, str):
            allowed |= {v, "41" + v, "0x" + v}
        elif isinstance(v, int) and not isinstance(v, bool):
            allowed |= {v, v * 1000, hex(v)}
    answers = [*http_answers(data), *jsonrpc_answers(data)]
    assert {leaf for answer in answers for leaf in leaves(answer)} <= allowed


def expected_transfers(*, native: bool = True, internal: bool = True) -> Expected:
    """From the rows: TRX of each TransferContract, TRC-20 Transfer logs, internal TRX moves."""
    data = rows()
    out: Expected = set()
    if native:
        for tx in data["transactions"]:
            if tx["transaction_type"] == TRANSFER_CONTRACT and tx["value"]:
                out.add(("native", None, from_hex(tx["from_address"]), from_hex(tx["to_address"]),
                         tx["value"], tx["tx_hash"], -1))  # fmt: skip
    for log in data["logs"]:
        if log["topics"][0] == TRANSFER_TOPIC and len(log["topics"]) == 3:
            token, (sender, receiver) = from_hex(log["address"]), map(from_hex, log["topics"][1:])
            amount = int(log["data"], 16)
            out.add(("token", token, sender, receiver, amount, log["tx_hash"], log["log_index"]))
    if internal:
        for position, trace in enumerate(data["traces"], start=1):  # one internal transaction per row here
            if trace["call_value"] and not trace["rejected"]:
                caller, target = from_hex(trace["caller_address"]), from_hex(trace["transferto_address"])
                out.add(("internal", None, caller, target, trace["call_value"], trace["tx_hash"], position))
    return out


async def stored(pool: asyncpg.Pool) -> Expected:
    return {(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6]) for r in await pool.fetch(ROWS, HEIGHT)}


async def test_indexes_the_block_through_the_http_api_exactly(pool: asyncpg.Pool) -> None:
    store = TronReplayStore.from_graphsense(ROWS_FILE)
    async with serve_tron_replay(store) as url:
        report = await index_evm(pool, EvmJob(url, Chain.TRON, tron_http=True), start=HEIGHT, stop=HEIGHT)
    assert report.blocks == 1
    expected = expected_transfers()
    kinds = [k for k, *_ in expected]
    assert (kinds.count("native"), kinds.count("token"), kinds.count("internal")) == (194, 75, 1)
    assert await stored(pool) == expected
    (block,) = rows()["blocks"]
    header = await pool.fetchrow(HEADER, HEIGHT)
    assert tuple(header) == (block["block_hash"], block["parent_hash"])
    txs = await pool.fetch(TXS)
    assert [(r[0], r[1], r[2]) for r in txs] == [
        (t["transaction_index"], t["tx_hash"], True) for t in rows()["transactions"]
    ]
    addresses = await pool.fetch("SELECT address FROM addresses WHERE chain = 'tron'")
    assert all(r[0].startswith("T") and from_hex(to_hex(r[0])) == r[0] for r in addresses)


async def test_indexes_the_block_through_the_json_rpc(pool: asyncpg.Pool) -> None:
    """The same block through TRON's JSON-RPC: the TRC-20 transfers exactly. The block is served with
    transaction hashes (their ``value`` is not in the rows), and trace methods are refused: so no TRX rows."""
    store = EvmReplayStore(chain_id=hex(TRON_CHAIN_ID))
    store.add_block(*jsonrpc_answers(rows()))
    async with serve_evm_replay(store) as url:
        report = await index_evm(pool, EvmJob(url, Chain.TRON), start=HEIGHT, stop=HEIGHT)
    assert report.blocks == 1
    assert await stored(pool) == expected_transfers(native=False, internal=False)
    assert await pool.fetchval("SELECT count(*) FROM account_txs WHERE chain = 'tron'") == 293


def run_cli(args: list[str], database_url: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"TRACER_HOME": str(home), "TRACER_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "tracer.cli", *args], env=env, capture_output=True, text=True, timeout=180,
        check=False,
    )  # fmt: skip


async def test_cli_indexes_and_screens_a_binance_customer(fresh_db: str, tmp_path: Path) -> None:
    """``tracer index evm --chain tron`` → rows → ``tracer screen tron`` with the address written as
    upper-case ``41`` hex: the answer names it in base58 and shows the USDT it got from a Binance reserve
    wallet (GraphSense's Binance TagPack)."""
    customer, binance = "TFtiDGpybzKLim9xAhuFpdSQJ4eZvPvjHc", "TV6MuMXfmLbBqPZvBHdwFsDnQeVfnmiuSi"
    async with serve_tron_replay(TronReplayStore.from_graphsense(ROWS_FILE)) as url:
        heights = ["--from", str(HEIGHT), "--to", str(HEIGHT)]
        index = ["index", "evm", "--chain", "tron", "--tron-api", url, *heights]
        indexed = await asyncio.to_thread(run_cli, index, fresh_db, tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    labels = await asyncio.to_thread(run_cli, ["labels", "import", str(BINANCE_PACK)], fresh_db, tmp_path)
    assert labels.returncode == 0, labels.stderr
    screen = ["screen", "tron", to_hex(customer).upper(), "--json"]
    screened = await asyncio.to_thread(run_cli, screen, fresh_db, tmp_path)
    assert screened.returncode == 0, screened.stderr
    answer = json.loads(screened.stdout)
    assert answer["address"] == customer and answer["known"] is True
    (party,) = answer["counterparties"]
    assert (party["address"], party["direction"], party["asset"], party["amount"]) == (
        binance,
        "received_from",
        USDT,
        4_999_000_000,
    )
    assert party["category"] == "exchange"
