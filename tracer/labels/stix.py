"""STIX 2.1 bundles: indicators whose patterns name cryptocurrency wallets.

https://docs.oasis-open.org/cti/stix/v2.1/stix-v2.1.html. STIX has no standard wallet object; feeds use
a custom observable, ``[cryptocurrency-wallet:value = '1Abc...']`` (also ``x-`` prefixed, ``:address``),
OR-ed for several wallets. An indicator's actor is the name of what it ``indicates`` through a
relationship (threat-actor, intrusion-set, malware, campaign); its categories come from its
indicator_types, labels and name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from tracer.errors import MalformedInput
from tracer.labels.records import LabelRecord, LabelSet
from tracer.labels.targets import as_date, dedupe, locate
from tracer.risk.categories import classify

FORMAT = "stix-2.1"
_WALLET = re.compile(
    r"(?:x-)?(?:cryptocurrency|crypto)-(?:wallet|address)(?:-[\w-]+)?:(?:value|address)\s*=\s*'((?:[^'\\]|\\.)+)'"
)
_ACTOR_TYPES = frozenset({"threat-actor", "intrusion-set", "malware", "campaign", "identity"})
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
    actors = _actors_of_indicators(objects, by_id)
    skipped: Counter[str] = Counter()
    records: list[LabelRecord] = []
    newest = None
    for indicator in (o for o in objects if o.get("type") == "indicator"):
        records.extend(_records(indicator, actors.get(str(indicator.get("id"))), skipped))
        modified = as_date(indicator.get("modified") or indicator.get("created"))
        newest = max(newest, modified) if newest and modified else (modified or newest)
    if not any(o.get("type") == "indicator" for o in objects):
        skipped["bundle without indicators"] += 1
    return LabelSet(f"STIX bundle ({filename})", FORMAT, dedupe(records), skipped, as_of=newest)


def _actors_of_indicators(objects: list[dict[str, Any]], by_id: Mapping[str, Any]) -> dict[str, str]:
    """indicator id -> name of the first actor-like object it ``indicates`` (in bundle order)."""
    out: dict[str, str] = {}
    for rel in objects:
        if rel.get("type") != "relationship" or rel.get("relationship_type") != "indicates":
            continue
        target = by_id.get(str(rel.get("target_ref")))
        if isinstance(target, dict) and target.get("type") in _ACTOR_TYPES and target.get("name"):
            out.setdefault(str(rel.get("source_ref")), str(target["name"]))
    return out


def _records(indicator: dict[str, Any], actor: str | None, skipped: Counter[str]) -> list[LabelRecord]:
    pattern = indicator.get("pattern")
    if not isinstance(pattern, str):
        skipped["indicator without pattern"] += 1
        return []
    wallets = [w.replace("\\'", "'").replace("\\\\", "\\") for w in _WALLET.findall(pattern)]
    if not wallets:
        skipped["indicator naming no cryptocurrency wallet"] += 1
        return []
    name = str(indicator.get("name") or indicator.get("description") or "STIX indicator")
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
                attributes={"stix_id": str(indicator.get("id", ""))},
            )
        )
    return out
