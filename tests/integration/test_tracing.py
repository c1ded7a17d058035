"""Taint tracing on a small hand-made chain (tests/flowgraph.py), each method's amounts worked out by hand.

    c0  coinbase                     -> T 1000, U 3000
    t1  U(c0:1)=3000, T(c0:0)=1000   -> P 2000, Q 1500          fee 500
    t2  Q(t1:1)=1500, P(t1:0)=2000   -> R 1200, S 2100          fee 200
    t3  S(t2:1)=2100, V(?)           -> W 2500                  V's input value is not indexed

T is the tainted start (forward); R is where we look back from (backward).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from flowgraph import FlowGraph, Spend, Unknown, addr

from chains.model import Chain
from tracer.errors import InputError, NotFound
from tracer.risk.taint import Direction, Method
from tracer.tracing import TraceParams, run_trace


@pytest.fixture
async def graph(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    async with pool.acquire() as conn:
        g = FlowGraph(conn)
        await g.tx("c0", [], [("T", 1000), ("U", 3000)])
        await g.tx("t1", [Spend("c0", 1), Spend("c0", 0)], [("P", 2000), ("Q", 1500)])
        await g.tx("t2", [Spend("t1", 1), Spend("t1", 0)], [("R", 1200), ("S", 2100)])
        await g.tx("t3", [Spend("t2", 1), Unknown("V")], [("W", 2500)])
    yield pool


async def trace_from(
    pool: asyncpg.Pool, name: str, direction: Direction, method: Method, hops: int = 3, **bounds: Any
) -> dict[str, object]:
    params = TraceParams(direction=direction, method=method, hops=hops, **bounds)
    async with pool.acquire() as conn:
        return await run_trace(conn, Chain.BITCOIN.value, ("address", addr(name)), params)


def amounts(result: dict[str, object]) -> dict[tuple[int, str], int | None]:
    """(hop, owner name) -> tainted amount, for every tainted coin."""
    names = {addr(n): n for n in "TUPQRSVW"}
    flows = result["flows"]
    assert isinstance(flows, list)
    return {(f["hop"], names.get(f["address"], "?")): f["amount"] for f in flows}


async def test_forward_poison(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "T", Direction.FORWARD, Method.POISON)
    # Any tainted input taints every output wholly: t1 -> P, Q; t2 -> R, S; t3 (poison needs no input
    # values) -> W.
    assert amounts(result) == {(1, "P"): 2000, (1, "Q"): 1500, (2, "R"): 1200, (2, "S"): 2100, (3, "W"): 2500}
    assert (result["method"], result["direction"], result["truncated"]) == ("poison", "forward", False)


async def test_forward_haircut(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "T", Direction.FORWARD, Method.HAIRCUT)
    # t1: 1000 of 4000 input sat tainted: P = 2000 * 1000 / 4000 = 500, Q = 1500 * 1000 / 4000 = 375.
    # t2: 375 + 500 = 875 of 3500: R = 1200 * 875 / 3500 = 300, S = 2100 * 875 / 3500 = 525.
    # t3: V's value is unknown, so the pool is: no amount for W, t3 listed as unknown.
    assert amounts(result) == {(1, "P"): 500, (1, "Q"): 375, (2, "R"): 300, (2, "S"): 525}
    unknown = result["unknown"]
    assert isinstance(unknown, list)
    assert [u["height"] for u in unknown] == [4]  # t3
    endpoints = {e["address"]: e["amount"] for e in result["endpoints"]}  # type: ignore[attr-defined]
    assert endpoints == {addr("R"): 300, addr("S"): 525}


async def test_forward_fifo(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "T", Direction.FORWARD, Method.FIFO)
    # t1 line: U [0, 3000), T [3000, 4000) tainted. P [0, 2000): none; Q [2000, 3500): [3000, 3500) = 500.
    # t2 line: Q [0, 1500) tainted at [1000, 1500); P [1500, 3500).
    #   R [0, 1200): [1000, 1200) = 200; S [1200, 3300): [1200, 1500) = 300. 500 in, 500 out.
    assert amounts(result) == {(1, "Q"): 500, (2, "R"): 200, (2, "S"): 300}
    path = next(p for p in result["paths"] if p["address"] == addr("R"))  # type: ignore[attr-defined]
    assert [s["address"] for s in path["steps"]] == [addr("Q"), addr("R")]
    assert [s["amount"] for s in path["steps"]] == [500, 200]
    assert all(s["time"] and s["txid"] for s in path["steps"])


async def test_backward_haircut(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "R", Direction.BACKWARD, Method.HAIRCUT)
    # R's 1200 came from t2's inputs in proportion:
    #   Q = 1500 * 1200 / 3500 = 514, P = 2000 * 1200 / 3500 = 685 (rounded down).
    # Both were made by t1: 514 + 685 = 1199 of its 4000 input sat:
    #   U = 3000 * 1199 / 4000 = 899, T = 1000 * 1199 / 4000 = 299.
    # Hop 3 reaches c0, a coinbase: newly minted, nothing further back.
    assert amounts(result) == {(1, "Q"): 514, (1, "P"): 685, (2, "U"): 899, (2, "T"): 299}
    assert [u["reason"] for u in result["unknown"]] == ["coinbase: newly minted, nothing further back"]  # type: ignore[attr-defined]


async def test_backward_fifo(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "R", Direction.BACKWARD, Method.FIFO)
    # t2 line: R [0, 1200) tracked; inputs Q [0, 1500) -> 1200 of Q (at [0, 1200)); P [1500, 3500) -> 0.
    # t1 line: outputs P [0, 2000), Q [2000, 3500) tracked at [2000, 3200);
    #   inputs U [0, 3000) -> [2000, 3000) = 1000; T [3000, 4000) -> [3000, 3200) = 200.
    assert amounts(result) == {(1, "Q"): 1200, (2, "U"): 1000, (2, "T"): 200}


async def test_backward_poison(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "R", Direction.BACKWARD, Method.POISON, hops=2)
    assert amounts(result) == {(1, "Q"): 1500, (1, "P"): 2000, (2, "U"): 3000, (2, "T"): 1000}


async def test_unknown_values_stay_unknown(graph: asyncpg.Pool) -> None:
    # Backward from W: t3 spent S (2100) and V's coin of unknown value. Poison still follows both, V's
    # amount unknown (null and a flag); haircut cannot split W without V's value.
    result = await trace_from(graph, "W", Direction.BACKWARD, Method.POISON, hops=1)
    flows = {f["address"]: f for f in result["flows"]}  # type: ignore[attr-defined]
    assert flows[addr("S")]["amount"] == 2100
    assert (flows[addr("V")]["amount"], flows[addr("V")]["amount_known"], flows[addr("V")]["value"]) == (
        None, False, None)  # fmt: skip
    result = await trace_from(graph, "W", Direction.BACKWARD, Method.HAIRCUT, hops=1)
    assert result["flows"] == []
    assert [u["reason"] for u in result["unknown"]] == ["a value this method needs is not indexed"]  # type: ignore[attr-defined]


async def test_bounds_flag_a_cut_search(graph: asyncpg.Pool) -> None:
    result = await trace_from(graph, "T", Direction.FORWARD, Method.POISON, hops=1)
    assert (result["truncated"], result["truncated_by"]) == (True, ["hops"])  # P and Q are spent onward
    result = await trace_from(graph, "T", Direction.FORWARD, Method.POISON, max_nodes=2)
    assert result["truncated_by"] == ["max_nodes"]
    parameters = result["parameters"]
    assert isinstance(parameters, dict)
    assert (parameters["max_nodes"], parameters["method"], parameters["hops"]) == (2, "poison", 3)


async def test_from_a_transaction_and_bad_starts(graph: asyncpg.Pool) -> None:
    t1 = await graph.fetchval("SELECT encode(txid, 'hex') FROM transactions WHERE block_height = 2")
    params = TraceParams(direction=Direction.FORWARD, method=Method.HAIRCUT, hops=1)
    async with graph.acquire() as conn:
        result = await run_trace(conn, "bitcoin", ("transaction", t1), params)
        # t1's outputs wholly tainted (3500); t2 spends both: R 1200, S 2100 (all of t2's inputs tainted).
        assert amounts(result) == {(1, "R"): 1200, (1, "S"): 2100}
        with pytest.raises(NotFound):
            await run_trace(conn, "bitcoin", ("transaction", "00" * 32), params)
        with pytest.raises(InputError):
            await run_trace(conn, "bitcoin", ("transaction", "not a txid"), params)
        with pytest.raises(InputError):
            await run_trace(conn, "ethereum", ("address", addr("T")), params)
    with pytest.raises(InputError):
        TraceParams(hops=0)
