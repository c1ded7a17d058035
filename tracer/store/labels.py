"""Label sources and their labels. A source is replaced as a whole, only by its own re-import or on request.

Call the writers inside a transaction (``async with conn.transaction()``); tracer.jobs.labels does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from tracer.labels.guard import StoredSourceInfo, check_import
from tracer.labels.records import LabelRecord, LabelSet, SourceSpec
from tracer.store.addresses import ensure_address_ids

LABEL_TABLES = ("addresses", "label_sources", "labels")
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
)
_SOURCE_COLUMNS = """s.id, s.tenant, s.name, s.title, s.format, s.origin, s.sha256, s.as_of, s.licence,
    s.entries, s.skipped, s.imported_at"""


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
            "skipped": self.skipped,
            "imported_at": self.imported_at.isoformat(timespec="seconds"),
        }

    @property
    def info(self) -> StoredSourceInfo:
        return StoredSourceInfo(self.name, self.origin, self.sha256, self.entries)


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
    same_name = await source_named(conn, spec.tenant, spec.name)
    replaced = await source_named(conn, spec.tenant, replace) if replace is not None else None
    check_import(
        name=spec.name,
        origin=spec.origin,
        count=len(labels.records),
        skipped=labels.skipped,
        same_name=same_name.info if same_name else None,
        replace=replace,
        replaced=replaced.info if replaced else None,
    )
    if replaced is not None and replaced.name != spec.name:
        await conn.execute("DELETE FROM label_sources WHERE id = $1", replaced.id)
    source_id = await _upsert_source(conn, spec, len(labels.records), sum(labels.skipped.values()))
    await conn.execute("DELETE FROM labels WHERE source_id = $1", source_id)
    await _copy_labels(conn, spec.tenant, source_id, labels.records)
    stored = await source_named(conn, spec.tenant, spec.name)
    if stored is None:  # we just wrote it in this transaction
        raise RuntimeError(f"label source {spec.name!r} vanished while importing")
    return stored


async def delete_source(conn: asyncpg.Connection | asyncpg.Pool, tenant: str, name: str) -> int | None:
    """Delete a source and its labels; the number of labels removed (None if there was no such source)."""
    entries = await conn.fetchval(
        "DELETE FROM label_sources WHERE tenant = $1 AND name = $2 RETURNING entries", tenant, name
    )
    return None if entries is None else int(entries)


async def _upsert_source(conn: asyncpg.Connection, spec: SourceSpec, entries: int, skipped: int) -> int:
    source_id: int = await conn.fetchval(
        """INSERT INTO label_sources
               (tenant, name, title, format, origin, sha256, as_of, licence, entries, skipped)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (tenant, name) DO UPDATE
           SET title = EXCLUDED.title, format = EXCLUDED.format, origin = EXCLUDED.origin,
               sha256 = EXCLUDED.sha256, as_of = EXCLUDED.as_of, licence = EXCLUDED.licence,
               entries = EXCLUDED.entries, skipped = EXCLUDED.skipped, imported_at = now()
           RETURNING id""",
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
    )
    return source_id


async def _copy_labels(
    conn: asyncpg.Connection, tenant: str, source_id: int, records: Sequence[LabelRecord]
) -> None:
    ids: dict[tuple[str, str], int] = {}
    # Sorted chains and addresses: new address ids come out the same in every process.
    for chain in sorted({r.chain for r in records}):
        addresses = sorted({r.address for r in records if r.chain is chain})
        chain_ids = await ensure_address_ids(conn, chain.value, addresses)
        ids.update({(chain.value, address): i for address, i in chain_ids.items()})
    await conn.copy_records_to_table(
        "labels",
        records=[
            (
                tenant,
                source_id,
                ids[(r.chain.value, r.address)],
                r.label,
                r.categories[0].value,
                [c.value for c in r.categories],
                r.actor,
                r.confidence,
                r.reference,
                dict(r.attributes),
            )
            for r in records
        ],
        columns=_LABEL_COLUMNS,
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
