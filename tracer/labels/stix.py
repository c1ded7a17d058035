"""STIX 2.1 bundles: indicators whose patterns name cryptocurrency wallets.

https://docs.oasis-open.org/cti/stix/v2.1/stix-v2.1.html. STIX has no standard wallet object; feeds use
a custom observable, ``[cryptocurrency-wallet:value = '1Abc...']`` (also ``x-`` prefixed, ``:address``),
OR-ed for several wallets. An indicator's categories come from its indicator_types, labels and name.

Actors: a threat-actor or identity that a relationship object ties to an indicator (either end; the
types feeds use are ``indicates``, ``attributed-to``, ``related-to``) becomes an actor record when its
types, labels, description or its indicators' categories fall in the actor taxonomy, and the labels of
that indicator link to it. Its key is the STIX id within this source (tracer.labels.actors.local_key):
the same id in another bundle is another actor unless a source says they are one. An indicator tied
only to a malware, campaign or intrusion-set keeps that object's name as its label's actor, no record.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from tracer.errors import MalformedInput
from tracer.labels.actors import local_key
from tracer.labels.records import ActorRecord, LabelRecord, LabelSet
from tracer.labels.targets import as_date, dedupe, locate
from tracer.risk.categories import actor_category, classify

FORMAT = "stix-2.1"
_WALLET = re.compile(
    r"(?:x-)?(?:cryptocurrency|crypto)-(?:wallet|address)(?:-[\w-]+)?:(?:value|address)\s*=\s*'((?:[^'\\]|\\.)+)'"
)
_NAMED_TYPES = frozenset({"intrusion-set", "malware", "campaign"})  # named on labels, not actor records
_ACTOR_TYPES = frozenset({"threat-actor", "identity"})  # actor records
_RELATIONS = frozenset({"indicates", "attributed-to", "related-to"})
BUNDLE_REQUIRED = ("type", "objects")


def is_stix_bundle(doc: object) -> bool:
    return isinstance(doc, dict) and doc.get("type") == "bundle"


def parse_stix_bundle(data: bytes, filename: str) -> LabelSet:
    doc = orjson.loads(data)
    missing = [k for k in BUNDLE_REQUIRED if not isinstance(doc, dict) or k not in doc]
    if missing or not is_stix_bundle(doc) or not isinstance(doc["objects"], list):
        lacks = ", ".join(missing) or "type bundle and an objects list"
        raise MalformedInput(f"{filename}: not a STIX 2.1 bundle: lacks {lacks}")
    objects = [o for o in doc["objects"] if isinstance(o, dict)]
    by_id = {o["id"]: o for o in objects if isinstance(o.get("id"), str)}
    related = _related(objects, by_id)
    indicators = [o for o in objects if o.get("type") == "indicator"]
    skipped: Counter[str] = Counter()
    records: list[LabelRecord] = []
    newest = None
    for indicator in indicators:
        records.extend(_records(indicator, related.get(str(indicator.get("id")), []), skipped))
        modified = as_date(indicator.get("modified") or indicator.get("created"))
        newest = max(newest, modified) if newest and modified else (modified or newest)
    if not indicators:
        skipped["bundle without indicators"] += 1
    actors = _actors(records, by_id)
    keys = {a.key for a in actors}
    records = [_linked(r, keys) for r in records]
    return LabelSet(
        f"STIX bundle ({filename})", FORMAT, dedupe(records), skipped, as_of=newest, actors=actors
    )


def _related(objects: list[dict[str, Any]], by_id: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """indicator id -> the actor-like objects relationships tie it to, threat-actors and identities
    first, then in bundle order."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("relationship_type") not in _RELATIONS:
            continue
        ends = [by_id.get(str(rel.get("source_ref"))), by_id.get(str(rel.get("target_ref")))]
        for this, other in (ends, ends[::-1]):
            if not (isinstance(this, dict) and this.get("type") == "indicator" and isinstance(other, dict)):
                continue
            if other.get("type") in _ACTOR_TYPES | _NAMED_TYPES and other.get("name"):
                found = out.setdefault(str(this["id"]), [])
                if other not in found:
                    found.append(other)
    for found in out.values():
        found.sort(key=lambda o: o.get("type") not in _ACTOR_TYPES)  # stable: bundle order otherwise
    return out


def _actors(records: list[LabelRecord], by_id: Mapping[str, Any]) -> tuple[ActorRecord, ...]:
    """One actor record per threat-actor / identity that labels name, if its category is in the taxonomy."""
    categories: dict[str, list[str]] = {}
    for record in records:
        stix_id = record.attributes.get("actor_stix_id")
        if stix_id:
            categories.setdefault(stix_id, []).extend(c.value for c in record.categories)
    actors = []
    for stix_id, seen in categories.items():
        obj = by_id[stix_id]
        own = [str(t) for t in (obj.get("threat_actor_types") or []) + (obj.get("labels") or [])]
        texts = [str(obj["name"]), str(obj.get("description") or "")]
        category = actor_category(own, texts) or actor_category(seen)
        if category is None:
            continue
        refs = [r for r in obj.get("external_references") or [] if isinstance(r, dict) and r.get("url")]
        actors.append(
            ActorRecord(
                key=local_key("stix", stix_id),
                name=str(obj["name"]),
                category=category,
                aliases=tuple(dict.fromkeys(str(a) for a in obj.get("aliases") or [] if str(a).strip())),
                uri=str(refs[0]["url"]) if refs else None,
                attributes={"stix_id": stix_id, "stix_type": str(obj["type"]), "source_categories": own},
            )
        )
    return tuple(actors)


def _linked(record: LabelRecord, keys: set[str]) -> LabelRecord:
    stix_id = record.attributes.get("actor_stix_id")
    key = local_key("stix", stix_id) if stix_id else None
    return dataclasses.replace(record, actor_key=key) if key in keys else record


def _records(
    indicator: dict[str, Any], related: list[dict[str, Any]], skipped: Counter[str]
) -> list[LabelRecord]:
    pattern = indicator.get("pattern")
    if not isinstance(pattern, str):
        skipped["indicator without pattern"] += 1
        return []
    wallets = [w.replace("\\'", "'").replace("\\\\", "\\") for w in _WALLET.findall(pattern)]
    if not wallets:
        skipped["indicator naming no cryptocurrency wallet"] += 1
        return []
    name = str(indicator.get("name") or indicator.get("description") or "STIX indicator")
    actor = str(related[0]["name"]) if related else None
    attributes = {"stix_id": str(indicator.get("id", ""))}
    if related and related[0].get("type") in _ACTOR_TYPES:
        attributes["actor_stix_id"] = str(related[0]["id"])
    types = [str(t) for t in (indicator.get("indicator_types") or []) + (indicator.get("labels") or [])]
    categories = tuple(classify(types, [name, str(indicator.get("description") or ""), actor or ""]))
    refs = [r for r in indicator.get("external_references") or [] if isinstance(r, dict) and r.get("url")]
    out = []
    for wallet in wallets:
        target = locate("", wallet, skipped)
        if target is None:
            continue
        out.append(
            LabelRecord(
                chain=target[0],
                address=target[1],
                label=name,
                categories=categories,
                source_categories=tuple(types),
                actor=actor,
                confidence=str(indicator["confidence"]) if "confidence" in indicator else None,
                reference=str(refs[0]["url"]) if refs else None,
                attributes=attributes,
            )
        )
    return out
