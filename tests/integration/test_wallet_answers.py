"""The answer parts the exposure refresh stores per wallet (tracer.store.wallet_answers) give, passed
through, the same answers as the reference path that builds them from the exposure rows per screening."""

from __future__ import annotations

import asyncpg
import orjson
from flowgraph import FlowGraph, Spend, addr

from chains.model import Chain
from tracer.risk.answers import plain
from tracer.risk.screening import ScreeningOptions, screen_many
from tracer.store.exposure_refresh import refresh_exposure

# Addresses of each chain whose wallet has exposure (the parts), some labelled ones (the reference way
# inside the fast one) and some with neither.
_SAMPLE = """
(SELECT a.address FROM addresses a LEFT JOIN address_clusters ac ON ac.address_id = a.id
 JOIN wallet_exposure e ON e.wallet = COALESCE(ac.cluster_id, a.id) AND e.tenant = 'public'
 WHERE a.chain = $1 GROUP BY a.address ORDER BY a.address LIMIT 3000)
UNION
(SELECT a.address FROM labels l JOIN addresses a ON a.id = l.address_id WHERE a.chain = $1
 ORDER BY a.address LIMIT 200)
UNION
(SELECT a.address FROM addresses a WHERE a.chain = $1 ORDER BY a.id LIMIT 200)
"""


def comparable(answer: dict[str, object]) -> dict[str, object]:
    return {**plain(answer), "screened_at": None}  # the screenings may fall in different seconds


async def test_stored_parts_give_the_reference_answers(loaded_pool: asyncpg.Pool) -> None:
    exposed = 0
    async with loaded_pool.acquire() as conn:
        for chain in (Chain.BITCOIN, Chain.ETHEREUM):
            sample = [r["address"] for r in await conn.fetch(_SAMPLE, chain.value)]
            sample.append("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")  # never seen on either chain: unknown
            fast = await screen_many(conn, chain, sample, ScreeningOptions())
            reference = await screen_many(conn, chain, sample, ScreeningOptions(), precomputed=False)
            for got, want in zip(fast.results, reference.results, strict=True):
                assert comparable(got) == comparable(want), want["address"]
            for n in range(0, len(sample), 20):  # one at a time: the single-address read (the API's screens)
                one = await screen_many(conn, chain, [sample[n]], ScreeningOptions())
                assert comparable(one.results[0]) == comparable(reference.results[n]), sample[n]
            exposed += sum(1 for r in fast.results if isinstance(r["exposure"], orjson.Fragment))
    assert exposed > 100  # most answers came from stored parts


async def test_a_renamed_source_reaches_the_stored_parts(pool: asyncpg.Pool) -> None:
    """A source's title shown in reasons changes in place (a re-import with a new title): the next
    incremental refresh rebuilds the parts of the wallets exposed to its actors, though no row changed."""
    async with pool.acquire() as conn:
        g = FlowGraph(conn)
        await g.tx("c0", [], [("S", 1000)])
        await g.tx("t1", [Spend("c0", 0)], [("A", 600), ("S", 390)])
        await g.tx("t2", [Spend("t1", 0)], [("B", 500), ("A", 90)])
        await g.label("S", "sanctioned", source="OFAC SDN list (test)")
    await refresh_exposure(pool)
    await pool.execute("UPDATE label_sources SET title = 'renamed list' WHERE title = 'OFAC SDN list (test)'")
    assert (await refresh_exposure(pool)).mode == "incremental"
    async with pool.acquire() as conn:
        names = [addr("A"), addr("B")]
        fast = await screen_many(conn, Chain.BITCOIN, names, ScreeningOptions())
        reference = await screen_many(conn, Chain.BITCOIN, names, ScreeningOptions(), precomputed=False)
    assert all(isinstance(r["exposure"], orjson.Fragment) for r in fast.results)
    for got, want in zip(fast.results, reference.results, strict=True):
        assert comparable(got) == comparable(want)
    b = comparable(fast.results[1])
    assert b["risk"]["reasons"][0]["sources"] == ["renamed list"]  # type: ignore[index]
    assert b["exposure"][0]["path"][-1]["address"] == addr("B")  # type: ignore[index]  # the screened one
