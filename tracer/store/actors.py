"""Actors and their designations; labels linked to actors (labels.actor_id).

For screening (one reason per actor): ``labels.actor_id`` -> ``actors (id, key, name, category, aliases,
jurisdictions, uri)`` and ``actor_designations (actor_id, authority, date, legal_basis, source_url)``.
Links are recomputed by ``link_labels`` after every label or actor write, in the same transaction:
1. a label whose source named an actor (labels.actor_key) links to the actor of that key;
2. an OFAC SDN list label (which names no one) links to the actor another public label of the same
   address links to, when that actor is a sanctioned entity or has an OFAC designation: the shipped
   source that says who the designated owner is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from tracer.labels.records import PUBLIC_TENANT, ActorRecord

# An actor with a global key (GraphSense, scam-centre table) that two tenants describe is public: curated
# registries are public facts. Source-local keys carry their tenant, so they never meet another tenant's.
_UPSERT = """
INSERT INTO actors (key, name, category, aliases, jurisdictions, uri, source_id, attributes, tenant)
SELECT x.key, x.name, x.category,
       ARRAY(SELECT jsonb_array_elements_text(x.aliases)),
       ARRAY(SELECT jsonb_array_elements_text(x.jurisdictions)), x.uri, $2, x.attributes, $3
FROM jsonb_to_recordset($1::jsonb) AS x(key text, name text, category text, aliases jsonb,
                                          jurisdictions jsonb, uri text, attributes jsonb)
ORDER BY x.key
ON CONFLICT (key) DO UPDATE
SET name = EXCLUDED.name, category = EXCLUDED.category, aliases = EXCLUDED.aliases,
    jurisdictions = EXCLUDED.jurisdictions, uri = EXCLUDED.uri, source_id = EXCLUDED.source_id,
    attributes = EXCLUDED.attributes, updated_at = now(),
    tenant = CASE WHEN actors.tenant = EXCLUDED.tenant THEN actors.tenant ELSE 'public' END
"""
_DESIGNATIONS = """
INSERT INTO actor_designations (actor_id, authority, date, legal_basis, source_url, description, source_id)
SELECT a.id, x.authority, x.date, x.legal_basis, x.source_url, x.description, $2
FROM jsonb_to_recordset($1::jsonb) AS x(key text, authority text, date date, legal_basis text,
                                          source_url text, description text)
JOIN actors a ON a.key = x.key
"""
_LINK_BY_KEY = """
UPDATE labels l SET actor_id = (SELECT a.id FROM actors a WHERE a.key = l.actor_key)
WHERE l.actor_key IS NOT NULL
  AND l.actor_id IS DISTINCT FROM (SELECT a.id FROM actors a WHERE a.key = l.actor_key)
"""
# The lowest actor id wins when public sources name several sanctioned owners of one address.
_LINK_OFAC = """
UPDATE labels l SET actor_id = d.actor_id
FROM (SELECT o.id,
             (SELECT x.actor_id FROM labels x JOIN actors a ON a.id = x.actor_id
              WHERE x.address_id = o.address_id AND x.actor_key IS NOT NULL AND x.tenant = 'public'
                AND (a.category = 'sanctioned'
                     OR EXISTS (SELECT 1 FROM actor_designations ad
                                WHERE ad.actor_id = a.id AND ad.authority = 'OFAC'))
              ORDER BY x.actor_id LIMIT 1) AS actor_id
      FROM labels o JOIN label_sources s ON s.id = o.source_id AND s.format = 'ofac-list'
      WHERE o.actor_key IS NULL) d
WHERE l.id = d.id AND l.actor_id IS DISTINCT FROM d.actor_id
"""
_ACTOR_COLUMNS = "a.id, a.key, a.name, a.category, a.aliases, a.jurisdictions, a.uri, a.tenant, a.updated_at"


async def upsert_actors(
    conn: asyncpg.Connection,
    source_id: int,
    actors: Sequence[ActorRecord],
    tenant: str = PUBLIC_TENANT,
    *,
    described_before: bool = True,
) -> None:
    """Insert or update actors by key, as ``tenant``'s; their designations from this source are replaced,
    and the actors this source described before but no longer does are deleted (their labels keep the
    key and link again if a source describes the actor again). ``described_before=False``: the source is
    new, so no actor or designation names it yet and there is nothing to delete (two statements fewer for
    each of the ~80 sources of a first import)."""
    if described_before:
        await conn.execute("DELETE FROM actor_designations WHERE source_id = $1", source_id)
        await conn.execute(
            "DELETE FROM actors WHERE source_id = $1 AND key <> ALL($2::text[])",
            source_id,
            [a.key for a in actors],
        )
    if not actors:
        return
    await conn.execute(_UPSERT, [_actor_json(a) for a in actors], source_id, tenant)
    designations = [
        {
            "key": a.key,
            "authority": d.authority,
            "date": d.date.isoformat() if d.date else None,
            "legal_basis": d.legal_basis,
            "source_url": d.source_url,
            "description": d.description,
        }
        for a in actors
        for d in a.designations
    ]
    if designations:
        await conn.execute(_DESIGNATIONS, designations, source_id)


async def link_labels(conn: asyncpg.Connection) -> None:
    await conn.execute(_LINK_BY_KEY)
    await conn.execute(_LINK_OFAC)


async def list_actors(
    conn: asyncpg.Connection | asyncpg.Pool,
    *,
    tenants: Sequence[str] = (PUBLIC_TENANT,),
    category: str | None = None,
    query: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Actors the ``tenants`` see, by name, with how many of their labels link to them; ``query`` matches
    name or alias."""
    rows = await conn.fetch(
        f"""SELECT {_ACTOR_COLUMNS},
                   (SELECT count(*) FROM labels l
                    WHERE l.actor_id = a.id AND l.tenant = ANY($5::text[])) AS labels
            FROM actors a
            WHERE a.tenant = ANY($5::text[]) AND ($1::text IS NULL OR a.category = $1)
              AND ($2::text IS NULL OR a.name ILIKE '%' || $2 || '%'
                   OR EXISTS (SELECT 1 FROM unnest(a.aliases) al WHERE al ILIKE '%' || $2 || '%'))
            ORDER BY a.name, a.id LIMIT $3 OFFSET $4""",
        category,
        query,
        limit,
        offset,
        list(tenants),
    )
    return [_json(r) for r in rows]


async def actor_detail(
    conn: asyncpg.Connection | asyncpg.Pool,
    actor_id: int,
    *,
    tenants: Sequence[str],
    address_limit: int = 100,
) -> dict[str, Any] | None:
    """One actor the ``tenants`` see, with its designations, the sources that link labels to it, and its
    labelled addresses."""
    row = await conn.fetchrow(
        f"SELECT {_ACTOR_COLUMNS} FROM actors a WHERE a.id = $1 AND a.tenant = ANY($2::text[])",
        actor_id,
        list(tenants),
    )
    if row is None:
        return None
    actor = _json(row)
    designations = await conn.fetch(
        """SELECT authority, date, legal_basis, source_url, description FROM actor_designations
           WHERE actor_id = $1 ORDER BY date NULLS LAST, authority""",
        actor_id,
    )
    actor["designations"] = [
        {**dict(d), "date": d["date"].isoformat() if d["date"] else None} for d in designations
    ]
    addresses = await conn.fetch(
        """SELECT a.chain, a.address, array_agg(DISTINCT s.title ORDER BY s.title) AS sources
           FROM labels l JOIN addresses a ON a.id = l.address_id JOIN label_sources s ON s.id = l.source_id
           WHERE l.actor_id = $1 AND l.tenant = ANY($2::text[])
           GROUP BY a.chain, a.address ORDER BY a.chain, a.address LIMIT $3""",
        actor_id,
        list(tenants),
        address_limit,
    )
    actor["addresses"] = [dict(r) for r in addresses]
    actor["address_count"] = await conn.fetchval(
        """SELECT count(DISTINCT address_id) FROM labels WHERE actor_id = $1 AND tenant = ANY($2::text[])""",
        actor_id,
        list(tenants),
    )
    return actor


def _actor_json(actor: ActorRecord) -> dict[str, Any]:
    return {
        "key": actor.key,
        "name": actor.name,
        "category": actor.category.value,
        "aliases": list(actor.aliases),
        "jurisdictions": list(actor.jurisdictions),
        "uri": actor.uri,
        "attributes": dict(actor.attributes),
    }


def _json(row: asyncpg.Record) -> dict[str, Any]:
    out = dict(row)
    out["updated_at"] = row["updated_at"].isoformat(timespec="seconds")
    return out


async def actor_id_of(conn: asyncpg.Connection | asyncpg.Pool, id_or_key: str) -> int | None:
    """The id of the actor given by id ("42") or key ("graphsense:lazarusgroup")."""
    if id_or_key.isdigit():
        found = await conn.fetchval("SELECT id FROM actors WHERE id = $1", int(id_or_key))
    else:
        found = await conn.fetchval("SELECT id FROM actors WHERE key = $1", id_or_key)
    return int(found) if found is not None else None
