"""GraphSense TagPack YAML: header keys are defaults for every tag; a tag-level key overrides them.

https://github.com/graphsense/graphsense-tagpack-tool (TagPack schema). ``actor`` names a GraphSense
ActorPack id (tracer.labels.actors resolves it); ``category``/``abuse`` are GraphSense concepts that
tracer.risk.categories maps onto ours, reading the label and title when the category is generic ("user").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml

from tracer.errors import UnsupportedFormat
from tracer.labels import fastyaml
from tracer.labels.actors import graphsense_key
from tracer.labels.records import LabelRecord, LabelSet
from tracer.labels.targets import as_date, dedupe, locate
from tracer.risk.categories import classify

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
    for tag in doc["tags"]:
        if not isinstance(tag, dict) or "address" not in tag:
            skipped["tag without address"] += 1
            continue
        record = _record({**header, **tag}, title, skipped)
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


def _record(merged: dict[str, Any], title: str, skipped: Counter[str]) -> LabelRecord | None:
    target = locate(str(merged.get("currency", "")).strip().upper(), str(merged["address"]), skipped)
    if target is None:
        return None
    label = str(merged.get("label") or title)
    explicit = [str(merged[k]) for k in ("category", "abuse") if merged.get(k)]
    actor = str(merged["actor"]) if merged.get("actor") else None
    return LabelRecord(
        chain=target[0],
        address=target[1],
        label=label,
        categories=tuple(classify(explicit, [label, title, actor or ""])),
        source_categories=tuple(explicit),
        actor=actor,
        confidence=str(merged["confidence"]) if merged.get("confidence") else None,
        reference=str(merged["source"]) if merged.get("source") else None,
        attributes={k: str(merged[k]) for k in _ATTRIBUTES if k in merged},
        actor_key=graphsense_key(actor) if actor else None,
    )
