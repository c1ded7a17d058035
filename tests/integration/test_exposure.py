"""Exposure on a small hand-made chain (tests/flowgraph.py) whose amounts are worked out below.

    c0  coinbase           -> S 1000                          S: sanctioned (OFAC-style list)
    t1  S(c0:0)            -> A 600, S 390      (fee 10)      flow S->A 600 (S->S is change, not a flow)
    t2  A(t1:0)            -> B 500, A 90                     flow A->B 500
    t3  B(t2:0)            -> C 200, D 290                    flows B->C 200, B->D 290
    t4  C(t3:0)            -> E 150                           flow C->E 150 (4 hops from S)
    c5  coinbase           -> X 70
    t6  X(c5:0)            -> S 70                            flow X->S 70 (X paid S)
    c7  coinbase           -> F 40
    t8  F(c7:0), G(?)      -> S 100                           two payers, G's value unknown: shares unknown

No clustering runs, so every address is its own wallet.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from flowgraph import FlowGraph, Spend, Unknown, addr

from tracer.risk.screening import screen
from tracer.store.exposure_refresh import ExposureParams, refresh_exposure


@pytest.fixture
async def graph(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    async with pool.acquire() as conn:
        g = FlowGraph(conn)
        await g.tx("c0", [], [("S", 1000)])
        await g.tx("t1", [Spend("c0", 0)], [("A", 600), ("S", 390)])
        await g.tx("t2", [Spend("t1", 0)], [("B", 500), ("A", 90)])
        await g.tx("t3", [Spend("t2", 0)], [("C", 200), ("D", 290)])
        await g.tx("t4", [Spend("t3", 0)], [("E", 150)])
        await g.tx("c5", [], [("X", 70)])
        await g.tx("t6", [Spend("c5", 0)], [("S", 70)])
        await g.tx("c7", [], [("F", 40)])
        await g.tx("t8", [Spend("c7", 0), Unknown("G")], [("S", 100)])
        await g.label("S", "sanctioned", source="OFAC SDN list (test)")
        await g.label("S", "sanctioned", source="GraphSense TagPack: ofac (test)")
    yield pool


async def exposure_of(pool: asyncpg.Pool, name: str) -> list[dict[str, object]]:
    result = await screen(pool, "bitcoin", addr(name))
    exposure = result["exposure"]
    assert isinstance(exposure, list)
    return exposure


async def test_direct_and_indirect_exposure_carry_the_path_bottleneck(graph: asyncpg.Pool) -> None:
    await refresh_exposure(graph)
    expected = {  # name: (hops, amount = smallest hop on the path, path)
        "A": (1, 600, ["S", "A"]),
        "B": (2, 500, ["S", "A", "B"]),  # min(600, 500)
        "C": (3, 200, ["S", "A", "B", "C"]),  # min(600, 500, 200)
        "D": (3, 290, ["S", "A", "B", "D"]),  # min(600, 500, 290)
    }
    for name, (hops, amount, path) in expected.items():
        [entry] = await exposure_of(graph, name)
        assert (entry["direction"], entry["hops"], entry["amount"]) == ("incoming", hops, amount), name
        assert [p["address"] for p in entry["path"]] == [addr(p) for p in path]  # type: ignore[attr-defined]
        assert len(entry["path_txids"]) == hops  # type: ignore[arg-type]
    # E is 4 hops away: beyond the default 3, no exposure.
    assert await exposure_of(graph, "E") == []


async def test_share_is_of_the_wallets_total_in_that_direction(graph: asyncpg.Pool) -> None:
    await refresh_exposure(graph)
    # B received 500 from A only; C received 200 (all it got); A received 600 from S (and 90 change).
    [b] = await exposure_of(graph, "B")
    assert b["share"] == 1.0
    [d] = await exposure_of(graph, "D")
    assert d["share"] == 1.0 and d["tx_count"] == 1


async def test_outgoing_exposure_and_an_unknown_amount_stays_unknown(graph: asyncpg.Pool) -> None:
    await refresh_exposure(graph)
    [x] = await exposure_of(graph, "X")
    assert (x["direction"], x["hops"], x["amount"], x["amount_is_lower_bound"]) == ("outgoing", 1, 70, False)
    assert [p["address"] for p in x["path"]] == [addr("X"), addr("S")]  # type: ignore[attr-defined]
    # F paid S together with G, whose input value is unknown: F's share of the 100 cannot be known.
    [f] = await exposure_of(graph, "F")
    assert (f["direction"], f["amount"], f["txs_value_unknown"], f["share"]) == ("outgoing", None, 1, None)
    result = await screen(graph, "bitcoin", addr("G"))
    activity = result["activity"]
    assert isinstance(activity, dict)
    assert (activity["sent"], activity["inputs_value_unknown"]) == (None, 1)  # not 0
    reason = result["risk"]["reasons"][0]  # type: ignore[index]
    assert reason["amount"] is None and "an unknown amount" in reason["explanation"]


async def test_hops_are_bounded_and_a_cut_frontier_is_flagged(graph: asyncpg.Pool) -> None:
    report = await refresh_exposure(graph, params=ExposureParams(hops=1))
    assert not report.truncated
    assert await exposure_of(graph, "B") == []  # 2 hops: not searched
    # Outgoing, S's hop-1 frontier is {X, F, G}: keeping one per actor and direction cuts it.
    report = await refresh_exposure(graph, params=ExposureParams(hops=3, max_frontier=1))
    assert report.truncated
    result = await screen(graph, "bitcoin", addr("A"))
    assert result["coverage"]["truncated"] is True  # type: ignore[index]
    # A hub (more counterparties than max_fanout) is reached but not expanded: A has one receiver (B).
    report = await refresh_exposure(graph, params=ExposureParams(max_fanout=0))
    assert report.truncated
    assert [e["hops"] for e in await exposure_of(graph, "A")] == [1]
    assert await exposure_of(graph, "B") == []


async def test_labels_are_one_actor_per_address_with_every_source(graph: asyncpg.Pool) -> None:
    await refresh_exposure(graph)
    result = await screen(graph, "bitcoin", addr("B"))
    [reason] = result["risk"]["reasons"]  # type: ignore[index]
    assert reason["sources"] == ["GraphSense TagPack: ofac (test)", "OFAC SDN list (test)"]
    # Sanctioned 100 x counterparty 0.6 x 0.5 for the second hop.
    assert (reason["score"], reason["hops"], result["risk"]["level"]) == (30, 2, "medium")  # type: ignore[index]
    # The precomputed score, by which screening picks a wallet's riskiest exposures, is the same.
    stored = await graph.fetchval(
        "SELECT score FROM wallet_exposure WHERE wallet = $1",
        result["cluster"]["id"],  # type: ignore[index]
    )
    assert stored == 30
