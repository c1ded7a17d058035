"""CSV label files: a plain ``address,label`` table anyone can write, and the curated scam-centre table.

Plain CSV (format ``label-csv``): a header row, then one label a row. Columns:
- ``address`` and ``label``: required;
- ``chain``: bitcoin | ethereum | tron, or an asset code (BTC, ETH, TRX, USDT, ...); default: the address
  format decides;
- ``category``: ours (tracer.risk.categories) or free text mapped onto ours; default: read from the label;
- ``actor``: who controls the address (an actor record of this source when its rows' categories fall in
  the actor taxonomy, tracer.labels.actors.csv_actors); ``source``: who says so; ``confidence``;
  ``reference`` (a URL).
Scam-centre CSV (format ``scam-centre-csv``): address, chain, actor, category, plus actor_detail,
attribution_basis, confidence, source_* and corroborating_source_url columns.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter
from collections.abc import Iterable, Iterator

from tracer.errors import MalformedInput, UnsupportedFormat
from tracer.labels.actors import csv_actors, local_key, name_slug, scam_centre_actors, scam_centre_key
from tracer.labels.records import LabelRecord, LabelSet
from tracer.labels.targets import dedupe, locate
from tracer.risk.categories import classify

LABEL_CSV = "label-csv"
SCAM_CENTRE_CSV = "scam-centre-csv"
LABEL_CSV_REQUIRED = ("address", "label")
LABEL_CSV_OPTIONAL = ("chain", "category", "actor", "source", "confidence", "reference")
SCAM_CENTRE_REQUIRED = ("address", "chain", "actor", "category")
_SCAM_CENTRE_ATTRIBUTES = (
    "attribution_basis",
    "source_repo",
    "source_path",
    "source_commit",
    "source_licence",
    "event_date",
    "document_title",
)


def parse_csv(data: bytes, filename: str) -> LabelSet:
    """A plain label CSV, or the scam-centre table (told apart by its columns)."""
    header, rows = _read(data, filename)
    if "label" not in header and set(SCAM_CENTRE_REQUIRED) <= header:
        return parse_scam_centre_csv(rows)
    missing = [c for c in LABEL_CSV_REQUIRED if c not in header]
    if missing:  # a CSV, but not of labels we can read: a directory import lists it as ignored
        raise UnsupportedFormat(
            f"{filename}: CSV lacks columns: {', '.join(missing)} (a label CSV needs "
            f"{','.join(LABEL_CSV_REQUIRED)}; optional: {', '.join(LABEL_CSV_OPTIONAL)})"
        )
    return parse_label_csv(rows, filename)


def parse_label_csv(rows: Iterator[dict[str, str]], filename: str) -> LabelSet:
    skipped: Counter[str] = Counter()
    records = []
    for row in rows:
        label = _cell(row, "label")
        if not label:
            skipped["row without label"] += 1
            continue
        target = locate(_cell(row, "chain").upper(), _cell(row, "address"), skipped)
        if target is None:
            continue
        category, actor = _cell(row, "category"), _cell(row, "actor")
        source = _cell(row, "source")
        records.append(
            LabelRecord(
                chain=target[0],
                address=target[1],
                label=label,
                categories=tuple(classify([category] if category else [], [label, actor])),
                source_categories=(category,) if category else (),
                actor=actor or None,
                confidence=_cell(row, "confidence") or None,
                reference=_cell(row, "reference") or None,
                attributes={"source": source} if source else {},
            )
        )
    actors = csv_actors((r.actor, [c.value for c in r.categories]) for r in records if r.actor)
    keys = {a.key for a in actors}
    linked = [_with_actor_key(r, keys) for r in records]
    return LabelSet(f"Labels ({filename})", LABEL_CSV, dedupe(linked), skipped, actors=actors)


def _with_actor_key(record: LabelRecord, keys: set[str]) -> LabelRecord:
    key = local_key("csv", name_slug(record.actor)) if record.actor else None
    return dataclasses.replace(record, actor_key=key) if key in keys else record


def parse_scam_centre_csv(rows: Iterable[dict[str, str]]) -> LabelSet:
    rows = list(rows)
    actors = scam_centre_actors(rows)
    actor_keys = {a.key for a in actors}
    skipped: Counter[str] = Counter()
    records = []
    for row in rows:
        target = locate(_cell(row, "chain").upper(), _cell(row, "address"), skipped)
        if target is None:
            continue
        source_categories = tuple(c.strip() for c in _cell(row, "category").split(";") if c.strip())
        records.append(
            LabelRecord(
                chain=target[0],
                address=target[1],
                label=_cell(row, "actor_detail") or row["actor"],
                categories=tuple(classify(source_categories, [row["actor"]])),
                source_categories=source_categories,
                actor=row["actor"],
                confidence=_cell(row, "confidence") or None,
                reference=_cell(row, "corroborating_source_url") or None,
                attributes={k: row[k] for k in _SCAM_CENTRE_ATTRIBUTES if row.get(k)},
                actor_key=key if (key := scam_centre_key(row["actor"])) in actor_keys else None,
            )
        )
    licences = sorted({r.attributes["source_licence"] for r in records if "source_licence" in r.attributes})
    return LabelSet(
        "Scam-centre actors (curated)",
        SCAM_CENTRE_CSV,
        dedupe(records),
        skipped,
        licence="; ".join(licences) or None,
        actors=actors,
    )


def _read(data: bytes, filename: str) -> tuple[set[str], Iterator[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    if not reader.fieldnames:
        raise MalformedInput(f"{filename}: empty CSV (a label CSV needs a header: address,label)")
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    return set(reader.fieldnames), reader


def _cell(row: dict[str, str], column: str) -> str:
    value = row.get(column)
    return value.strip() if isinstance(value, str) else ""
