"""Address ids: every address is stored once per chain and referenced by its integer id.

Lookups go through the unique index one address at a time (``unnest`` joined to ``addresses``), never a
hash of the whole table: the cost of a batch is its own addresses, not the size of the database.
``AddressIds`` keeps the ids an indexer has seen in memory; the ids a batch inserted leave it again when
that batch's transaction rolls back (``abort``), so the cache never holds an id that does not exist.

A first pass (``tracer.store.bulkload``: one writer per chain) may *own* its chain's ids (``own``): the cache
then holds every stored address of the chain, so a miss is a new address, which gets its id here (one range
drawn from the table's sequence, other writers of addresses locked out until the batch commits) and is
COPied in: no conflict check, no ``RETURNING``, no second lookup (that insert-or-select was 37 % of an
end-to-end first pass). The pass also defers the unique key of (chain, address) (``tracer.store.bulkload``):
its random inserts were the largest cost left. Any other writer (``ensure_address_ids``, the label import)
rebuilds the key before relying on it; should it store one of the owner's new addresses, the owner's insert
then fails (rolled back to a savepoint) and the cache stops owning the ids; so does a cache about to outgrow
``max_entries`` (its ``ensure_address_ids`` rebuilds the key first). Either carries on as an ordinary cache.
So no address is ever stored twice, key or no key.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
from itertools import repeat
from typing import NamedTuple, cast

import asyncpg

from tracer.store import bulkload
from tracer.store.chainrows import look_up, store_ids
from tracer.store.sequences import draw_range

# Addresses; ~170 bytes each in CPython, so ~700 MB at most. A first pass owns the ids only while every
# address it met fits (the bench chain of 1M transactions holds 2.8M; mainnet about 1.3 billion).
DEFAULT_CACHE_ENTRIES = 4_000_000

_SELECT = """SELECT a.address, a.id FROM unnest($2::text[]) AS s(address)
             JOIN addresses a ON a.chain = $1 AND a.address = s.address"""
# Sorted, so concurrent writers take the unique index's locks in one order (no deadlocks).
_INSERT = """INSERT INTO addresses (chain, address)
             SELECT $1, s.address FROM unnest($2::text[]) AS s(address) ORDER BY s.address
             ON CONFLICT (chain, address) DO NOTHING
             RETURNING address, id"""


async def ensure_address_ids(
    conn: asyncpg.Connection, chain: str, addresses: Collection[str], *, mostly_new: bool = False
) -> dict[str, int]:
    """Return {address: id}, inserting the addresses not stored yet. Call inside a transaction.

    ``mostly_new``: insert first and look up only what was already there (an indexer's cache misses are
    mostly first sightings: the lookup of all of them cost a second index probe each, ~20 % of address
    time on the bench chain). Otherwise look up first, so existing addresses never take an id number."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    await bulkload.need_unique(conn, "addresses")  # ON CONFLICT (chain, address) below
    if mostly_new:
        found = await _fetch_ids(conn, _INSERT, chain, wanted)
        rest = [a for a in wanted if a not in found]
        if rest:
            found.update(await _fetch_ids(conn, _SELECT, chain, rest))
        return found
    found = await _fetch_ids(conn, _SELECT, chain, wanted)
    missing = [a for a in wanted if a not in found]
    if missing:
        found.update(await _fetch_ids(conn, _INSERT, chain, missing))
        raced = [a for a in missing if a not in found]  # inserted by a concurrent writer meanwhile
        if raced:
            found.update(await _fetch_ids(conn, _SELECT, chain, raced))
    return found


# The owner draws its ids as one range of the sequence (two operations, not one per id): nobody else may
# draw in between, so until its batch commits the owner locks out other writers of addresses (they wait,
# readers do not). So no other insert can race it for an address either.
_LOCK_WRITERS = "LOCK TABLE addresses IN SHARE ROW EXCLUSIVE MODE"


async def insert_new_addresses(
    conn: asyncpg.Connection, chain: str, addresses: list[str]
) -> tuple[list[str], range]:
    """Insert distinct ``addresses``, known not to be stored, with ids drawn from the sequence as one range:
    the addresses in the order of their ids, and the ids. Inside a transaction, whose end releases the lock
    it takes."""
    await conn.execute(_LOCK_WRITERS)
    ids = await draw_range(conn, "addresses", len(addresses))
    addresses = sorted(addresses, key=len)  # runs of one length: fixed-width rows (address_payload)
    payload = _address_payload(chain, ids, addresses) if len(addresses) >= PAYLOAD_MIN_ADDRESSES else None
    if payload is not None:
        await conn.copy_to_table("addresses", source=io.BytesIO(payload), columns=_COLUMNS, format="binary")
    else:
        records = zip(ids, repeat(chain), addresses)
        await conn.copy_records_to_table("addresses", records=records, columns=_COLUMNS)
    return addresses, ids


_COLUMNS = ["id", "chain", "address"]
# Below this many new addresses asyncpg's record encoder writes them: numpy's import (~60 ms, a third of a
# short EVM run's start-up; measured with python -X importtime) would cost more than its encoder saves.
PAYLOAD_MIN_ADDRESSES = 1000


def _address_payload(chain: str, ids: Sequence[int], addresses: list[str]) -> bytes | None:
    from tracer.store.chaincopy import address_payload  # imported when used: it brings numpy

    return address_payload(chain, ids, addresses)


async def stored_address_ids(conn: asyncpg.Connection, chain: str) -> dict[str, int]:
    """Every stored address of ``chain`` with its id (one COPY-speed scan)."""
    rows = await conn.fetch("SELECT address, id FROM addresses WHERE chain = $1", chain)
    return {address: address_id for address, address_id in rows}


async def _fetch_ids(conn: asyncpg.Connection, sql: str, chain: str, addresses: list[str]) -> dict[str, int]:
    return {row["address"]: row["id"] for row in await conn.fetch(sql, chain, addresses)}


class Lookup(NamedTuple):
    """A batch's addresses looked up in the cache (``AddressIds.lookup``)."""

    found: dict[str, int | None]  # None: not cached
    missing: list[str]  # the None ones


class AddressIds:
    """An in-process cache of address ids for one chain, in front of ``ensure_address_ids``."""

    def __init__(self, chain: str, max_entries: int = DEFAULT_CACHE_ENTRIES) -> None:
        self.chain = chain
        self.max_entries = max_entries
        self._ids: dict[str, int] = {}
        self._staged: list[list[str]] = []  # the addresses this batch added, each fill's
        self.owned = False  # every stored address of the chain is in the cache (see the module docstring)
        self.hits = 0
        self.misses = 0

    async def own(self, conn: asyncpg.Connection) -> bool:
        """Load every stored address of the chain and assign new ids here from now on; only for the one
        writer of a first pass. Refused (False) when the stored ones would fill more than half the cache."""
        count = await conn.fetchval("SELECT count(*) FROM addresses WHERE chain = $1", self.chain)
        if count > self.max_entries // 2:
            return False
        self._ids = await stored_address_ids(conn, self.chain)
        self._staged.clear()
        self.owned = True
        return True

    def disown(self) -> None:
        self.owned = False

    async def ids(self, conn: asyncpg.Connection, addresses: Collection[str]) -> Mapping[str, int]:
        """{address: id} for the distinct ``addresses`` of a batch. The ones not cached are looked up (or
        inserted) in one go, and taken out of the cache again by ``abort``. The batch's own mapping, not
        the cache: the row builders look each address up again, and probes of a small dict stay in the
        CPU's caches where those of the whole cache (millions) miss them."""
        return await self.fill(conn, self.lookup(addresses))

    def lookup(self, addresses: Collection[str]) -> Lookup:
        """The cache's side of ``ids``, no database. A writer may look a batch up ahead, while the one
        before it is written, as long as that one's ``fill`` ran before."""
        found: Lookup = Lookup({}, [])
        look_up(self._ids, list(addresses), *found)
        return found

    @property
    def known(self) -> dict[str, int]:
        """The cached ids, for a writer to look its batch's rows up in (``lookup``'s way, a range of rows at
        a time: ``tracer.store.chainrows``), not to change."""
        return self._ids

    async def fill(self, conn: asyncpg.Connection, lookup: Lookup) -> Mapping[str, int]:
        """The database's side of ``ids``: the lookup's ids, its missing ones filled in."""
        known, (found, missing) = self._ids, lookup
        self.misses += len(missing)
        self.hits += len(found) - len(missing)
        if missing:
            if self.owned and len(known) + len(missing) > self.max_entries:
                self.owned = False  # it would have to evict: back to asking the database
            inserted = await self._owned_insert(conn, missing) if self.owned else None
            if inserted is not None:
                new, ids = inserted
                store_ids(new, ids.start, known, found)  # no {address: id} of its own in between
            else:
                fetched = await ensure_address_ids(conn, self.chain, missing, mostly_new=True)
                new = list(fetched)
                known.update(fetched)
                found.update(fetched)
            self._staged.append(new)
        return cast(dict[str, int], found)

    async def _owned_insert(
        self, conn: asyncpg.Connection, missing: list[str]
    ) -> tuple[list[str], range] | None:
        """The owner's insert (``insert_new_addresses``); None, and no longer the owner, when another writer
        stored one of them."""
        try:
            async with conn.transaction():  # a savepoint: the batch goes on without it
                return await insert_new_addresses(conn, self.chain, missing)
        except asyncpg.UniqueViolationError:
            self.owned = False
            return None

    def commit(self) -> None:
        if len(self._ids) > self.max_entries:
            self._evict()
        self._staged.clear()

    def abort(self) -> None:
        for new in self._staged:
            for address in new:
                self._ids.pop(address, None)
        self._staged.clear()

    def _evict(self) -> None:
        """Drop the oldest entries (insertion order) down to the limit less a margin, in one pass."""
        drop = len(self._ids) - self.max_entries + self.max_entries // 10
        for key in list(self._ids)[: max(drop, 0)]:
            del self._ids[key]


async def find_address_id(conn: asyncpg.Connection | asyncpg.Pool, chain: str, address: str) -> int | None:
    value = await conn.fetchval("SELECT id FROM addresses WHERE chain = $1 AND address = $2", chain, address)
    return int(value) if value is not None else None
