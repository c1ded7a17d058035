"""Who is calling: a key's principal, looked up through a short-lived cache.

A revoked key stops working within ``CACHE_SECONDS`` in every running server (the cache is per process);
the lookup itself is one indexed select per key per interval, not one per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import asyncpg

from tracer.store import keys as store
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

CACHE_SECONDS = 2.0
_CACHE_MAX = 10_000  # distinct secrets remembered; random bad keys must not grow memory without bound


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request."""

    key_id: int | None  # None: authentication is off (a single user on their own machine)
    role: Role
    tenant: str
    rate: float


class Principals:
    """Secret -> the key's principal (or None when unknown/revoked), cached for a moment."""

    def __init__(self, pool: asyncpg.Pool, default_rate: float) -> None:
        self._pool = pool
        self._default_rate = default_rate
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    async def lookup(self, secret: str) -> Principal | None:
        now = time.monotonic()
        hit = self._cache.get(secret)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with translate_errors():
            key = await store.active_key(self._pool, secret)
        found = Principal(key.id, key.role, key.tenant, key.rate or self._default_rate) if key else None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[secret] = (now + CACHE_SECONDS, found)
        return found
