"""GraphSense TagPack YAML: header keys are defaults for every tag; a tag-level key overrides them.

https://github.com/graphsense/graphsense-tagpack-tool (TagPack schema). ``actor`` names a GraphSense
ActorPack id (tracer.labels.actors resolves it); ``category``/``abuse`` are GraphSense concepts that
tracer.risk.categories maps onto ours, reading the label and title when the category is generic ("user").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
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
    title = _title(header)
    shared: dict[tuple[tuple[str, type, Any], ...], _Fields] = {}
    tags = (
        (str(tag["address"]), _fields_of(header, tag, title, shared))
        if isinstance(tag, dict) and "address" in tag
        else None
        for tag in doc["tags"]
    )
    return _label_set(header, title, tags, filename)


def parse_tagpack_text(data: bytes, filename: str) -> LabelSet | None:
    """A TagPack read from its text the fast way (fastyaml.load_keyed: the fields of tags that say the
    same are read and classified once); None if the text is not of that shape (then ``load_yaml`` and
    ``parse_tagpack``: both ways give the same LabelSet)."""
    try:
        keyed = fastyaml.load_keyed(data.decode("utf-8-sig"), "tags", "address")
    except UnicodeDecodeError:
        return None
    if keyed is None:
        return None
    header = keyed.header
    title = _title(header)
    shared: dict[tuple[tuple[str, type, Any], ...], _Fields] = {}
    by_rest: dict[int, _Fields] = {}

    def tags() -> Iterator[tuple[str, _Fields] | None]:
        for tag in keyed.items:
            if isinstance(tag, fastyaml.KeyedItem):
                fields = by_rest.get(tag.rest)
                if fields is None:
                    fields = by_rest[tag.rest] = _fields({**header, **keyed.rests[tag.rest]}, title)
                yield str(tag.value), fields
            elif isinstance(tag, dict) and "address" in tag:
                yield str(tag["address"]), _fields_of(header, tag, title, shared)
            else:
                yield None

    return _label_set(header, title, tags(), filename)


def _title(header: dict[str, Any]) -> str:
    return str(header.get("title") or "GraphSense TagPack")


def _label_set(
    header: dict[str, Any], title: str, tags: Iterable[tuple[str, _Fields] | None], filename: str
) -> LabelSet:
    """The labels of ``tags``: (address, fields) each, or None for a tag without an address."""
    skipped: Counter[str] = Counter()
    records = []
    for tag in tags:
        if tag is None:
            skipped["tag without address"] += 1
            continue
        record = _record(tag[0], tag[1], skipped)
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
