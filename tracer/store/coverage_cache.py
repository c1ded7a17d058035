"""A short-lived, per-connection cache of the coverage block every screening carries.

The coverage (chains and heights indexed, label sources, the last exposure run) only changes when blocks
are indexed, labels imported or exposure refreshed, yet reading it took a round trip and an aggregate over
``blocks`` per screen. It is kept for ``COVERAGE_TTL_SECONDS`` per connection (a connection is tied to one
database) and dropped at once by this process's label imports and exposure refreshes (``invalidate``).
So an answer's coverage may lag indexing, or another process's label import, by at most the TTL.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Sequence

import asyncpg

from tracer.store.exposure import read_coverage

COVERAGE_TTL_SECONDS = 1.0  # short: bounds how far a coverage block can lag the database

_generation = [0]  # bumped by invalidate(): entries of an older generation are stale (a list: no `global`)
_cache: weakref.WeakKeyDictionary[object, dict[tuple[str, ...], tuple[float, int, dict[str, object]]]] = (
    weakref.WeakKeyDictionary()
)


def invalidate() -> None:
    """Forget every cached coverage (after a label import or exposure refresh in this process)."""
    _generation[0] += 1


def cached_coverage(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object] | None:
    """The cached coverage for ``tenants`` on this connection's database, or None when it must be read."""
    entry = _entries(conn).get(tuple(tenants))
    if entry is None or entry[1] != _generation[0] or time.monotonic() - entry[0] > COVERAGE_TTL_SECONDS:
        return None
    return entry[2]


async def read_coverage_cached(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """The coverage for ``tenants``: from the cache when fresh, else read (and kept)."""
    coverage = cached_coverage(conn, tenants)
    if coverage is None:
        generation = _generation[0]  # read before the query: an invalidation meanwhile makes it stale
        coverage = await read_coverage(conn, tenants)
        _entries(conn)[tuple(tenants)] = (time.monotonic(), generation, coverage)
    return coverage


def _entries(conn: asyncpg.Connection) -> dict[tuple[str, ...], tuple[float, int, dict[str, object]]]:
    raw = getattr(conn, "_con", None) or conn  # a pool's proxy wraps the real connection
    return _cache.setdefault(raw, {})
