"""The real node clients (HttpTransport + JsonRpcClient + BitcoinRpcNode, and EsploraNode) over real HTTP
against the replay node serving recorded mainnet blocks: what they return must equal parsing the files.

Data (tests/fixtures/README.md): block 540107 (230 txs, 2.26 MB, btcd ``block-0000…94ab.blk.gz``), blocks
1..255 (btcd ``blocks1-256.bz2``, blk framing, pre-BIP34: heights from genesis), and bitcoin-etl's recorded
``getblock <hash> 2`` results for blocks 0, 1, 50000, 50001 and 50002.
"""

from __future__ import annotations

import asyncio
import bz2
import contextlib
import gzip
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from chains.bitcoin.esplora import EsploraNode
from chains.bitcoin.node import BitcoinRpcNode
from chains.bitcoin.parse import iter_blk_frames, parse_block_bytes
from chains.errors import NodeAuthError, NodeNotSynced, NodeUnavailable, RpcError, RpcTimeout
from chains.model import Block
from chains.rpc import JsonRpcClient
from chains.stdhttp import StdlibHttpTransport
from chains.transport import HttpTransport
from tracer.devnode import ReplayNode, ReplayStore, serve_replay

FIXTURES = Path(__file__).parents[1] / "fixtures" / "bitcoin"
BLOCK_540107 = (
    FIXTURES / "raw/btcd/block-00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab.blk.gz"
)
BLOCKS_1_255 = FIXTURES / "raw/btcd/blocks1-256.bz2"
RPC_DIRS = [
    FIXTURES / "rpc" / d
    for d in ("block_0", "block_1", "block_without_transactions", "block_with_transactions")
]
HASH_540107 = "00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab"
AUTH = ("tracer", "replay-secret")  # the replay node's own test credentials, not a real node's
RETRIES, BACKOFF_S = 2, 0.001  # tiny backoff keeps the node-down test fast


# Both JSON-RPC transports map HTTP the same way (chains.transport: aiohttp; chains.stdhttp: http.client).
TRANSPORTS = pytest.mark.parametrize("transport_type", [HttpTransport, StdlibHttpTransport])
AnyTransport = type[HttpTransport] | type[StdlibHttpTransport]


@pytest.fixture(scope="session")
def store() -> ReplayStore:
    return ReplayStore.from_paths([BLOCK_540107, BLOCKS_1_255, *RPC_DIRS])


@pytest.fixture(scope="session")
async def replay(store: ReplayStore) -> AsyncIterator[ReplayNode]:
    async with serve_replay(store, auth=AUTH) as node:
        yield node


@pytest.fixture
async def rpc(replay: ReplayNode) -> AsyncIterator[BitcoinRpcNode]:
    async with HttpTransport(replay.rpc_url) as transport:
        yield BitcoinRpcNode(JsonRpcClient(transport, retries=RETRIES, backoff=BACKOFF_S))


@pytest.fixture
async def esplora(replay: ReplayNode) -> AsyncIterator[EsploraNode]:
    async with EsploraNode(replay.esplora_url, retries=RETRIES, backoff=BACKOFF_S) as node:
        yield node


@pytest.fixture(scope="session")
def block_540107() -> Block:
    return parse_block_bytes(gzip.decompress(BLOCK_540107.read_bytes()))


@pytest.fixture(scope="session")
def blocks_1_255() -> list[Block]:
    frames = iter_blk_frames(bz2.decompress(BLOCKS_1_255.read_bytes()))
    return [parse_block_bytes(raw, height) for height, raw in enumerate(frames, start=1)]


def test_store_heights_from_bip34_genesis_chain_and_recordings(store: ReplayStore) -> None:
    assert store.by_height[540107] == HASH_540107  # BIP34 coinbase height
    assert store.by_height[1] == "00000000839a8e6886ab5951d76f411475428afc90947ee320161bbf18eb6048"
    assert set(range(256)) <= store.by_height.keys()  # 0 from the recording, 1..255 chained from it
    assert {50000, 50001, 50002} <= store.by_height.keys()
    assert store.tip == 540107


async def test_rpc_raw_block_equals_parsing_the_file(rpc: BitcoinRpcNode, block_540107: Block) -> None:
    assert await rpc.tip_height() == 540107
    assert await rpc.block_hash(540107) == HASH_540107
    by_height = await rpc.block(540107)
    assert by_height == block_540107
    assert len(by_height.txs) == 230
    assert await rpc.block(HASH_540107) == block_540107  # by hash: height from getblockheader


async def test_esplora_block_equals_parsing_the_file(esplora: EsploraNode, block_540107: Block) -> None:
    assert await esplora.tip_height() == 540107
    assert await esplora.block(540107) == block_540107
    assert await esplora.block(HASH_540107) == block_540107


async def test_rpc_batch_of_255_heights(rpc: BitcoinRpcNode, blocks_1_255: list[Block]) -> None:
    heights = list(range(1, 256))
    assert await rpc.blocks(heights) == blocks_1_255
    assert blocks_1_255[0].prev_hash == "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"


async def test_esplora_many_heights(esplora: EsploraNode, blocks_1_255: list[Block]) -> None:
    assert await esplora.blocks(range(1, 101)) == blocks_1_255[:100]


async def test_json_verbosity_2_agrees_with_raw(replay: ReplayNode) -> None:
    # Recorded getblock-2 JSON (bitcoin-etl) for 0, 1, 50000..50002 vs the raw blocks rebuilt from its tx hex.
    heights = [0, 1, 50000, 50001, 50002]
    async with HttpTransport(replay.rpc_url) as transport:
        client = JsonRpcClient(transport)
        from_json = await BitcoinRpcNode(client, verbosity=2).blocks(heights)
        from_raw = await BitcoinRpcNode(client).blocks(heights)
    assert [len(b.txs) for b in from_json] == [1, 1, 1, 3, 1]
    for js, raw in zip(from_json, from_raw, strict=True):
        assert (js.hash, js.height, js.prev_hash, js.time) == (raw.hash, raw.height, raw.prev_hash, raw.time)
        assert [t.txid for t in js.txs] == [t.txid for t in raw.txs]
        assert [[o.value for o in t.outputs] for t in js.txs] == [
            [o.value for o in t.outputs] for t in raw.txs
        ]
    assert from_json[0].txs[0].outputs[0].value == 50 * 100_000_000  # genesis coinbase, in satoshi


async def test_height_beyond_tip_is_not_synced(rpc: BitcoinRpcNode, esplora: EsploraNode) -> None:
    with pytest.raises(NodeNotSynced):
        await rpc.block(540108)
    with pytest.raises(NodeNotSynced):
        await rpc.blocks([1, 2, 600000])
    with pytest.raises(NodeNotSynced):
        await esplora.block(540108)


async def test_unknown_hash_is_an_rpc_error(rpc: BitcoinRpcNode, esplora: EsploraNode) -> None:
    unknown = "00" * 31 + "01"
    with pytest.raises(RpcError) as info:
        await rpc.block(unknown)
    assert info.value.code == -5 and not info.value.retriable
    with pytest.raises(RpcError) as rest:
        await esplora.block(unknown)
    assert rest.value.code == 404


@TRANSPORTS
async def test_core_legacy_dialect_http_500_and_404(replay: ReplayNode, transport_type: AnyTransport) -> None:
    # jsonrpc 1.0: Core answers an RPC error with HTTP 500 (404 for an unknown method) and a JSON error body.
    async with transport_type(replay.rpc_url) as transport:
        client = JsonRpcClient(transport, jsonrpc="1.0")
        with pytest.raises(NodeNotSynced):
            await BitcoinRpcNode(client).block_hash(10**6)
        with pytest.raises(RpcError) as info:
            await client.call("getblockhash", [10**6])
        assert info.value.code == -8 and "out of range" in info.value.message
        with pytest.raises(RpcError) as missing:
            await client.call("sendtoaddress", ["1BoatSLRHtKNngkdXEeobR76b53LETtpyT", 1])
        assert missing.value.code == -32601
        assert await client.call("getbestblockhash") == HASH_540107


@TRANSPORTS
async def test_wrong_password_is_a_clear_auth_error(replay: ReplayNode, transport_type: AnyTransport) -> None:
    url = replay.rpc_url.replace(AUTH[1], "wrong-password")
    async with transport_type(url) as transport:
        client = JsonRpcClient(transport, retries=RETRIES, backoff=BACKOFF_S)
        with pytest.raises(NodeAuthError, match="HTTP 401") as info:
            await client.call("getblockcount")
    assert not info.value.retriable
    assert "wrong-password" not in str(info.value)  # credentials never end up in messages
    assert client.requests_sent == 1


@TRANSPORTS
async def test_node_down_is_unavailable_after_retries(transport_type: AnyTransport) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with transport_type(f"http://127.0.0.1:{port}/") as transport:
        client = JsonRpcClient(transport, retries=RETRIES, backoff=BACKOFF_S)
        with pytest.raises(NodeUnavailable) as info:
            await BitcoinRpcNode(client).tip_height()
    assert client.requests_sent == 3  # the first try and RETRIES more
    assert isinstance(info.value.__cause__, OSError)  # mapped at the boundary with raise ... from
    async with EsploraNode(f"http://127.0.0.1:{port}", retries=RETRIES, backoff=BACKOFF_S) as esplora:
        with pytest.raises(NodeUnavailable):
            await esplora.tip_height()


@contextlib.asynccontextmanager
async def serve_rpc(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]], *, keepalive: float = 75.0
) -> AsyncIterator[str]:
    """A one-route JSON-RPC endpoint on a free loopback port, for node behaviours the replay node lacks."""
    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app, keepalive_timeout=keepalive)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/"
    finally:
        await runner.cleanup()


@TRANSPORTS
async def test_slow_node_is_a_timeout(transport_type: AnyTransport) -> None:
    released = asyncio.Event()

    async def stall(request: web.Request) -> web.Response:
        await released.wait()  # answers only once the test is over
        return web.Response()

    async with serve_rpc(stall) as url:
        try:
            async with transport_type(url, timeout=0.05) as transport:
                with pytest.raises(RpcTimeout):
                    await JsonRpcClient(transport, retries=0).call("getblockcount")
        finally:
            released.set()


@TRANSPORTS
async def test_busy_node_503_is_retried(transport_type: AnyTransport) -> None:
    # Bitcoin Core answers "Work queue depth exceeded" with a plain-text HTTP 503 when -rpcworkqueue is full.
    seen: list[int] = []

    async def busy_once(request: web.Request) -> web.Response:
        seen.append(1)
        if len(seen) == 1:
            return web.Response(status=503, text="Work queue depth exceeded")
        rid = (await request.json())["id"]
        return web.json_response({"result": 540107, "error": None, "id": rid})

    async with serve_rpc(busy_once) as url, transport_type(url) as transport:
        client = JsonRpcClient(transport, retries=RETRIES, backoff=BACKOFF_S)
        assert await client.call("getblockcount") == 540107
    assert len(seen) == 2


@TRANSPORTS
async def test_chunked_answers_and_connections_the_node_closed_while_idle(
    transport_type: AnyTransport,
) -> None:
    # Chunked transfer encoding (no Content-Length), and a kept-alive connection the node drops after
    # 50 ms idle: the next request goes out on a fresh one, without an error or a retry of the client.
    async def chunked(request: web.Request) -> web.StreamResponse:
        rid = (await request.json())["id"]
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(b'{"jsonrpc":"2.0","id":%d,' % rid)
        await response.write(b'"result":540107}')
        await response.write_eof()
        return response

    async with serve_rpc(chunked, keepalive=0.05) as url, transport_type(url) as transport:
        client = JsonRpcClient(transport, retries=0)
        assert await client.call("getblockcount") == 540107
        await asyncio.sleep(0.3)
        assert await client.call("getblockcount") == 540107
        assert client.requests_sent == 2
