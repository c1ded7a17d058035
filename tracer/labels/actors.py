"""Actors from the sources we ship: the GraphSense ActorPack, and the scam-centre table's actors with their
OFAC designations; and the actors a plain label CSV (its ``actor`` column) or a STIX bundle (threat-actor
and identity objects) names. Pure: bytes or rows in, ActorRecords out.

Keys: GraphSense and scam-centre actors have global keys (their sources are curated registries that other
files refer to). CSV and STIX actors are known only within their source: the parser gives them a
``local_key`` and the import qualifies it with the tenant and source name (``scope_local_keys``), so one
name in two sources is two actors, and a tenant's actors stay the tenant's.

Only actors whose source categories fall in the actor taxonomy (tracer.risk.categories.ACTOR_CATEGORIES)
become records; the rest (mining pools, DeFi protocols, gambling sites) stay names on their labels.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tracer.errors import UnsupportedFormat
from tracer.labels import fastyaml
from tracer.labels.records import ActorRecord, Designation, LabelSet
from tracer.labels.targets import as_date
from tracer.risk.categories import actor_category

ACTOR_PACK = "graphsense-actorpack"
GRAPHSENSE_KEY = "graphsense:"  # + the ActorPack id that TagPack ``actor`` fields name
SCAM_CENTRES_KEY = "scam-centres:"  # + a slug of the table's actor name
_AUTHORITIES = ("OFAC",)  # authorities whose designations the scam-centre table records
_URL_SPLIT = re.compile(r"\s*;\s*")
_OUTSIDE = "actor outside the actor taxonomy"
_CATEGORY_ENTRY = re.compile(r"\s*- ([a-z][a-z0-9_]*)")  # a plain scalar list entry


LOCAL_KEY = "local:"  # + "<family>:<id within the source>", until the import names the source


def local_key(family: str, local_id: str) -> str:
    return f"{LOCAL_KEY}{family}:{local_id}"


def name_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def scope_local_keys(labels: LabelSet, tenant: str, source: str) -> LabelSet:
    """``labels`` with its local actor keys made "<family>:<tenant>/<source>:<id>" (unchanged if none)."""
    if not any(a.key.startswith(LOCAL_KEY) for a in labels.actors):
        return labels

    def scoped(key: str) -> str:
        family, _, local_id = key[len(LOCAL_KEY) :].partition(":")
        return f"{family}:{tenant}/{source}:{local_id}"

    return dataclasses.replace(
        labels,
        actors=tuple(
            dataclasses.replace(a, key=scoped(a.key)) if a.key.startswith(LOCAL_KEY) else a
            for a in labels.actors
        ),
        records=tuple(
            dataclasses.replace(r, actor_key=scoped(r.actor_key))
            if r.actor_key and r.actor_key.startswith(LOCAL_KEY)
            else r
            for r in labels.records
        ),
    )


def graphsense_key(actor_id: str) -> str:
    return GRAPHSENSE_KEY + actor_id


def scam_centre_key(name: str) -> str:
    return SCAM_CENTRES_KEY + name_slug(name)


def is_actor_pack(doc: object) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("actors"), list) and "tags" not in doc


def parse_actor_pack(doc: Any, filename: str, skipped_early: int = 0) -> LabelSet:
    """A loaded GraphSense ActorPack (``actors: [{id, label, categories, jurisdictions, uri, context}]``);
    ``skipped_early`` actors were left out before loading (``load_actor_pack``)."""
    if not is_actor_pack(doc):
        raise UnsupportedFormat(f"{filename}: not a GraphSense ActorPack (a mapping with an 'actors' list)")
    skipped: Counter[str] = Counter()
    if skipped_early:
        skipped[_OUTSIDE] = skipped_early
    actors = []
    for entry in doc["actors"]:
        actor = _pack_actor(entry) if isinstance(entry, dict) and entry.get("id") else None
        if actor is None:
            skipped[_OUTSIDE] += 1
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


def load_actor_pack(text: str) -> tuple[Any, int] | None:
    """(the ActorPack with only the actors that may be in the taxonomy, how many were left out); None if
    ``text`` is not an ActorPack of the usual shape. Two thirds of GraphSense's 3,800 actors are DeFi
    protocols and companies with nested context that PyYAML takes ~0.2 ms each to build: their plain
    ``categories`` lines are read first, and only actors whose categories could matter are loaded, without
    the parts of their ``context`` that tracer does not read (all but its ``aliases``)."""
    found = fastyaml.split(text, "actors")
    if found is None or "tags" in found.header:
        return None
    key_indent = found.indent + 2
    kept = [without_context(item, key_indent) for item in found.items if _may_be_actor(item, key_indent)]
    doc = dict(found.header)
    doc["actors"] = fastyaml.load_items(kept, found.indent)
    return doc, len(found.items) - len(kept)


def without_context(item: list[str], key_indent: int) -> list[str]:
    """The item's lines without its block ``context`` mapping's keys other than ``aliases`` (and without
    ``context:`` itself if nothing is left under it). A key's value is every deeper line after it."""
    inner = " " * (key_indent + 2)
    out: list[str] = []
    context: list[str] | None = None  # the lines kept of the context block being read
    keep = False
    for line in item:
        if line[key_indent : key_indent + 1] not in (" ", ""):  # the item's next key
            if context is not None and len(context) > 1:
                out.extend(context)
            context = [line] if line[key_indent:].rstrip() == "context:" else None
            if context is None:
                out.append(line)
        elif context is None:
            out.append(line)
        else:
            if line.startswith(inner) and line[len(inner) : len(inner) + 1] not in (" ", "-", ""):
                keep = line[len(inner) :].startswith("aliases:")  # a key of the context mapping
            if keep:
                context.append(line)
    if context is not None and len(context) > 1:
        out.extend(context)
    return out


def _may_be_actor(item: list[str], key_indent: int) -> bool:
    """False only when the item's block ``categories`` list is read for sure and maps to no actor category."""
    lines = [line[key_indent:].rstrip() for line in item]
    if "categories:" not in lines:
        return True
    categories = []
    for line in lines[lines.index("categories:") + 1 :]:
        entry = _CATEGORY_ENTRY.fullmatch(line)
        if entry is None:
            if line[:1] in ("", " ", "-", "#"):
                return True  # a blank, comment or entry we do not read for sure: let PyYAML decide
            break  # the next key
        categories.append(entry[1])
    if not categories or any(fastyaml.resolves_to_non_string(c) for c in categories):
        return True
    return actor_category(categories) is not None


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


def csv_actors(rows: Iterable[tuple[str, Sequence[str]]]) -> tuple[ActorRecord, ...]:
    """The actors a plain label CSV's ``actor`` column names, from (actor, our categories) of its rows:
    one per distinct name (by ``name_slug``; the first spelling wins), with the most severe actor category
    its rows support; names whose rows support none stay names on their labels. No aliases: a CSV row
    does not say that two names are one actor."""
    seen: dict[str, tuple[str, list[str]]] = {}
    for name, categories in rows:
        seen.setdefault(name_slug(name), (name, []))[1].extend(categories)
    actors = []
    for slug, (name, categories) in seen.items():
        category = actor_category(categories)
        if slug and category is not None:
            actors.append(ActorRecord(local_key("csv", slug), name, category))
    return tuple(actors)


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
