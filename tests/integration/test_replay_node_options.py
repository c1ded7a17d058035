"""The replay node as a stand-in for Bitcoin Core over real HTTP: generated chains, getrawtransaction,
batches and auth, each kind of injected fault, and a scripted reorg.

Data: a generated mainnet-shaped chain (bench/chaingen.py, seed 6: 4 blocks, 1,200 txs) and real blocks
1..255 (tests/fixtures/bitcoin/raw/btcd/blocks1-256.bz2).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.chaingen import generate_blocks
from chains.bitcoin import requests as rq
from chains.bitcoin.core_rest import CoreRest, rest_url
from chains.bitcoin.node import BitcoinRpcNode
from chains.bitcoin.parse import parse_block_bytes
from chains.errors import RpcError
from chains.model import InputSource
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport, basic_auth_header
from tracer.devnode.bitcoin_replay import ReplayNode, serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.devnode.faults import FaultPlan, ReorgPlan

BLOCKS_1_255 = Path(__file__).parents[1] / "fixtures/bitcoin/raw/btcd/blocks1-256.bz2"
AUTH = ("tracer", "replay-secret")  # the replay node's own test credentials


@cache
def chain() -> tuple[bytes, ...]:
    return tuple(generate_blocks(1_200, seed=6, txs_per_block=400))


@pytest.fixture
async def node() -> AsyncIterator[ReplayNode]:
    async with serve_replay(ReplayStore.from_raw_blocks(chain()), auth=AUTH) as running:
        yield running


async def post(url: str, body: object, auth: tuple[str, str] | None = AUTH) -> tuple[int, Any]:
    headers = {"Authorization": basic_auth_header(*auth)} if auth else {}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json(content_type=None) if resp.status != 401 else None


def call(method: str, *params: object, rid: int = 1) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}


async def test_generated_chain_is_served_with_decoded_blocks_and_transactions(node: ReplayNode) -> None:
    url = f"http://{node.host}:{node.port}/"
    status, reply = await post(url, [call("getblockcount", rid=1), call("getblockhash", 800_002, rid=2)])
    assert status == 200 and reply[0]["result"] == 800_003
    block = parse_block_bytes(chain()[2])
    assert reply[1]["result"] == block.hash
    txid = block.txs[7].txid
    _, raw = await post(url, call("getrawtransaction", txid, False))
    _, verbose = await post(url, call("getrawtransaction", txid, True, block.hash))
    assert verbose["result"]["hex"] == raw["result"] and verbose["result"]["in_active_chain"] is True
    _, missing = await post(url, call("getrawtransaction", "ab" * 32, 1))
    assert missing["error"]["code"] == -5
    assert (await post(url, call("getblockcount"), auth=("tracer", "wrong")))[0] == 401


async def test_our_client_reads_verbosity_3_with_every_input_resolved(node: ReplayNode) -> None:
    async with HttpTransport(node.rpc_url) as transport:
        rpc = BitcoinRpcNode(JsonRpcClient(transport), verbosity=rq.TXS_PREVOUT)
        blocks = await rpc.blocks([800_001, 800_002, 800_003])
    for got, raw in zip(blocks, chain()[1:], strict=True):
        assert [t.txid for t in got.txs] == [t.txid for t in parse_block_bytes(raw).txs]
        assert all(i.source is InputSource.PREVOUT for t in got.txs[1:] for i in t.inputs)


@pytest.mark.parametrize("kind", ["500", "503", "cut", "drop", "stall"])
async def test_each_fault_kind_happens_as_described(kind: str) -> None:
    plan = FaultPlan(rate=1.0, kinds=(kind,), stall_seconds=0.3, retry_after_seconds=2)
    store = ReplayStore.from_paths([BLOCKS_1_255])
    async with serve_replay(store, faults=plan) as node, aiohttp.ClientSession() as session:
        started = time.perf_counter()
        try:
            async with session.post(node.rpc_url, json=call("getblockcount")) as resp:
                status, headers, body = resp.status, dict(resp.headers), await resp.read()
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            status, headers, body = -1, {}, repr(exc).encode()
    assert plan.counts == {kind: 1}
    if kind == "500":
        assert status == 500
    elif kind == "503":
        assert status == 503 and headers["Retry-After"] == "2"
    elif kind in ("cut", "drop"):
        assert status == -1, body  # the client sees a broken body or connection, never a valid answer
    else:
        assert status == 200 and b'"result":255' in body and time.perf_counter() - started >= 0.3


async def test_a_client_with_retries_reads_every_block_through_frequent_faults() -> None:
    plan = FaultPlan(rate=0.3, kinds=("500", "503", "cut", "drop"), seed=3, retry_after_seconds=0)
    store = ReplayStore.from_paths([BLOCKS_1_255])
    async with serve_replay(store, faults=plan) as node, HttpTransport(node.rpc_url) as transport:
        rpc = BitcoinRpcNode(JsonRpcClient(transport, retries=8, backoff=0.001), block_batch=5)
        blocks = await rpc.blocks(list(range(1, 41)))
    assert [b.height for b in blocks] == list(range(1, 41))
    assert sum(plan.counts.values()) >= 3


async def test_scripted_reorg_serves_a_stale_tip_then_the_real_chain() -> None:
    store = ReplayStore.from_paths([BLOCKS_1_255])
    real = {h: store.by_height[h] for h in (252, 253, 254, 255)}
    async with serve_replay(store, reorg=ReorgPlan(depth=3, after_requests=2)) as node:
        url = node.rpc_url
        before = [(await post(url, call("getblockhash", h), auth=None))[1]["result"] for h in (252, 253)]
        await asyncio.sleep(0)
        after = [(await post(url, call("getblockhash", h), auth=None))[1]["result"] for h in (252, 253, 255)]
        _, stale = await post(url, call("getblockheader", before[1]), auth=None)
    assert before[0] == real[252] and before[1] != real[253]  # 253..255 were a stale branch at first
    assert after == [real[252], real[253], real[255]]
    assert stale["result"]["confirmations"] == -1 and "nextblockhash" not in stale["result"]


async def test_core_rest_serves_raw_blocks_without_credentials_and_only_when_on(node: ReplayNode) -> None:
    """``bitcoind -rest``'s paths: the serialized block, chain info; 404 for an unknown block, as for every
    REST path of a node started without ``-rest``."""
    block = parse_block_bytes(chain()[2])
    async with CoreRest(rest_url(node.rpc_url)) as rest:
        assert await rest.available()
        assert await rest.raw_block(block.hash) == chain()[2]
        with pytest.raises(RpcError) as missing:
            await rest.raw_block("ab" * 32)
    assert missing.value.code == 404
    async with (
        serve_replay(ReplayStore.from_raw_blocks(chain()[:3]), rest=False) as plain,
        CoreRest(rest_url(plain.rpc_url)) as rest,
    ):
        assert not await rest.available()


def test_the_rest_root_drops_credentials_and_the_wallet_path() -> None:
    assert rest_url("http://user:pw@127.0.0.1:8332/wallet/cold?x=1") == "http://127.0.0.1:8332/rest"
