"""An actor record lives as long as the source that describes it (migration label_writes_joined,
tracer.store.actors): deleting the source deletes its actors, and a re-import that no longer describes
an actor deletes it; labels of other sources keep the actor's key and name and link again when the actor
is described again.

Files: the curated scam-centre table (tests/fixtures/labels/scam-centres/scam_centre_addresses.csv: Prince
Group / CHEN Zhi and Funnull with their OFAC designations) and the OFAC SDN XBT snapshot of 2025-10-22
(scam-centres/ofac-bitcoin/addresses.2025-10-22.json), whose Prince Group addresses link to that actor.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tracer.jobs.labels import import_labels
from tracer.store.labels import delete_source

SCAM_CENTRES = Path(__file__).parents[1] / "fixtures" / "labels" / "scam-centres"
TABLE = SCAM_CENTRES / "scam_centre_addresses.csv"
SNAPSHOT = SCAM_CENTRES / "ofac-bitcoin" / "addresses.2025-10-22.json"
PRINCE_GROUP = "scam-centres:prince-group-tco-chen-zhi"
FUNNULL = "scam-centres:funnull-technology-inc-funnull-cdn"


async def actor_keys(pool: asyncpg.Pool) -> list[str]:
    return [r["key"] for r in await pool.fetch("SELECT key FROM actors ORDER BY key")]


async def ofac_labels_linked(pool: asyncpg.Pool) -> int:
    return int(
        await pool.fetchval(
            """SELECT count(*) FROM labels l JOIN label_sources s ON s.id = l.source_id
               WHERE s.format = 'ofac-list' AND l.actor_id IS NOT NULL"""
        )
    )


async def test_deleting_a_source_deletes_its_actors_and_unlinks_other_sources(pool: asyncpg.Pool) -> None:
    await import_labels(pool, TABLE)
    await import_labels(pool, SNAPSHOT)
    assert await actor_keys(pool) == [FUNNULL, PRINCE_GROUP]
    assert await ofac_labels_linked(pool) == 4  # the snapshot's four Prince Group addresses
    assert await delete_source(pool, "public", TABLE.name) == 11
    assert await actor_keys(pool) == []
    assert await pool.fetchval("SELECT count(*) FROM actor_designations") == 0
    assert await ofac_labels_linked(pool) == 0
    await import_labels(pool, TABLE)  # described again: the snapshot's labels link again
    assert await actor_keys(pool) == [FUNNULL, PRINCE_GROUP]
    assert await ofac_labels_linked(pool) == 4


async def test_a_reimport_that_no_longer_describes_an_actor_deletes_it(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    table = tmp_path / TABLE.name
    table.write_bytes(TABLE.read_bytes())
    await import_labels(pool, table)
    assert await actor_keys(pool) == [FUNNULL, PRINCE_GROUP]
    lines = TABLE.read_text().splitlines(keepends=True)
    table.write_text("".join(line for line in lines if "Funnull" not in line))
    await import_labels(pool, table)
    assert await actor_keys(pool) == [PRINCE_GROUP]
    assert await pool.fetchval("SELECT count(*) FROM labels") == 9
