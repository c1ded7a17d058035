"""Address ids owned by a first pass's one writer (``AddressIds.own``): new addresses get ids in-process and
are COPied in; the ids equal what the database holds, another writer's insert or a full cache turns the
ownership off without a wrong or duplicate id, and an aborted batch leaves nothing behind."""

from __future__ import annotations

import asyncpg

from tracer.store.addresses import AddressIds, ensure_address_ids

CHAIN = "bitcoin"


async def stored(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT address, id FROM addresses WHERE chain = $1", CHAIN)
    return {r["address"]: r["id"] for r in rows}


async def batch(pool: asyncpg.Pool, cache: AddressIds, addresses: list[str]) -> dict[str, int]:
    async with pool.acquire() as conn, conn.transaction():
        found = await cache.ids(conn, addresses)
        ids = {a: found[a] for a in addresses}  # the mapping is the cache itself, valid until commit
    cache.commit()
    return ids


async def test_owner_loads_the_stored_ids_and_assigns_new_ones(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        old = await ensure_address_ids(conn, CHAIN, ["a1", "a2"])
        await ensure_address_ids(conn, "ethereum", ["a3"])  # another chain's address of the same text
    cache = AddressIds(CHAIN)
    async with pool.acquire() as conn:
        assert await cache.own(conn)
    ids = await batch(pool, cache, ["a2", "a3", "a4", "a3"])
    assert cache.owned
    assert ids["a2"] == old["a2"]
    assert await stored(pool) == {**old, "a3": ids["a3"], "a4": ids["a4"]}
    assert await batch(pool, cache, ["a4", "a5"]) == {"a4": ids["a4"], "a5": (await stored(pool))["a5"]}


async def test_another_writers_address_turns_ownership_off(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN)
    async with pool.acquire() as conn:
        assert await cache.own(conn)
    async with pool.acquire() as conn, conn.transaction():
        theirs = await ensure_address_ids(conn, CHAIN, ["b2"])  # a writer the owner does not know of
    ids = await batch(pool, cache, ["b1", "b2"])
    assert not cache.owned
    assert ids["b2"] == theirs["b2"]
    assert await stored(pool) == ids


async def test_aborted_batch_leaves_no_address_and_no_cached_id(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN)
    async with pool.acquire() as conn:
        assert await cache.own(conn)
        tx = conn.transaction()
        await tx.start()
        await cache.ids(conn, ["c1"])
        await tx.rollback()
    cache.abort()
    assert await stored(pool) == {}
    async with pool.acquire() as conn:
        assert "c1" not in await cache.ids(conn, [])  # nor in the cache
    ids = await batch(pool, cache, ["c1"])
    assert await stored(pool) == ids


async def test_a_cache_that_would_evict_stops_owning(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN, max_entries=4)
    async with pool.acquire() as conn:
        assert await cache.own(conn)
    await batch(pool, cache, ["d1", "d2", "d3"])
    assert cache.owned
    ids = await batch(pool, cache, ["d1", "d4", "d5"])
    assert not cache.owned
    assert (await stored(pool)).items() >= ids.items()
    assert len(await stored(pool)) == 5


async def test_a_store_filling_half_the_cache_is_not_owned(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await ensure_address_ids(conn, CHAIN, ["e1", "e2", "e3"])
    cache = AddressIds(CHAIN, max_entries=4)
    async with pool.acquire() as conn:
        assert not await cache.own(conn)
    assert not cache.owned
