"""JsonRpcClient against in-process transports: a scripted fake node and recorded responses. No sockets, no
monkeypatching, no real sleeping (the client gets a fake clock and sleep)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chains.bitcoin.node import BitcoinRpcNode
from chains.errors import (
    NodeAuthError,
    NodeError,
    NodeNotSynced,
    NodeProtocolError,
    NodeUnavailable,
    RpcError,
    RpcTimeout,
)
from chains.rpc import JsonRpcClient, TokenBucket, encode
from chains.transport import ReplayTransport

RPC_FIXTURES = Path(__file__).parents[1] / "fixtures" / "bitcoin" / "rpc"

Handler = Callable[[Any], Any]


class FakeClock:
    """Time that moves only when the client sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeNode:
    """A JSON-RPC node in a Python object: ``handler`` gets each decoded request body and returns the reply
    object (or raises a NodeError, as a transport would). Records what was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[Any] = []

    async def send(self, payload: bytes) -> bytes:
        request = json.loads(payload)
        self.sent.append(request)
        return json.dumps(self.handler(request)).encode()

    @property
    def batch_sizes(self) -> list[int]:
        return [len(r) if isinstance(r, list) else 1 for r in self.sent]


def ok(request: dict[str, Any], result: object) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request["id"], "result": result}


def err(request: dict[str, Any], code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request["id"], "error": {"code": code, "message": message}}


def echo_shuffled(body: Any) -> Any:
    """Answers ``square(n)`` with n*n, batch replies in a shuffled order."""
    if isinstance(body, dict):
        return ok(body, body["params"][0] ** 2)
    replies = [ok(r, r["params"][0] ** 2) for r in body]
    random.Random(7).shuffle(replies)
    return replies


def client_for(node: FakeNode, clock: FakeClock, **kwargs: Any) -> JsonRpcClient:
    return JsonRpcClient(node, clock=clock, sleep=clock.sleep, rng=lambda: 0.5, **kwargs)


async def test_batch_matches_shuffled_responses_by_id() -> None:
    node, clock = FakeNode(echo_shuffled), FakeClock()
    client = client_for(node, clock, max_batch=10)
    results = await client.batch([("square", [n]) for n in range(25)])
    assert results == [n * n for n in range(25)]
    assert node.batch_sizes == [10, 10, 5]
    ids = [r["id"] for batch in node.sent for r in batch]
    assert len(set(ids)) == 25  # the client numbers every call itself


async def test_batch_halves_on_retriable_error_and_grows_back_after_quiet_period() -> None:
    def node_rejects_big_batches(body: Any) -> Any:  # like a provider's "limit exceeded" (EIP-1474 -32005)
        if isinstance(body, list) and len(body) > 3:
            return {"jsonrpc": "2.0", "id": None, "error": {"code": -32005, "message": "batch too large"}}
        return echo_shuffled(body)

    node, clock = FakeNode(node_rejects_big_batches), FakeClock()
    client = client_for(node, clock, max_batch=8, quiet_period=30.0)
    assert await client.batch([("square", [n]) for n in range(8)]) == [n * n for n in range(8)]
    assert node.batch_sizes == [8, 4, 2, 2, 4, 2, 2]  # 8 fails, each half fails, quarters pass
    assert client.batch_size("square") == 2
    assert clock.sleeps == []  # halving is the retry; no waiting needed

    node.sent.clear()
    await client.batch([("square", [n]) for n in range(4)])
    assert node.batch_sizes == [2, 2]  # still small inside the quiet period
    clock.now += 30.0
    assert client.batch_size("square") == 4  # one doubling per quiet period, up to max_batch
    clock.now += 30.0
    assert client.batch_size("square") == 8


async def test_a_smaller_max_batch_of_one_call_does_not_shrink_the_next_batches() -> None:
    # The EVM node asks for few blocks' receipts per request when blocks are large, many when small: only a
    # node's failure may lower what later batches send, never one caller's cap.
    node, clock = FakeNode(echo_shuffled), FakeClock()
    client = client_for(node, clock, max_batch=8, quiet_period=30.0)
    await client.batch([("square", [n]) for n in range(4)], max_batch=2)
    await client.batch([("square", [n]) for n in range(16)])
    assert node.batch_sizes == [2, 2, 8, 8]
    assert client.batch_size("square") == 8


async def test_timeout_halves_the_batch_and_only_failed_items_are_resent() -> None:
    attempts: dict[int, int] = {}

    def flaky(body: Any) -> Any:
        if len(body) > 2:
            raise RpcTimeout("no answer in time")
        replies = []
        for r in body:  # item 5 is "warming up" once (Core's RPC_IN_WARMUP, -28), then fine
            n = r["params"][0]
            attempts[n] = attempts.get(n, 0) + 1
            replies.append(
                err(r, -28, "Loading block index") if n == 5 and attempts[n] == 1 else ok(r, n * n)
            )
        return replies

    node, clock = FakeNode(flaky), FakeClock()
    client = client_for(node, clock, max_batch=8)
    assert await client.batch([("square", [n]) for n in range(8)]) == [n * n for n in range(8)]
    assert attempts[4] == 1 and attempts[5] == 2  # 4 shared a batch with 5 but was not asked again
    assert len(clock.sleeps) == 1  # the single failed item waited once before its retry


async def test_non_retriable_item_error_surfaces_with_code_and_call() -> None:
    def node(body: Any) -> Any:
        return [err(r, -5, "Block not found") if r["params"][0] == "00" * 32 else ok(r, {}) for r in body]

    fake, clock = FakeNode(node), FakeClock()
    client = client_for(fake, clock)
    with pytest.raises(RpcError) as info:
        await client.batch([("getblock", ["11" * 32, 0]), ("getblock", ["00" * 32, 0])])
    assert info.value.code == -5 and not info.value.retriable
    assert "Block not found" in str(info.value)
    assert any("getblock" in note for note in info.value.__notes__)
    assert len(fake.sent) == 1 and clock.sleeps == []  # no retry for a wrong request


async def test_legacy_core_error_reply_on_a_single_call() -> None:
    # Bitcoin Core (legacy dialect) sends {"result": null, "error": {...}} with HTTP 500; the transport passes
    # the body through and the client raises the RPC error.
    fake = FakeNode(
        lambda r: {
            "result": None,
            "error": {"code": -8, "message": "Block height out of range"},
            "id": r["id"],
        }
    )
    client = client_for(fake, FakeClock())
    with pytest.raises(RpcError) as info:
        await client.call("getblockhash", [10**9])
    assert info.value.code == -8 and not info.value.retriable


async def test_retries_with_exponential_backoff_then_succeeds() -> None:
    failures = [NodeUnavailable("connection refused"), RpcTimeout("slow"), NodeUnavailable("reset")]

    def recovering(body: Any) -> Any:
        if failures:
            raise failures.pop(0)
        return ok(body, 840000)

    node, clock = FakeNode(recovering), FakeClock()
    client = client_for(node, clock, retries=5, backoff=0.2, backoff_max=0.5)
    assert await client.call("getblockcount") == 840000
    # equal jitter with rng=0.5: 3/4 of min(cap, 0.2 * 2**attempt)
    assert clock.sleeps == pytest.approx([0.15, 0.3, 0.375])


async def test_gives_up_after_retries_and_raises_the_last_error() -> None:
    def down(body: Any) -> Any:
        raise NodeUnavailable("connection refused")

    node, clock = FakeNode(down), FakeClock()
    client = JsonRpcClient(
        node, retries=3, backoff=0.1, clock=clock, sleep=clock.sleep, rng=random.Random(1).random
    )
    with pytest.raises(NodeUnavailable):
        await client.batch([("getblockhash", [h]) for h in range(10)])
    assert node.batch_sizes == [10, 10, 10, 10]  # a node that is down is not helped by smaller batches
    ceilings = [0.1, 0.2, 0.4]
    assert all(c / 2 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))


async def test_auth_error_is_not_retried() -> None:
    def refuses(body: Any) -> Any:
        raise NodeAuthError("rejected the credentials (HTTP 401)")

    node, clock = FakeNode(refuses), FakeClock()
    with pytest.raises(NodeAuthError):
        await client_for(node, clock).call("getblockcount")
    assert len(node.sent) == 1 and clock.sleeps == []


async def test_reply_missing_an_id_is_a_protocol_error() -> None:
    node = FakeNode(lambda body: [ok(r, 1) for r in body[:-1]])
    with pytest.raises(NodeProtocolError, match="no response with id"):
        await client_for(node, FakeClock()).batch([("square", [1]), ("square", [2])])


class LiteralReply:
    """Answers every single call with the same result text, exactly as written."""

    def __init__(self, result: bytes) -> None:
        self.result = result

    async def send(self, payload: bytes) -> bytes:
        rid = json.loads(payload)["id"]
        return b'{"jsonrpc":"2.0","id":%d,"result":%s}' % (rid, self.result)


async def test_btc_amounts_decode_as_decimal() -> None:
    # 50 BTC coinbase and a 1-sat amount: binary floats would turn 0.1 + 0.2 style sums into off-by-one sats.
    transport = LiteralReply(b'{"value":50.00000000,"fee":0.00000001}')
    result = await JsonRpcClient(transport).call("gettxout", ["00" * 32, 0])
    assert result == {"value": Decimal("50.00000000"), "fee": Decimal("0.00000001")}


async def test_rate_limit_spaces_requests() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, burst=1.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        await bucket.acquire()
    assert clock.sleeps == pytest.approx([0.25] * 4)  # 4 requests/s after the first


async def test_rate_limited_client_counts_http_requests() -> None:
    node, clock = FakeNode(echo_shuffled), FakeClock()
    client = client_for(node, clock, max_batch=10, rate_limit=2.0)
    await client.batch([("square", [n]) for n in range(40)])
    assert client.requests_sent == 4
    assert sum(clock.sleeps) == pytest.approx(1.0)  # burst of 2, then 2 more at 0.5 s each


# --- BitcoinRpcNode through recorded Bitcoin Core answers (bitcoin-etl's fixtures) -------------------------


async def test_rpc_node_fetches_recorded_blocks_50001_50002_as_json() -> None:
    # Blocks 50001 (3 txs) and 50002 (1 tx), getblock verbosity 2 as recorded by bitcoin-etl.
    replay = ReplayTransport(RPC_FIXTURES / "stream_50001_50002")
    node = BitcoinRpcNode(JsonRpcClient(replay), verbosity=2)
    blocks = await node.blocks([50001, 50002])
    assert [(b.height, len(b.txs)) for b in blocks] == [(50001, 3), (50002, 1)]
    assert blocks[0].hash == "000000001c920d495e1eeef2452b6d1c6c229a919b28196c103ecffebabee141"
    assert blocks[1].prev_hash == blocks[0].hash
    assert await node.tip_height() == 500000
    assert [len(r) for r in replay.requests if isinstance(r, list)] == [
        2,
        2,
    ]  # one batch each: hashes, blocks


async def test_replay_transport_names_the_missing_recording() -> None:
    node = BitcoinRpcNode(JsonRpcClient(ReplayTransport(RPC_FIXTURES / "block_1")), verbosity=2)
    with pytest.raises(FileNotFoundError, match=r"rpc_response_getblockhash_7\.json"):
        await node.block(7)


async def test_rpc_node_maps_height_beyond_tip_to_not_synced() -> None:
    def node(body: Any) -> Any:
        return [err(r, -8, "Block height out of range") for r in body]

    client = client_for(FakeNode(node), FakeClock())
    with pytest.raises(NodeNotSynced) as info:
        await BitcoinRpcNode(client).blocks([900000, 900001])
    assert isinstance(info.value.__cause__, RpcError)
    assert isinstance(info.value, NodeError)


def test_requests_are_compact_json_with_integers_of_any_size() -> None:
    # orjson writes the batches; an integer beyond 64 bits (which it refuses) goes through json instead.
    assert encode([{"id": 1, "params": ["0x1", True]}]) == b'[{"id":1,"params":["0x1",true]}]'
    assert json.loads(encode({"params": [2**70, (1, 2)]})) == {"params": [2**70, [1, 2]]}
