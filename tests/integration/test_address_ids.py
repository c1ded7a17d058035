"""Address ids owned by a first pass's one writer (``AddressIds.own``): new addresses get ids in-process and
are COPied in; the ids equal what the database holds, another writer's insert or a full cache turns the
ownership off without a wrong or duplicate id, and an aborted batch leaves nothing behind. With the unique
key of (chain, address) deferred by the first pass, any other writer rebuilds it before relying on it."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from tracer.jobs.labels import import_labels
from tracer.store import bulkload
from tracer.store.addresses import (
    PAYLOAD_MIN_ADDRESSES,
    AddressIds,
    ensure_address_ids,
    insert_new_addresses,
)

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
    ids = await batch(pool, cache, ["c1"])  # a stale id left in the cache would not be the stored one
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


ADDRESS_KEY = "addresses_address_chain_key"


async def key_deferred(pool: asyncpg.Pool) -> bool:
    """Whether the unique key of (chain, address) is deferred; checks the schema agrees with the record."""
    recorded = await pool.fetchval("SELECT count(*) FROM bulk_load_dropped WHERE name = $1", ADDRESS_KEY)
    present = await pool.fetchval("SELECT count(*) FROM pg_constraint WHERE conname = $1", ADDRESS_KEY)
    assert recorded + present == 1
    return bool(recorded)


async def duplicates(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM addresses GROUP BY chain, address HAVING count(*) > 1) d"
        )
    )


async def owner_with_key_deferred(pool: asyncpg.Pool, cache: AddressIds) -> None:
    async with pool.acquire() as conn:
        assert await cache.own(conn)
        await bulkload.enter(conn, bulkload.BITCOIN, unique=True)
    assert await key_deferred(pool)


async def test_another_writer_rebuilds_the_deferred_key_and_the_owner_gives_way(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN)
    await owner_with_key_deferred(pool, cache)
    mine = await batch(pool, cache, ["f1", "f2"])  # no unique index to maintain: the owner's COPY
    async with pool.acquire() as conn, conn.transaction():  # e.g. a label import: ON CONFLICT needs it
        theirs = await ensure_address_ids(conn, CHAIN, ["f2", "f3"])
    assert not await key_deferred(pool)
    assert theirs["f2"] == mine["f2"]
    ids = await batch(pool, cache, ["f3", "f4"])  # f3 is theirs: the owner's insert conflicts
    assert not cache.owned
    assert ids["f3"] == theirs["f3"]
    assert await stored(pool) == {**mine, **theirs, **ids}
    assert await duplicates(pool) == 0


async def test_an_owner_that_would_evict_rebuilds_the_deferred_key_itself(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN, max_entries=4)
    await owner_with_key_deferred(pool, cache)
    await batch(pool, cache, ["g1", "g2", "g3"])
    ids = await batch(pool, cache, ["g1", "g4", "g5"])  # past its limit: back to ON CONFLICT
    assert not cache.owned
    assert not await key_deferred(pool)
    assert (await stored(pool)).items() >= ids.items()
    assert len(await stored(pool)) == 5


async def test_the_end_of_the_pass_rebuilds_the_key(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN)
    await owner_with_key_deferred(pool, cache)
    await batch(pool, cache, ["h1", "h2"])
    async with pool.acquire() as conn:
        assert ADDRESS_KEY in await bulkload.leave(conn, bulkload.BITCOIN)
    assert not await key_deferred(pool)
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute("INSERT INTO addresses (chain, address) VALUES ($1, 'h1')", CHAIN)


async def test_a_label_import_during_the_pass_rebuilds_the_key(pool: asyncpg.Pool) -> None:
    cache = AddressIds(CHAIN)
    await owner_with_key_deferred(pool, cache)
    xbt = Path(__file__).parents[1] / "fixtures/labels/ofac/sanctioned_addresses_XBT.txt"  # real OFAC list
    listed = [line.strip() for line in xbt.read_text().splitlines() if line.strip()]
    mine = await batch(pool, cache, listed[:5])  # the pass met five of them before the labels came
    await import_labels(pool, xbt)
    assert not await key_deferred(pool)
    labelled = await pool.fetch("SELECT DISTINCT address_id FROM labels")
    assert set(mine.values()) <= {row[0] for row in labelled}
    assert await duplicates(pool) == 0


@pytest.mark.parametrize("count", [3, PAYLOAD_MIN_ADDRESSES])
async def test_new_addresses_store_the_same_rows_by_either_encoder(pool: asyncpg.Pool, count: int) -> None:
    """Fewer than PAYLOAD_MIN_ADDRESSES go through asyncpg's record encoder (numpy not imported for them),
    more through the binary payload: the ids returned are the rows stored, either way."""
    addresses = [f"{'x' * (k % 3)}addr{k}" for k in range(count)]  # several lengths: several runs
    async with pool.acquire() as conn, conn.transaction():
        ordered, drawn = await insert_new_addresses(conn, CHAIN, addresses)
    ids = dict(zip(ordered, drawn, strict=True))
    assert sorted(ordered) == sorted(addresses)
    assert await stored(pool) == ids
    assert len(set(ids.values())) == count
