"""The coverage reference of a screening is cached briefly (tracer.store.coverage_cache), and a label import
must show in the very next screening, not after the cache's TTL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg

from tracer.jobs.labels import import_labels
from tracer.risk.screening import PUBLIC_TENANTS, screen
from tracer.store.coverage import load_snapshot
from tracer.store.coverage_cache import cached_coverage

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"
OFAC_XBT = LABELS / "ofac" / "sanctioned_addresses_XBT.txt"
SOME_ADDRESS = "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"  # in the OFAC XBT list


async def source_keys(pool: asyncpg.Pool, result: dict[str, object]) -> list[str]:
    """The label sources the answer's coverage reference names (its id's stored snapshot)."""
    ref = result["coverage"]
    assert isinstance(ref, dict)
    async with pool.acquire() as conn:
        coverage: Any = await load_snapshot(conn, ref["id"])
    return [s["key"] for s in coverage["label_sources"]]


async def test_a_label_import_refreshes_the_cached_coverage(pool: asyncpg.Pool) -> None:
    before = await screen(pool, "bitcoin", SOME_ADDRESS)
    assert await source_keys(pool, before) == []
    async with pool.acquire() as conn:  # the screening kept it: the next one needs no coverage query
        assert cached_coverage(conn, PUBLIC_TENANTS) is not None

    await import_labels(pool, OFAC_XBT)

    async with pool.acquire() as conn:
        assert cached_coverage(conn, PUBLIC_TENANTS) is None
    after = await screen(pool, "bitcoin", SOME_ADDRESS)
    assert len(await source_keys(pool, after)) == 1
    assert after["known"] is True  # the import's labels are read in the same screening
