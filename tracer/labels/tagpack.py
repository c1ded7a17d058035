"""GraphSense TagPack YAML: header keys are defaults for every tag; a tag-level key overrides them.

https://github.com/graphsense/graphsense-tagpack-tool (TagPack schema). ``actor`` names a GraphSense
ActorPack id (tracer.labels.actors resolves it); ``category``/``abuse`` are GraphSense concepts that
tracer.risk.categories maps onto ours, reading the label and title when the category is generic ("user").
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

import yaml

from tracer.errors import UnsupportedFormat
from tracer.labels import fastyaml
from tracer.labels.actors import graphsense_key
from tracer.labels.records import LabelRecord, LabelSet
from tracer.labels.targets import as_date, dedupe, locate
from tracer.risk.categories import Category, classify

FORMAT = "graphsense-tagpack"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ATTRIBUTES = ("context", "is_cluster_definer", "lastmod", "creator")


def parse_tagpack(doc: Any, filename: str) -> LabelSet:
    """A loaded TagPack (``load_yaml``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise UnsupportedFormat(
            f"{filename}: not a GraphSense TagPack: expected a mapping with a 'tags' list"
        )
    header = {k: v for k, v in doc.items() if k != "tags"}
    title = str(header.get("title") or "GraphSense TagPack")
    skipped: Counter[str] = Counter()
    records = []
    shared: dict[tuple[tuple[str, type, Any], ...], _Fields] = {}
    for tag in doc["tags"]:
        if not isinstance(tag, dict) or "address" not in tag:
            skipped["tag without address"] += 1
            continue
        record = _record(str(tag["address"]), _fields_of(header, tag, title, shared), skipped)
        if record is not None:
            records.append(record)
    # Titles repeat across packs (binance.yaml and binance_hack.yaml): the file name keeps them apart.
    return LabelSet(
        f"GraphSense TagPack: {title} ({filename})",
        FORMAT,
        dedupe(records),
        skipped,
        as_of=as_date(header.get("lastmod")),
    )


def load_yaml(data: bytes) -> Any:
    try:
        return fastyaml.load(data.decode("utf-8-sig"))
    except UnicodeDecodeError:  # UTF-16/32 YAML: PyYAML detects the encoding
        return yaml.load(data, Loader=_YAML_LOADER)


class _Fields(NamedTuple):
    """What a tag says besides its address (most tags of a pack say the same: only the address differs)."""

    asset: str
    label: str
    categories: tuple[Category, ...]
    source_categories: tuple[str, ...]
    actor: str | None
    confidence: str | None
    reference: str | None
    attributes: dict[str, str]  # shared by the records of tags that say the same; never mutated


def _fields_of(
    header: dict[str, Any],
    tag: dict[str, Any],
    title: str,
    shared: dict[tuple[tuple[str, type, Any], ...], _Fields],
) -> _Fields:
    """The tag's fields over the header defaults, computed once per distinct set of tag keys and values."""
    # The value's type is part of the key: 1 == True, and they read differently.
    key = tuple((k, type(v), v) for k, v in tag.items() if k != "address")
    try:
        return shared[key]
    except KeyError:
        fields = shared[key] = _fields({**header, **tag}, title)
        return fields
    except TypeError:  # a nested (unhashable) value: not shared
        return _fields({**header, **tag}, title)


def _fields(merged: dict[str, Any], title: str) -> _Fields:
    label = str(merged.get("label") or title)
    explicit = [str(merged[k]) for k in ("category", "abuse") if merged.get(k)]
    actor = str(merged["actor"]) if merged.get("actor") else None
    return _Fields(
        asset=str(merged.get("currency", "")).strip().upper(),
        label=label,
        categories=tuple(classify(explicit, [label, title, actor or ""])),
        source_categories=tuple(explicit),
        actor=actor,
        confidence=str(merged["confidence"]) if merged.get("confidence") else None,
        reference=str(merged["source"]) if merged.get("source") else None,
        attributes={k: str(merged[k]) for k in _ATTRIBUTES if k in merged},
    )


def _record(address: str, fields: _Fields, skipped: Counter[str]) -> LabelRecord | None:
    target = locate(fields.asset, address, skipped)
    if target is None:
        return None
    return LabelRecord(
        target[0],
        target[1],
        fields.label,
        fields.categories,
        fields.source_categories,
        fields.actor,
        fields.confidence,
        fields.reference,
        fields.attributes,
        graphsense_key(fields.actor) if fields.actor else None,
    )
