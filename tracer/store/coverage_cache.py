"""A short-lived, per-connection cache of the coverage reference every screening carries.

The coverage (chains and heights indexed, label sources, the last exposure run) only changes when blocks
are indexed, labels imported or exposure refreshed, yet reading it took a round trip and an aggregate over
``blocks`` per screen. It is kept for ``COVERAGE_TTL_SECONDS`` per connection (a connection is tied to one
database) and dropped at once by this process's label imports and exposure refreshes (``invalidate``).
So an answer's coverage may lag indexing, or another process's label import, by at most the TTL.
A read that meets a snapshot this connection has not stored yet stores it (tracer.store.coverage), so
the id every answer names can be looked up.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from tracer.store.coverage import read_coverage, reference, store_snapshot

COVERAGE_TTL_SECONDS = 1.0  # short: bounds how far a coverage block can lag the database

_generation = [0]  # bumped by invalidate(): entries of an older generation are stale (a list: no `global`)


@dataclass
class _Entries:
    by_tenants: dict[tuple[str, ...], tuple[float, int, dict[str, object]]] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)  # snapshot ids this connection's database holds


_cache: weakref.WeakKeyDictionary[object, _Entries] = weakref.WeakKeyDictionary()


def invalidate() -> None:
    """Forget every cached coverage (after a label import or exposure refresh in this process)."""
    _generation[0] += 1


def cached_coverage(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object] | None:
    """The cached coverage reference for ``tenants`` on this connection's database, or None when it must
    be read."""
    entry = _entries(conn).by_tenants.get(tuple(tenants))
    if entry is None or entry[1] != _generation[0] or time.monotonic() - entry[0] > COVERAGE_TTL_SECONDS:
        return None
    return entry[2]


async def read_coverage_cached(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """The coverage reference for ``tenants``: from the cache when fresh, else read (and kept), its
    snapshot stored when this connection has not stored it yet."""
    coverage = cached_coverage(conn, tenants)
    if coverage is None:
        entries = _entries(conn)
        generation = _generation[0]  # read before the query: an invalidation meanwhile makes it stale
        full = await read_coverage(conn, tenants)
        coverage = reference(full)
        if coverage["id"] not in entries.stored:
            await store_snapshot(conn, full)
            entries.stored.add(str(coverage["id"]))
        entries.by_tenants[tuple(tenants)] = (time.monotonic(), generation, coverage)
    return coverage


def _entries(conn: asyncpg.Connection) -> _Entries:
    raw = getattr(conn, "_con", None) or conn  # a pool's proxy wraps the real connection
    return _cache.setdefault(raw, _Entries())
