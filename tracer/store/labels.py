"""Label sources and their labels. A source is replaced as a whole, only by its own re-import or on request.

Call the writers inside a transaction (``async with conn.transaction()``); tracer.jobs.labels does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg
import orjson

from tracer.errors import NotFound
from tracer.labels.guard import StoredSourceInfo, check_import
from tracer.labels.records import LabelRecord, LabelSet, SourceSpec
from tracer.store import bulkload, coverage_cache
from tracer.store.actors import link_labels, upsert_actors

# What ANALYZE reads after labels change: of labels, only the columns queries filter and join on (the
# statistics of its text, array and jsonb columns cost most of the time and no plan uses them).
LABEL_TABLES = (
    "addresses",
    "label_sources",
    "labels (tenant, source_id, address_id, category, actor_key, actor_id)",
)
_LABEL_COLUMNS = (
    "tenant",
    "source_id",
    "address_id",
    "label",
    "category",
    "categories",
    "actor",
    "confidence",
    "reference",
    "attributes",
    "actor_key",
    "actor_id",
)
# A write goes through two staging tables: one row per label (its address and which fields it has) and one
# row per distinct set of fields. Most labels of a source say the same thing about different addresses
# (a TagPack's tags, an OFAC list), so the per-label rows stay four narrow columns: measured on the bundled
# lists, 79,281 labels share ~2,000 field sets, and COPY of the twelve-column rows cost more in Python
# encoding and PostgreSQL parsing (jsonb, text[]) than the rest of the write.
_STAGING = "staging_labels"
_STAGING_COLUMNS = ("part", "fields", "chain", "address")
_FIELDS = "staging_label_fields"
_FIELDS_COLUMNS = (
    "part",
    "fields",
    "source_id",
    "tenant",
    "label",
    "category",
    "categories",
    "actor",
    "confidence",
    "reference",
    "attributes",
    "actor_key",
)
# Chain and address compare byte by byte, as addresses.address does (migration 024): sorting a batch's
# new addresses by strcoll cost ~60 ms of a 36,000-label batch; "C" orders UTF-8 as the database's C.UTF-8
# does, by code point.
_STAGING_DDL = f"""CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (
    seq bigint GENERATED ALWAYS AS IDENTITY, part integer, fields integer, chain text COLLATE "C",
    address text COLLATE "C")
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS {_FIELDS} (
    part integer, fields integer, source_id bigint, tenant text, label text, category text,
    categories text[], actor text, confidence text, reference text, attributes jsonb, actor_key text)
    ON COMMIT DELETE ROWS;
TRUNCATE {_STAGING}, {_FIELDS}"""
# Without statistics the planner takes the staging tables for a few rows and probes the address index once
# per label (measured: 145 ms of a 36,000-label batch; a hash join takes ~20 ms). Row counts and which
# columns are unique are all those plans need, and a sample of 3,000 rows gives them (statistics target 10;
# the default samples 30,000 rows and sorts them: ~28 against ~4 ms for 36,000 labels). Set for this one
# ANALYZE, the caller's target restored after it.
_STAGING_STATISTICS = 10
_ANALYZE_STAGING = f"""SELECT set_config('tracer.statistics_target',
                  current_setting('default_statistics_target'), true);
SELECT set_config('default_statistics_target', '{_STAGING_STATISTICS}', true);
ANALYZE {_STAGING}, {_FIELDS};
SELECT set_config('default_statistics_target', current_setting('tracer.statistics_target'), true)"""
# Sorting a large batch's labels back into input order (so label ids follow it) spills to disk with the
# default 4MB; this much memory keeps it in memory, set for that one statement.
_SORT_MEMORY = "64MB"
# Staged labels with their address ids, as a subquery (x).
_STAGED = f"""SELECT s.seq, a.id AS address_id, f.*
    FROM {_STAGING} s JOIN addresses a ON a.chain = s.chain AND a.address = s.address
    JOIN {_FIELDS} f ON f.part = s.part AND f.fields = s.fields"""
# A stored label (l) that says exactly what a staged one (x) says.
_SAME = """l.source_id = x.source_id AND l.address_id = x.address_id AND l.label = x.label
    AND l.tenant = x.tenant AND l.category = x.category AND l.categories = x.categories
    AND l.actor IS NOT DISTINCT FROM x.actor AND l.confidence IS NOT DISTINCT FROM x.confidence
    AND l.reference IS NOT DISTINCT FROM x.reference AND l.attributes = x.attributes
    AND l.actor_key IS NOT DISTINCT FROM x.actor_key"""
# Replacing sources that have labels ($1): the labels the new ones do not repeat go, the rest stay as they
# are (ids, actor links, and the exposure computed from them: tracer.store.exposure_changes compares label
# ids, so a re-import of an unchanged list leaves nothing to search again).
_DELETE_UNREPEATED = f"""DELETE FROM labels l WHERE l.source_id = ANY($1::bigint[])
    AND NOT EXISTS (SELECT 1 FROM ({_STAGED}) x WHERE {_SAME})"""
# A label naming an actor already stored is linked as it is written: linking it afterwards
# (tracer.store.actors.link_labels, which still links the rest) rewrites the row and its index entries.
# Labels of sources in $1 that are stored already are not written again.
_INSERT_LABELS = f"""INSERT INTO labels ({", ".join(_LABEL_COLUMNS)})
    SELECT x.tenant, x.source_id, x.address_id, x.label, x.category, x.categories, x.actor, x.confidence,
           x.reference, x.attributes, x.actor_key, k.id
    FROM ({_STAGED}) x LEFT JOIN actors k ON k.key = x.actor_key
    WHERE x.source_id <> ALL($1::bigint[]) OR NOT EXISTS (SELECT 1 FROM labels l WHERE {_SAME})
    ORDER BY x.seq"""
# The staged addresses not stored yet. Sorted, so concurrent writers take row locks in one order; by address
# first, whose leading bytes differ, so the sort compares abbreviated keys (sorted by chain first, where a
# batch's keys are all equal, it took twice as long: ~60 against ~30 ms for 67,000 addresses). The anti-join
# keeps the identity sequence from being burnt on addresses we already have.
_NEW_ADDRESSES = f"""INSERT INTO addresses (chain, address)
    SELECT DISTINCT s.chain, s.address FROM {_STAGING} s
    WHERE NOT EXISTS (SELECT 1 FROM addresses a WHERE a.chain = s.chain AND a.address = s.address)
    ORDER BY s.address, s.chain"""
# Of the sources ($1) a write replaces, those with labels stored. (Qualified: a bare ``id`` inside the
# subquery is labels.id, which made this "any label whose id is its source's id", true for every source
# or for none.)
_WITH_LABELS = """SELECT array_agg(u.id) FROM unnest($1::bigint[]) AS u(id)
    WHERE EXISTS (SELECT 1 FROM labels l WHERE l.source_id = u.id)"""
_SOURCE_COLUMNS = """s.id, s.tenant, s.name, s.title, s.format, s.origin, s.sha256, s.as_of, s.licence,
    s.entries, s.actors, s.skipped, s.imported_at"""


@dataclass(frozen=True, slots=True)
class StoredSource:
    id: int
    tenant: str
    name: str
    title: str
    format: str
    origin: str
    sha256: str
    as_of: date | None
    licence: str | None
    entries: int
    actors: int
    skipped: int
    imported_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "name": self.name,
            "title": self.title,
            "format": self.format,
            "origin": self.origin,
            "sha256": self.sha256,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "licence": self.licence,
            "labels": self.entries,
            "actors": self.actors,
            "skipped": self.skipped,
            "imported_at": self.imported_at.isoformat(timespec="seconds"),
        }

    @property
    def info(self) -> StoredSourceInfo:
        return StoredSourceInfo(self.name, self.origin, self.sha256, self.entries + self.actors)


async def sources(conn: asyncpg.Connection | asyncpg.Pool, tenant: str | None = None) -> list[StoredSource]:
    """All sources (of one tenant if given), by tenant and name."""
    rows = await conn.fetch(
        f"""SELECT {_SOURCE_COLUMNS} FROM label_sources s
            WHERE $1::text IS NULL OR s.tenant = $1 ORDER BY s.tenant, s.name""",
        tenant,
    )
    return [StoredSource(**dict(r)) for r in rows]


async def source_named(
    conn: asyncpg.Connection | asyncpg.Pool, tenant: str, name: str
) -> StoredSource | None:
    row = await conn.fetchrow(
        f"SELECT {_SOURCE_COLUMNS} FROM label_sources s WHERE s.tenant = $1 AND s.name = $2", tenant, name
    )
    return StoredSource(**dict(row)) if row else None


async def source_by_id(conn: asyncpg.Connection | asyncpg.Pool, source_id: int) -> StoredSource:
    row = await conn.fetchrow(f"SELECT {_SOURCE_COLUMNS} FROM label_sources s WHERE s.id = $1", source_id)
    if row is None:
        raise NotFound(f"no label source {source_id}")
    return StoredSource(**dict(row))


async def sources_by_id(conn: asyncpg.Connection, source_ids: Sequence[int]) -> dict[int, StoredSource]:
    """The sources of ``source_ids`` (those that exist), in one query."""
    rows = await conn.fetch(
        f"SELECT {_SOURCE_COLUMNS} FROM label_sources s WHERE s.id = ANY($1::bigint[])", list(source_ids)
    )
    return {r["id"]: StoredSource(**dict(r)) for r in rows}


async def source_from(conn: asyncpg.Connection, tenant: str, origin: str) -> StoredSource | None:
    """The source last imported from ``origin`` in the tenant (a re-import of the same file)."""
    row = await conn.fetchrow(
        f"""SELECT {_SOURCE_COLUMNS} FROM label_sources s WHERE s.tenant = $1 AND s.origin = $2
            ORDER BY s.imported_at DESC, s.id DESC LIMIT 1""",
        tenant,
        origin,
    )
    return StoredSource(**dict(row)) if row else None


async def import_label_set(
    conn: asyncpg.Connection, spec: SourceSpec, labels: LabelSet, *, replace: str | None = None
) -> StoredSource:
    """Store ``labels`` as source ``spec.name``, replacing that source (and ``replace``) if allowed.

    Raises ImportRefused (tracer.labels.guard) instead of writing when the import would empty a source
    or replace another file's source without being asked to. Call inside a transaction.
    """
    source_id = await prepare_source(conn, spec, labels, replace=replace)
    await write_labels(conn, [(source_id, spec.tenant, labels.records)])
    stored = await source_named(conn, spec.tenant, spec.name)
    if stored is None:  # we just wrote it in this transaction
        raise RuntimeError(f"label source {spec.name!r} vanished while importing")
    return stored


async def prepare_source(
    conn: asyncpg.Connection, spec: SourceSpec, labels: LabelSet, *, replace: str | None = None
) -> int:
    """Check the import (tracer.labels.guard), then upsert the source row and its actors.

    Returns the source id for ``write_labels``, which replaces the source's labels (``whole``). Call inside
    the transaction that writes the labels.
    """
    same_name = await source_named(conn, spec.tenant, spec.name)
    replaced = await source_named(conn, spec.tenant, replace) if replace is not None else None
    check_import(
        name=spec.name,
        origin=spec.origin,
        count=len(labels.records) + len(labels.actors),
        skipped=labels.skipped,
        same_name=same_name.info if same_name else None,
        replace=replace,
        replaced=replaced.info if replaced else None,
    )
    if replaced is not None and replaced.name != spec.name:
        await conn.execute("DELETE FROM label_sources WHERE id = $1", replaced.id)
    counts = (len(labels.records), len(labels.actors), sum(labels.skipped.values()))
    source_id, new = await _upsert_source(conn, spec, *counts)
    await upsert_actors(conn, source_id, labels.actors, spec.tenant, described_before=not new)
    return source_id


async def apply_label_changes(
    conn: asyncpg.Connection,
    spec: SourceSpec,
    upserts: Sequence[LabelRecord],
    removals: Sequence[tuple[str, str]],
) -> StoredSource:
    """Change some labels of an incrementally kept source (issuer freezes): the labels of ``upserts``'
    addresses are replaced, those of ``removals`` (chain, address) deleted; the rest stay. The source's
    count and sha256 (of its sorted ``chain:address`` lines) are recomputed. Call inside a transaction.
    """
    source_id, _ = await _upsert_source(conn, spec, 0, 0, 0)
    touched = sorted({(r.chain.value, r.address) for r in upserts} | set(removals))
    await conn.execute(
        """DELETE FROM labels l USING addresses a, unnest($2::text[], $3::text[]) AS t(chain, address)
           WHERE l.source_id = $1 AND a.id = l.address_id AND a.chain = t.chain AND a.address = t.address""",
        source_id,
        [c for c, _ in touched],
        [a for _, a in touched],
    )
    await write_labels(conn, [(source_id, spec.tenant, upserts)], whole=False)
    await conn.execute(
        """UPDATE label_sources s SET entries = c.n, sha256 = c.digest FROM (
               SELECT count(*) AS n,
                      encode(sha256(convert_to(COALESCE(string_agg(a.chain || ':' || a.address, E'\n'
                          ORDER BY a.chain, a.address), ''), 'UTF8')), 'hex') AS digest
               FROM labels l JOIN addresses a ON a.id = l.address_id WHERE l.source_id = $1) c
           WHERE s.id = $1""",
        source_id,
    )
    return await source_by_id(conn, source_id)


async def delete_source(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, name: str) -> int | None:
    """Delete a source and its labels; the number of labels removed (None if there was no such source)."""
    coverage_cache.invalidate()
    entries = await conn.fetchval(
        "DELETE FROM label_sources WHERE tenant = $1 AND name = $2 RETURNING entries", tenant, name
    )
    return None if entries is None else int(entries)


async def _upsert_source(
    conn: asyncpg.Connection, spec: SourceSpec, entries: int, actors: int, skipped: int
) -> tuple[int, bool]:
    """The source's id, and whether it is new (inserted rather than updated: ``xmax`` is 0 only for a row
    version no statement has updated or locked)."""
    coverage_cache.invalidate()  # screenings report label sources
    row = await conn.fetchrow(
        """INSERT INTO label_sources
               (tenant, name, title, format, origin, sha256, as_of, licence, entries, skipped, actors)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (tenant, name) DO UPDATE
           SET title = EXCLUDED.title, format = EXCLUDED.format, origin = EXCLUDED.origin,
               sha256 = EXCLUDED.sha256, as_of = EXCLUDED.as_of, licence = EXCLUDED.licence,
               entries = EXCLUDED.entries, skipped = EXCLUDED.skipped, actors = EXCLUDED.actors,
               imported_at = now()
           RETURNING id, xmax = 0 AS inserted""",
        spec.tenant,
        spec.name,
        spec.title,
        spec.format,
        spec.origin,
        spec.sha256,
        spec.as_of,
        spec.licence,
        entries,
        skipped,
        actors,
    )
    return int(row["id"]), bool(row["inserted"])


async def write_labels(
    conn: asyncpg.Connection,
    batches: Sequence[tuple[int, str, Sequence[LabelRecord]]],
    *,
    link: bool = True,
    whole: bool = True,
) -> None:
    """Write the labels of prepared sources, ``(source_id, tenant, records)`` each, in a few statements:
    COPY into the staging tables, new addresses in one sorted insert, labels joined to their address ids.
    Set-based rather than per source: the bundled lists are ~80 sources (measured: 130 round trips of
    address ids cost ~3.8 s of a 13 s import). New labels' ids follow the input order, so they are
    reproducible. ``whole``: each entry holds all the labels of its source, which replace the stored ones
    (those that say the same stay as they are); else the entries' labels are added (tracer's callers delete
    the labels they change first). ``link=False`` leaves linking labels to actors
    (tracer.store.actors.link_labels) to the caller, which writes several batches and links once.
    """
    replaced = (
        await conn.fetchval(_WITH_LABELS, [source_id for source_id, _, _ in batches]) if whole else None
    )
    if not any(records for _, _, records in batches) and not replaced:
        if link:
            await link_labels(conn)
        return
    rows, fields = _staging_rows(batches)
    await conn.execute(_STAGING_DDL)
    await conn.copy_records_to_table(_FIELDS, records=fields, columns=_FIELDS_COLUMNS)
    await conn.copy_records_to_table(_STAGING, records=rows, columns=_STAGING_COLUMNS)
    await conn.execute(_ANALYZE_STAGING)
    # Both ways of inserting rely on the unique key: a first pass running meanwhile may have deferred it.
    await bulkload.need_unique(conn, "addresses")
    await _insert_new_addresses(conn)
    if replaced:
        await conn.execute(_DELETE_UNREPEATED, replaced)
    work_mem = await conn.fetchval("SELECT current_setting('work_mem')")
    # The insert's keys come from its joins: the keys check (migrations label_keys_per_statement and
    # label_writes_joined) skips this one statement.
    await conn.execute(f"SET LOCAL work_mem = '{_SORT_MEMORY}'; SET LOCAL tracer.label_keys = 'joined'")
    await conn.execute(_INSERT_LABELS, replaced or [])
    await conn.execute(
        "SELECT set_config('tracer.label_keys', '', true), set_config('work_mem', $1, true)", work_mem
    )
    if link:
        await link_labels(conn)


async def _insert_new_addresses(conn: asyncpg.Connection) -> None:
    """Insert the staged addresses that are new. A plain insert first: ON CONFLICT's speculative insertion
    checks the unique index twice per row (measured: 0.25 s against 0.15 s of PostgreSQL CPU for 67,000
    new addresses). Only a writer that stored one of them since the anti-join ran (an indexer, another
    import) makes it fail; then it is undone to its savepoint and done again with ON CONFLICT DO NOTHING."""
    try:
        async with conn.transaction():
            await conn.execute(_NEW_ADDRESSES)
    except asyncpg.UniqueViolationError:
        await conn.execute(_NEW_ADDRESSES + " ON CONFLICT (chain, address) DO NOTHING")


_Row = tuple[int, int, str, str]
_FieldsRow = tuple[object, ...]


def _staging_rows(
    batches: Sequence[tuple[int, str, Sequence[LabelRecord]]],
) -> tuple[list[_Row], list[_FieldsRow]]:
    """One (part, fields, chain, address) row per label and one row per distinct set of fields in each
    part (a ``batches`` entry): records that say the same share their fields row."""
    rows: list[_Row] = []
    fields: list[_FieldsRow] = []
    for part, (source_id, tenant, records) in enumerate(batches):
        numbers: dict[tuple[object, ...], int] = {}
        attributes_json: dict[int, bytes] = {}  # by id: parsers share one attributes mapping
        for r in records:
            attributes = attributes_json.get(id(r.attributes))
            if attributes is None:
                attributes = attributes_json[id(r.attributes)] = orjson.dumps(dict(r.attributes))
            key = (r.label, r.categories, r.actor, r.confidence, r.reference, attributes, r.actor_key)
            number = numbers.get(key)
            if number is None:
                number = numbers[key] = len(numbers)
                fields.append(_fields_row(part, number, source_id, tenant, r))
            rows.append((part, number, r.chain.value, r.address))
    return rows, fields


def _fields_row(part: int, number: int, source_id: int, tenant: str, r: LabelRecord) -> _FieldsRow:
    categories = [c.value for c in r.categories]
    return (
        part,
        number,
        source_id,
        tenant,
        r.label,
        categories[0],
        categories,
        r.actor,
        r.confidence,
        r.reference,
        dict(r.attributes),
        r.actor_key,
    )


@dataclass(frozen=True, slots=True)
class LabelFilter:
    tenants: Sequence[str]
    source: str | None = None
    chain: str | None = None
    address: str | None = None
    category: str | None = None
    limit: int = 100
    offset: int = 0


async def find_labels(conn: asyncpg.Connection | asyncpg.Pool, where: LabelFilter) -> list[dict[str, object]]:
    """Labels as JSON-ready rows, in a stable order (source, address, label)."""
    rows = await conn.fetch(
        """SELECT l.tenant, s.name AS source, s.title AS source_title, a.chain, a.address, l.label,
                  l.category, l.categories, l.actor, l.confidence, l.reference, l.attributes
           FROM labels l
           JOIN label_sources s ON s.id = l.source_id
           JOIN addresses a ON a.id = l.address_id
           WHERE l.tenant = ANY($1::text[])
             AND ($2::text IS NULL OR s.name = $2) AND ($3::text IS NULL OR a.chain = $3)
             AND ($4::text IS NULL OR a.address = $4) AND ($5::text IS NULL OR l.category = $5)
           ORDER BY l.tenant, s.name, a.chain, a.address, l.label, l.id
           LIMIT $6 OFFSET $7""",
        list(where.tenants),
        where.source,
        where.chain,
        where.address,
        where.category,
        where.limit,
        where.offset,
    )
    return [dict(r) for r in rows]
