"""Collapse guards compare owners by actor id (labels.actor_id), and by label text only for labels that
name no actor: two names of one actor are one owner, one name of two actors is two."""

from __future__ import annotations

import asyncpg
import numpy as np

from heuristics.evidence import Heuristic
from tracer.clustering.forest import Forest
from tracer.clustering.guards import DEFAULT_MAX_WEAK_SIZE, OwnerIndex, RefusalReason, check
from tracer.store.clusters import owner_labels

ADDRESSES = ("1BinanceA", "1BinanceB", "1Impostor", "1Plain", "1PlainToo")


async def _setup(conn: asyncpg.Connection) -> dict[str, int]:
    ids = {
        a: await conn.fetchval(
            "INSERT INTO addresses (chain, address) VALUES ('bitcoin', $1) RETURNING id", a
        )
        for a in ADDRESSES
    }
    source = await conn.fetchval(
        """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
           VALUES ('test', 'test', 'test', 'test', '', 5, 0) RETURNING id"""
    )
    actor = {
        key: await conn.fetchval(
            "INSERT INTO actors (key, name, category) VALUES ($1, $2, 'exchange') RETURNING id", key, name
        )
        for key, name in (("binance", "Binance"), ("fake", "Binance"))  # two actors, one name
    }
    rows = (  # address, label text, actor text, actor id
        ("1BinanceA", "Binance hot wallet", None, actor["binance"]),
        ("1BinanceB", "binance.com deposit", "Binance.com", actor["binance"]),
        ("1Impostor", "Binance hot wallet", None, actor["fake"]),
        ("1Plain", "Some Shop", None, None),
        ("1PlainToo", "some shop", None, None),
    )
    for address, label, actor_text, actor_id in rows:
        await conn.execute(
            """INSERT INTO labels (source_id, address_id, label, category, categories, actor, actor_id)
               VALUES ($1, $2, $3, 'exchange', ARRAY['exchange'], $4, $5)""",
            source, ids[address], label, actor_text, actor_id,
        )  # fmt: skip
    return ids


def _refused(owners: dict[int, list[str]], a: int, b: int) -> RefusalReason | None:
    forest = Forest(max(owners) + 1)
    index = OwnerIndex.build(owners, forest.roots(np.fromiter(owners, dtype=np.int64)))
    refusal = check(Heuristic.CHANGE_OPTIMAL, [a, b], [1, 1], index, DEFAULT_MAX_WEAK_SIZE)
    return None if refusal is None else refusal.reason


async def test_owners_are_actors_by_id_and_label_text_only_without_an_actor(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        ids = await _setup(conn)
        owners = await owner_labels(conn, "bitcoin")
    assert owners[ids["1BinanceA"]] == owners[ids["1BinanceB"]]  # two texts, one actor
    assert owners[ids["1BinanceA"]] != owners[ids["1Impostor"]]  # one text and name, two actors
    assert owners[ids["1Plain"]] == owners[ids["1PlainToo"]] == ["some shop"]  # no actor: the label text
    assert _refused(owners, ids["1BinanceA"], ids["1BinanceB"]) is None
    assert _refused(owners, ids["1BinanceA"], ids["1Impostor"]) is RefusalReason.OWNER_CONFLICT
    assert _refused(owners, ids["1Plain"], ids["1PlainToo"]) is None
