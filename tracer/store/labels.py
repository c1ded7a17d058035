"""Label sources and labels. Re-importing a source replaces its labels in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tracer.labels.formats import LabelSet
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


@dataclass(frozen=True, slots=True)
class StoredSource:
    id: int
    name: str
    entries: int
    skipped: int


async def replace_label_set(
    conn: asyncpg.Connection, labels: LabelSet, *, origin: str, sha256: str, tenant: str = "public"
) -> StoredSource:
    skipped = sum(labels.skipped.values())
    async with conn.transaction():
        source_id = await conn.fetchval(
            """INSERT INTO label_sources (tenant, name, format, origin, sha256, entries, skipped)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (tenant, name) DO UPDATE
               SET format = EXCLUDED.format, origin = EXCLUDED.origin, sha256 = EXCLUDED.sha256,
                   entries = EXCLUDED.entries, skipped = EXCLUDED.skipped, imported_at = now()
               RETURNING id""",
            tenant,
            labels.name,
            labels.format,
            origin,
            sha256,
            len(labels.records),
            skipped,
        )
        await conn.execute("DELETE FROM labels WHERE source_id = $1", source_id)
        ids: dict[tuple[str, str], int] = {}
        for chain in {r.chain for r in labels.records}:
            chain_ids = await ensure_address_ids(
                conn, chain.value, {r.address for r in labels.records if r.chain is chain}
            )
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
                for r in labels.records
            ],
            columns=_LABEL_COLUMNS,
        )
    return StoredSource(source_id, labels.name, len(labels.records), skipped)
