"""Label file formats, parsed without I/O: bytes in, ``LabelSet`` out.

Supported (detected from name and content):
- ``ofac-list``: OFAC SDN digital-currency address lists, one address a line (``.txt``) or a JSON array
  (``.json``), as published by 0xB10C/ofac-sanctioned-digital-currency-addresses and
  nhamilton1/bitcoin-ofac-addresses. The asset comes from the file name (``sanctioned_addresses_XBT``).
- ``graphsense-tagpack``: GraphSense TagPack YAML; header keys are defaults for every tag.
- ``scam-centre-csv``: our curated CSV (address, chain, actor, category, confidence, source_* columns).
Addresses are validated and normalised here; rows that fail are counted and reported, never stored.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections import Counter
from collections.abc import Iterable
from datetime import date

import orjson
import yaml

from chains.addresses import detect
from chains.model import Chain
from tracer.errors import MalformedInput, UnsupportedFormat
from tracer.labels.records import LabelRecord, LabelSet
from tracer.risk.categories import Category, classify

# Currency / asset codes in label sources whose chains we index. The address format then decides the
# chain (tokens such as USDT live on several). Anything else (LTC, XMR, ...) is counted and skipped.
_SUPPORTED_ASSETS = frozenset({"BTC", "XBT", "ETH", "TRX", "USDT", "USDC"})
UNSUPPORTED_ASSET = "unsupported asset"  # skip reason prefix: a chain tracer does not index
_CSV_REQUIRED = frozenset({"address", "chain", "actor", "category"})
_OFAC_NAME = re.compile(r"sanctioned_addresses_([A-Z0-9]+)\.(txt|json)$")
_BINARY_PROBE_BYTES = 8192
_SNAPSHOT_NAME = re.compile(r"^addresses\.(\d{4}-\d{2}-\d{2})\.json$")  # nhamilton1/bitcoin-ofac-addresses


# libyaml's loader when present: the big tag packs (Samourai: 36k tags) load ~10x faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_label_file(filename: str, data: bytes) -> LabelSet:
    """Detect the format of one label file and parse it; UnsupportedFormat if it is none we know."""
    base = filename.rsplit("/", 1)[-1]
    try:
        if base.endswith(".gz"):
            data = gzip.decompress(data)
            base = base[:-3]
        return _parse(base, data)
    except (
        ValueError,
        KeyError,
        yaml.YAMLError,
        OSError,
        EOFError,
    ) as exc:  # corrupt gzip / JSON / YAML / CSV
        raise MalformedInput(f"{filename}: malformed label file: {exc}") from exc


def _parse(base: str, data: bytes) -> LabelSet:
    if b"\0" in data[:_BINARY_PROBE_BYTES]:  # every format we read is text; NUL bytes mean it is not
        raise MalformedInput(f"{base}: a binary file, not a label list")
    if match := _OFAC_NAME.search(base):
        return parse_ofac_list(match[1], data, is_json=match[2] == "json")
    if match := _SNAPSHOT_NAME.search(base):
        return parse_ofac_list("XBT", data, is_json=True, snapshot=match[1])
    if base.endswith((".yaml", ".yml")):
        return parse_tagpack(data, base)
    if base.endswith(".csv") and data.startswith(b"address,chain,actor"):
        return parse_scam_centre_csv(data)
    raise UnsupportedFormat(
        f"{base}: not a label format tracer knows (OFAC list, GraphSense TagPack YAML, scam-centre CSV)"
    )


def parse_ofac_list(asset: str, data: bytes, *, is_json: bool, snapshot: str | None = None) -> LabelSet:
    if is_json:
        entries = orjson.loads(data)
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise MalformedInput("OFAC JSON list must be an array of address strings")
    else:
        entries = [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]
    title = f"OFAC SDN list ({asset}, snapshot {snapshot})" if snapshot else f"OFAC SDN list ({asset})"
    skipped: Counter[str] = Counter()
    records = []
    for raw in entries:
        target = _target(asset, raw, skipped)
        if target is None:
            continue
        chain, address = target
        records.append(
            LabelRecord(
                chain=chain,
                address=address,
                label="OFAC SDN listed address",
                categories=(Category.SANCTIONED,),
                source_categories=("sanctioned",),
                confidence="authority_data",
                reference="https://sanctionssearch.ofac.treas.gov/",
                attributes={"asset": asset},
            )
        )
    as_of = date.fromisoformat(snapshot) if snapshot else None
    return LabelSet(title, "ofac-list", tuple(_dedupe(records)), skipped, as_of=as_of)


def parse_tagpack(data: bytes, filename: str) -> LabelSet:
    doc = yaml.load(data, Loader=_YAML_LOADER)
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise UnsupportedFormat("not a GraphSense TagPack: expected a mapping with a 'tags' list")
    header = {k: v for k, v in doc.items() if k != "tags"}
    title = str(header.get("title") or "GraphSense TagPack")
    skipped: Counter[str] = Counter()
    records = []
    for tag in doc["tags"]:
        if not isinstance(tag, dict) or "address" not in tag:
            skipped["tag without address"] += 1
            continue
        merged = {**header, **tag}  # a tag-level key overrides the header default
        raw = str(merged["address"])
        target = _target(str(merged.get("currency", "")).strip().upper(), raw, skipped)
        if target is None:
            continue
        chain, address = target
        label = str(merged.get("label") or title)
        explicit = [str(merged["category"])] if merged.get("category") else []
        context = [label, title, str(merged.get("actor") or "")]
        records.append(
            LabelRecord(
                chain=chain,
                address=address,
                label=label,
                categories=tuple(classify(explicit, context)),
                source_categories=tuple(explicit),
                actor=str(merged["actor"]) if merged.get("actor") else None,
                confidence=str(merged["confidence"]) if merged.get("confidence") else None,
                reference=str(merged["source"]) if merged.get("source") else None,
                attributes={
                    k: str(merged[k])
                    for k in ("context", "is_cluster_definer", "lastmod", "creator")
                    if k in merged
                },
            )
        )
    # Titles repeat across packs (binance.yaml and binance_hack.yaml): the file name keeps sources apart.
    return LabelSet(
        f"GraphSense TagPack: {title} ({filename})",
        "graphsense-tagpack",
        tuple(_dedupe(records)),
        skipped,
        as_of=_as_date(header.get("lastmod")),
    )


def parse_scam_centre_csv(data: bytes) -> LabelSet:
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    missing = _CSV_REQUIRED - set(reader.fieldnames or ())
    if missing:
        raise MalformedInput(f"scam-centre CSV lacks columns: {', '.join(sorted(missing))}")
    skipped: Counter[str] = Counter()
    records = []
    for row in reader:
        raw = row["address"].strip()
        target = _target(row["chain"].strip().upper(), raw, skipped)
        if target is None:
            continue
        chain, address = target
        source_categories = tuple(c.strip() for c in row["category"].split(";") if c.strip())
        records.append(
            LabelRecord(
                chain=chain,
                address=address,
                label=row.get("actor_detail") or row["actor"],
                categories=tuple(classify(source_categories, [row["actor"]])),
                source_categories=source_categories,
                actor=row["actor"],
                confidence=row.get("confidence") or None,
                reference=row.get("corroborating_source_url") or None,
                attributes={
                    k: row[k]
                    for k in (
                        "attribution_basis",
                        "source_repo",
                        "source_path",
                        "source_commit",
                        "source_licence",
                        "event_date",
                        "document_title",
                    )
                    if row.get(k)
                },
            )
        )
    licences = sorted({r.attributes["source_licence"] for r in records if "source_licence" in r.attributes})
    return LabelSet(
        "Scam-centre actors (curated)",
        "scam-centre-csv",
        tuple(_dedupe(records)),
        skipped,
        licence="; ".join(licences) or None,
    )


def _as_date(value: object) -> date | None:
    """A TagPack's ``lastmod`` (YAML gives a date, or a string when quoted); None if it is neither."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _target(asset: str, address: str, skipped: Counter[str]) -> tuple[Chain, str] | None:
    """(chain, normalised address) for a listed address, or None (counted in ``skipped``)."""
    if asset and asset not in _SUPPORTED_ASSETS:
        skipped[f"{UNSUPPORTED_ASSET} {asset}"] += 1
        return None
    # The address format decides the chain: OFAC lists one TRON address under XBT, and tokens (USDT)
    # live on several chains.
    found = detect(address)
    if found is None:
        skipped["invalid address"] += 1
    return found


def _dedupe(records: Iterable[LabelRecord]) -> list[LabelRecord]:
    seen: dict[tuple[Chain, str, str], LabelRecord] = {}
    for record in records:
        seen.setdefault((record.chain, record.address, record.label), record)
    return list(seen.values())
