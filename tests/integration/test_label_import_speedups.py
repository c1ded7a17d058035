"""What the label import's speed-ups must not change: the keys of labels are still enforced (checked per
statement, tracer/store/migrations/015), a deleted source still takes its labels with it, files parse in
a thread while earlier ones are written (tracer.jobs.ahead), and the ActorPack's early skip of actors
outside the taxonomy gives what a full PyYAML load gives.

Real files: tests/fixtures/labels/ofac/sanctioned_addresses_XBT.txt (OFAC SDN XBT list) and the GraphSense
ActorPack (graphsense-tagpacks/actors/graphsense.actorpack.yaml.gz); see tests/fixtures/README.md.
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import yaml

from tracer.errors import ImportRefused, MalformedInput
from tracer.jobs import labels as jobs_labels
from tracer.jobs.ahead import ahead, ahead_ready
from tracer.jobs.labels import ImportOptions, import_labels, import_records
from tracer.labels.actors import parse_actor_pack
from tracer.labels.formats import parse_label_file
from tracer.labels.records import SourceSpec
from tracer.store.labels import delete_source

LABELS = Path(__file__).parents[1] / "fixtures" / "labels"
XBT = LABELS / "ofac/sanctioned_addresses_XBT.txt"
ACTOR_PACK = LABELS / "graphsense-tagpacks/actors/graphsense.actorpack.yaml.gz"


async def test_a_label_naming_no_address_source_or_actor_is_refused(pool: asyncpg.Pool) -> None:
    await import_labels(pool, XBT)
    source_id = await pool.fetchval("SELECT id FROM label_sources")
    address_id = await pool.fetchval("SELECT max(id) FROM addresses")
    insert = """INSERT INTO labels (source_id, address_id, label, category, categories)
                VALUES ($1, $2, 'x', 'other', '{}')"""
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="address"):
        await pool.execute(insert, source_id, address_id + 1000)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="label source"):
        await pool.execute(insert, source_id + 1000, address_id)
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="label source"):
        await pool.execute("UPDATE labels SET source_id = source_id + 1000")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="actor"):
        await pool.execute("UPDATE labels SET actor_id = 1000")
    labelled = await pool.fetchval("SELECT address_id FROM labels LIMIT 1")
    with pytest.raises(asyncpg.ForeignKeyViolationError, match="cannot be deleted"):
        await pool.execute("DELETE FROM addresses WHERE id = $1", labelled)
    assert await pool.fetchval("SELECT count(*) FROM labels") == 435


async def test_deleting_a_source_deletes_its_labels(pool: asyncpg.Pool) -> None:
    await import_labels(pool, XBT)
    assert await delete_source(pool, "public", "sanctioned_addresses_XBT.txt") == 435
    assert await pool.fetchval("SELECT count(*) FROM labels") == 0


async def test_a_malformed_file_after_good_ones_writes_nothing(
    pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs_labels, "WRITE_BATCH_LABELS", 1)  # write each file as soon as it is parsed
    (tmp_path / "a_sanctioned_addresses_XBT.txt").write_bytes(XBT.read_bytes())
    (tmp_path / "z.yaml").write_bytes(b"tags:\n- address: [\n")  # fails after a.txt's labels were written
    with pytest.raises(MalformedInput):
        await import_labels(pool, tmp_path)
    assert await pool.fetchval("SELECT count(*) FROM labels") == 0
    assert await pool.fetchval("SELECT count(*) FROM label_sources") == 0


async def test_ahead_keeps_order_drops_none_and_raises_the_workers_error() -> None:
    def half(n: int) -> int | None:
        if n == 7:
            raise ValueError("seven")
        return n // 2 if n % 2 == 0 else None

    assert [x async for x in ahead(half, range(7))] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="seven"):
        async for _ in ahead(half, range(10)):
            pass


async def test_ahead_ready_hands_over_what_piled_up_in_order() -> None:
    handed, all_computed = threading.Event(), threading.Event()

    def numbers() -> Iterator[int]:
        yield 0
        handed.wait(5)  # the rest is computed once the consumer has the first result
        yield from range(1, 5)
        all_computed.set()  # asked for the next item: every result so far is queued

    steps = []
    async for results in ahead_ready(lambda n: n, numbers()):
        steps.append(results)
        handed.set()
        await asyncio.to_thread(all_computed.wait, 5)  # a slow consumer: the worker finishes meanwhile
    assert steps == [[0], [1, 2, 3, 4]]


def test_actor_pack_early_skip_matches_a_full_pyyaml_load() -> None:
    fast = parse_label_file(ACTOR_PACK.name, ACTOR_PACK.read_bytes())
    doc = yaml.load(gzip.decompress(ACTOR_PACK.read_bytes()), Loader=yaml.CSafeLoader)
    full = parse_actor_pack(doc, "graphsense.actorpack.yaml")
    assert fast.actors == full.actors and len(fast.actors) == 1350
    assert fast.skipped == full.skipped == {"actor outside the actor taxonomy": 2463}
    assert (fast.title, fast.as_of) == (full.title, full.as_of)


async def test_labels_are_stored_as_parsed_in_file_order(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Labels that say the same share one staging row of fields (tracer.store.labels); every label must
    still be stored with its own values, in the order of the files (largest first, tracer.jobs.labels) and
    of the records in each."""
    packs = ["ransomware.yaml.gz", "ofac.yaml", "lazarus.yaml"]  # many tags alike; actors; mixed fields
    for name in packs:
        (tmp_path / name).write_bytes((LABELS / "graphsense-tagpacks/packs" / name).read_bytes())
    (tmp_path / XBT.name).write_bytes(XBT.read_bytes())
    await import_labels(pool, tmp_path)
    expected = []
    by_size = sorted([*packs, XBT.name], key=lambda name: (-(tmp_path / name).stat().st_size, name))
    assert by_size[0] == "ransomware.yaml.gz"
    for name in by_size:
        for r in parse_label_file(name, (tmp_path / name).read_bytes()).records:
            categories = [c.value for c in r.categories]
            values = (r.label, categories[0], categories, r.actor, r.confidence, r.reference, r.actor_key)
            expected.append((r.chain.value, r.address, *values, dict(r.attributes)))
    stored = await pool.fetch(
        """SELECT a.chain, a.address, l.label, l.category, l.categories, l.actor, l.confidence, l.reference,
                  l.actor_key, l.attributes
           FROM labels l JOIN addresses a ON a.id = l.address_id ORDER BY l.id"""
    )
    assert [tuple(row) for row in stored] == expected
    assert len(expected) > 7000


async def test_only_the_import_insert_skips_the_keys_check(pool: asyncpg.Pool) -> None:
    """The import's INSERT takes its keys from its joins and skips the check (migration
    label_writes_joined); a write after it in the same transaction is checked again."""
    records = parse_label_file(XBT.name, XBT.read_bytes()).records
    spec = SourceSpec("xbt", "OFAC XBT", "ofac-list", str(XBT), "0" * 64)
    async with pool.acquire() as conn, conn.transaction():
        await import_records(conn, spec, records)
        source_id = await conn.fetchval("SELECT id FROM label_sources")
        with pytest.raises(asyncpg.ForeignKeyViolationError, match="address"):
            async with conn.transaction():
                await conn.execute(
                    """INSERT INTO labels (source_id, address_id, label, category, categories)
                       VALUES ($1, -1, 'x', 'other', '{}')""",
                    source_id,
                )
        assert await conn.fetchval("SELECT current_setting('work_mem')") == "4MB"
    assert await pool.fetchval("SELECT count(*) FROM labels") == 435


async def test_a_reimport_keeps_the_labels_it_repeats(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """Re-importing a source rewrites only what changed: labels that say the same keep their rows (ids,
    so the exposure refresh has nothing to search again), others are deleted or added."""
    a, b, c, d = XBT.read_text().split()[:4]  # four OFAC SDN XBT addresses
    table = tmp_path / "mine.csv"
    table.write_text(f"address,label\n{a},one\n{b},two\n{c},three\n")
    await import_labels(pool, table)
    query = (
        "SELECT a.address, l.label, l.id FROM labels l JOIN addresses a ON a.id = l.address_id ORDER BY l.id"
    )
    first = {(r["address"], r["label"]): r["id"] for r in await pool.fetch(query)}
    await import_labels(pool, table)  # the same file again: nothing rewritten
    assert {(r["address"], r["label"]): r["id"] for r in await pool.fetch(query)} == first
    table.write_text(f"address,label\n{a},one\n{b},TWO\n{d},four\n")
    await import_labels(pool, table, ImportOptions(replace="mine.csv"))  # keeps 1 of 3: asked for
    after = [(r["address"], r["label"], r["id"]) for r in await pool.fetch(query)]
    assert after[0] == (a, "one", first[(a, "one")])
    assert [(address, label) for address, label, _ in after[1:]] == [(b, "TWO"), (d, "four")]
    assert min(i for _, _, i in after[1:]) > max(first.values())


async def test_a_reimport_replaces_its_labels_whatever_the_label_and_source_ids(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Which replaced sources have labels is asked per source: once the first source is deleted, no label's
    id equals its source's id, and a re-import must still replace its labels rather than add them again."""
    a, b, c, d = XBT.read_text().split()[:4]
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(f"address,label\n{a},one\n{b},two\n")  # label ids 1, 2 of source 1
    second.write_text(f"address,label\n{c},three\n{d},four\n")  # label ids 3, 4 of source 2
    await import_labels(pool, first)
    await import_labels(pool, second)
    await delete_source(pool, "public", "first.csv")
    second.write_text(f"address,label\n{c},three\n{d},FOUR\n")
    await import_labels(pool, second)
    rows = await pool.fetch(
        "SELECT a.address, l.label FROM labels l JOIN addresses a ON a.id = l.address_id ORDER BY l.id"
    )
    assert [(r["address"], r["label"]) for r in rows] == [(c, "three"), (d, "FOUR")]


async def test_an_address_another_writer_stores_meanwhile_is_not_an_error(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """New addresses go in with a plain insert; one that another transaction stores meanwhile (here: stored,
    uncommitted, so the insert waits for it) fails it, and the insert is done again with ON CONFLICT."""
    a, b = XBT.read_text().split()[:2]
    table = tmp_path / "mine.csv"
    table.write_text(f"address,label\n{a},one\n{b},two\n")
    async with pool.acquire() as other, other.transaction():
        await other.execute("INSERT INTO addresses (chain, address) VALUES ('bitcoin', $1)", a)
        importing = asyncio.create_task(import_labels(pool, table, refresh=False))
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT%'"
        )
        for _ in range(200):  # until the import's insert waits on our row
            if await pool.fetchval(waiting) or importing.done():
                break
            await asyncio.sleep(0.05)
        assert not importing.done()
    await importing
    rows = await pool.fetch(
        "SELECT a.address, l.label FROM labels l JOIN addresses a ON a.id = l.address_id ORDER BY l.id"
    )
    assert [(r["address"], r["label"]) for r in rows] == [(a, "one"), (b, "two")]
    assert await pool.fetchval("SELECT count(*) FROM addresses") == 2


async def test_deleting_an_actor_unlinks_its_labels(pool: asyncpg.Pool) -> None:
    await import_labels(pool, LABELS / "graphsense-tagpacks")
    actor_id, linked = await pool.fetchrow(
        """SELECT actor_id, count(*) FROM labels WHERE actor_id IS NOT NULL
           GROUP BY actor_id ORDER BY 2 DESC, 1 LIMIT 1"""
    )
    assert linked > 1
    await pool.execute("DELETE FROM actors WHERE id = $1", actor_id)
    assert await pool.fetchval("SELECT count(*) FROM labels WHERE actor_id = $1", actor_id) == 0
    assert (
        await pool.fetchval("SELECT count(*) FROM labels WHERE actor_id IS NULL AND actor_key IS NOT NULL")
        >= linked
    )


async def test_the_collector_runs_again_after_an_import(pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The import pauses cyclic garbage collection while it parses (tracer.jobs.labels), and resumes it
    also when it fails."""
    assert gc.isenabled()
    await import_labels(pool, XBT)
    assert gc.isenabled()
    bad = tmp_path / "bad.csv"
    bad.write_text("address,label\nnot-an-address,x\n")
    with pytest.raises(ImportRefused):  # no labels in it
        await import_labels(pool, bad)
    assert gc.isenabled()


async def test_the_staging_analyze_leaves_the_statistics_target_as_it_was(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL default_statistics_target = 321")
        await import_records(
            conn,
            SourceSpec("mine", "mine", "csv", "here", ""),
            parse_label_file(XBT.name, XBT.read_bytes()).records,
        )
        assert await conn.fetchval("SELECT current_setting('default_statistics_target')") == "321"
