"""The coverage block of a screening is cached briefly (tracer.store.coverage_cache), and a label import
must show in the very next screening, not after the cache's TTL."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tracer.jobs.labels import import_labels
from tracer.risk.screening import PUBLIC_TENANTS, screen
from tracer.store.coverage_cache import cached_coverage

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"
OFAC_XBT = LABELS / "ofac" / "sanctioned_addresses_XBT.txt"
SOME_ADDRESS = "123WBUDmSJv4GctdVEz6Qq6z8nXSKrJ4KX"  # in the OFAC XBT list


def source_keys(result: dict[str, object]) -> list[str]:
    coverage = result["coverage"]
    assert isinstance(coverage, dict)
    return [s["key"] for s in coverage["label_sources"]]


async def test_a_label_import_refreshes_the_cached_coverage(pool: asyncpg.Pool) -> None:
    before = await screen(pool, "bitcoin", SOME_ADDRESS)
    assert source_keys(before) == []
    async with pool.acquire() as conn:  # the screening kept it: the next one needs no coverage query
        assert cached_coverage(conn, PUBLIC_TENANTS) is not None

    await import_labels(pool, OFAC_XBT)

    async with pool.acquire() as conn:
        assert cached_coverage(conn, PUBLIC_TENANTS) is None
    after = await screen(pool, "bitcoin", SOME_ADDRESS)
    assert len(source_keys(after)) == 1
    assert after["known"] is True  # the import's labels are read in the same screening
