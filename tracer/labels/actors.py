"""Actors from the sources we ship: the GraphSense ActorPack, and the scam-centre table's actors with their
OFAC designations. Pure: bytes or rows in, ActorRecords out.

Only actors whose source categories fall in the actor taxonomy (tracer.risk.categories.ACTOR_CATEGORIES)
become records; the rest (mining pools, DeFi protocols, gambling sites) stay names on their labels.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from tracer.errors import UnsupportedFormat
from tracer.labels.records import ActorRecord, Designation, LabelSet
from tracer.labels.targets import as_date
from tracer.risk.categories import actor_category

ACTOR_PACK = "graphsense-actorpack"
GRAPHSENSE_KEY = "graphsense:"  # + the ActorPack id that TagPack ``actor`` fields name
SCAM_CENTRES_KEY = "scam-centres:"  # + a slug of the table's actor name
_AUTHORITIES = ("OFAC",)  # authorities whose designations the scam-centre table records
_URL_SPLIT = re.compile(r"\s*;\s*")


def graphsense_key(actor_id: str) -> str:
    return GRAPHSENSE_KEY + actor_id


def scam_centre_key(name: str) -> str:
    return SCAM_CENTRES_KEY + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def is_actor_pack(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("actors"), list) and "tags" not in doc


def parse_actor_pack(doc: Any, filename: str) -> LabelSet:
    """A loaded GraphSense ActorPack (``actors: [{id, label, categories, jurisdictions, uri, context}]``)."""
    if not is_actor_pack(doc):
        raise UnsupportedFormat(f"{filename}: not a GraphSense ActorPack (a mapping with an 'actors' list)")
    skipped: Counter[str] = Counter()
    actors = []
    for entry in doc["actors"]:
        actor = _pack_actor(entry) if isinstance(entry, dict) and entry.get("id") else None
        if actor is None:
            skipped["actor outside the actor taxonomy"] += 1
            continue
        actors.append(actor)
    title = str(doc.get("title") or "GraphSense ActorPack")
    return LabelSet(
        f"{title} ({filename})",
        ACTOR_PACK,
        (),
        skipped,
        as_of=as_date(doc.get("lastmod")),
        actors=tuple(actors),
    )


def _pack_actor(entry: Mapping[str, Any]) -> ActorRecord | None:
    categories = [str(c) for c in entry.get("categories") or []]
    category = actor_category(categories)
    if category is None:
        return None
    context: Mapping[str, Any] = entry["context"] if isinstance(entry.get("context"), dict) else {}
    aliases = [*(entry.get("aliases") or []), *(context.get("aliases") or [])]
    return ActorRecord(
        key=graphsense_key(str(entry["id"])),
        name=str(entry.get("label") or entry["id"]),
        category=category,
        aliases=_unique(str(a) for a in aliases),
        jurisdictions=_unique(str(j) for j in entry.get("jurisdictions") or []),
        uri=str(entry["uri"]) if entry.get("uri") else None,
        attributes={"source_categories": categories},
    )


def scam_centre_actors(rows: Iterable[Mapping[str, str]]) -> tuple[ActorRecord, ...]:
    """One actor per distinct ``actor`` of the scam-centre table, with the designation its rows cite."""
    by_key: dict[str, ActorRecord] = {}
    for row in rows:
        name = row.get("actor", "").strip()
        categories = [c.strip() for c in row.get("category", "").split(";") if c.strip()]
        category = actor_category(categories, [row.get("actor_detail", "")])
        if not name or category is None or scam_centre_key(name) in by_key:
            continue
        by_key[scam_centre_key(name)] = ActorRecord(
            key=scam_centre_key(name),
            name=name,
            category=category,
            aliases=_aliases(name),
            designations=_designations(row),
            attributes={"detail": row.get("actor_detail", ""), "source_categories": categories},
        )
    return tuple(by_key.values())


def _aliases(name: str) -> tuple[str, ...]:
    """The parts of a compound name the table writes as "A / B" or "A (B)"."""
    parts = re.split(r"\s*/\s*|\s*\(\s*|\s*\)\s*", name)
    return _unique(p for p in parts if p and p != name)


def _designations(row: Mapping[str, str]) -> tuple[Designation, ...]:
    said = " ".join(row.get(k, "") for k in ("actor_detail", "document_title", "attribution_basis"))
    urls = [u for u in _URL_SPLIT.split(row.get("corroborating_source_url", "")) if u]
    official = [u for u in urls if ".gov" in u] or urls
    return tuple(
        Designation(
            authority=authority,
            date=as_date(row.get("event_date")),
            legal_basis=None,  # the table does not state one
            source_url=official[0] if official else None,
            description=row.get("document_title") or None,
        )
        for authority in _AUTHORITIES
        if authority in said
    )


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
