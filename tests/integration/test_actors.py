"""Actors from the shipped sources, on the whole bundled data set loaded as the demo loads it.

- Prince Group TCO / CHEN Zhi: the scam-centre table names it for 4 BTC addresses OFAC attached on
  2025-10-14 (Treasury press release sb0278); nhamilton1's OFAC snapshot of 2025-10-22 lists the same
  addresses without a name, so those OFAC labels resolve to Prince Group.
- Lazarus Group and Hydra Market: GraphSense ActorPack entries named by the Lazarus and Hydra TagPacks.
"""

from __future__ import annotations

import asyncpg

from tracer.risk.categories import ACTOR_CATEGORIES
from tracer.store.actors import actor_detail, actor_id_of, list_actors

PRINCE_GROUP = "scam-centres:prince-group-tco-chen-zhi"
PRINCE_ADDRESSES = {
    "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m",
    "bc1qw4fxztd5u3sl7vrcqwk2a8v5zh5dllvckx3tlt",
    "bc1qeth6n6ryxexvkx34wnx3nuynun4474h3j0gkhw",
    "bc1q2we5eqjj8je6lz9xwjattpc3pn4jejc5h0s70f",
}


async def test_scam_centre_actor_with_its_ofac_designation(loaded_pool: asyncpg.Pool) -> None:
    actor_id = await actor_id_of(loaded_pool, PRINCE_GROUP)
    assert actor_id is not None
    actor = await actor_detail(loaded_pool, actor_id, tenants=["public"])
    assert actor is not None
    assert (actor["name"], actor["category"]) == ("Prince Group TCO / CHEN Zhi", "sanctioned")
    assert actor["aliases"] == ["Prince Group TCO", "CHEN Zhi"]
    assert actor["designations"] == [
        {
            "authority": "OFAC",
            "date": "2025-10-14",
            "legal_basis": None,  # the table does not state one, so neither do we
            "source_url": "https://home.treasury.gov/news/press-releases/sb0278",
            "description": "OFAC designation of Prince Group TCO / Chen Zhi (Treasury press release sb0278)",
        }
    ]
    assert {a["address"] for a in actor["addresses"]} == PRINCE_ADDRESSES
    assert actor["address_count"] == 4


async def test_ofac_list_labels_resolve_to_the_designated_actor(loaded_pool: asyncpg.Pool) -> None:
    rows = await loaded_pool.fetch(
        """SELECT a.address, s.format, act.key FROM labels l
           JOIN addresses a ON a.id = l.address_id JOIN label_sources s ON s.id = l.source_id
           LEFT JOIN actors act ON act.id = l.actor_id
           WHERE a.address = ANY($1::text[])""",
        list(PRINCE_ADDRESSES),
    )
    ofac = [r for r in rows if r["format"] == "ofac-list"]
    assert {r["address"] for r in ofac} == PRINCE_ADDRESSES  # the 2025-10-22 snapshot lists all four
    assert {r["key"] for r in ofac} == {PRINCE_GROUP}
    # An OFAC label of an address no shipped source attributes stays without an actor.
    unattributed = await loaded_pool.fetchval(
        """SELECT count(*) FROM labels l JOIN label_sources s ON s.id = l.source_id
           WHERE s.format = 'ofac-list' AND l.actor_id IS NULL"""
    )
    assert unattributed > 400


async def test_actor_pack_actors_by_taxonomy_and_their_labels(loaded_pool: asyncpg.Pool) -> None:
    sanctioned = await list_actors(loaded_pool, category="sanctioned", limit=1000)
    keys = {a["key"] for a in sanctioned}
    assert {PRINCE_GROUP, "graphsense:lazarusgroup"} <= keys
    lazarus = next(a for a in sanctioned if a["key"] == "graphsense:lazarusgroup")
    assert lazarus["labels"] > 0  # lazarus.yaml / lazarus2.yaml tags name it
    hydra = await list_actors(loaded_pool, query="hydra market")
    assert [(a["key"], a["category"]) for a in hydra] == [("graphsense:hydramarket", "darknet_market")]
    assert hydra[0]["jurisdictions"] == ["RU"]
    categories = await loaded_pool.fetchval("SELECT array_agg(DISTINCT category) FROM actors")
    assert set(categories) <= {c.value for c in ACTOR_CATEGORIES}
    # Mining pools are not in the actor taxonomy: their tags keep the name, no actor record.
    assert await actor_id_of(loaded_pool, "graphsense:poolin") is None
    assert await loaded_pool.fetchval("SELECT count(*) FROM labels WHERE actor_key = 'graphsense:poolin'") > 0
