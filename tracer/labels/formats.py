"""Label file formats, parsed without I/O: bytes in, ``LabelSet`` out; the format detected per file.

- ofac-list (tracer.labels.ofac): ``sanctioned_addresses_<ASSET>.txt|json``, ``addresses.<date>.json``;
- graphsense-tagpack (tracer.labels.tagpack): ``.yaml`` / ``.yml`` with a ``tags`` list;
- graphsense-actorpack (tracer.labels.actors): ``.yaml`` / ``.yml`` with an ``actors`` list (actors only);
- label-csv (tracer.labels.tables): ``.csv`` with ``address`` and ``label`` columns;
- scam-centre-csv (tracer.labels.tables): ``.csv`` with address, chain, actor, category;
- stix-2.1 (tracer.labels.stix): ``.json`` holding ``{"type": "bundle", ...}``.
Stablecoin freeze events come from the EVM indexer, not files (tracer.labels.freeze). ``.gz`` files are
decompressed first. Addresses are validated and normalised here; rows that fail are counted in
``LabelSet.skipped`` and never stored.
"""

from __future__ import annotations

import gzip
import re
from typing import Any

import orjson
import yaml

from tracer.errors import MalformedInput, UnsupportedFormat
from tracer.labels.actors import is_actor_pack, load_actor_pack, parse_actor_pack
from tracer.labels.ofac import parse_ofac_list
from tracer.labels.records import LabelSet
from tracer.labels.stix import is_stix_bundle, parse_stix_bundle
from tracer.labels.tables import parse_csv
from tracer.labels.tagpack import load_yaml, parse_tagpack, parse_tagpack_text
from tracer.labels.targets import UNSUPPORTED_ASSET

__all__ = ["UNSUPPORTED_ASSET", "parse_label_file"]

_OFAC_NAME = re.compile(r"sanctioned_addresses_([A-Z0-9]+)\.(txt|json)$")
_SNAPSHOT_NAME = re.compile(r"^addresses\.(\d{4}-\d{2}-\d{2})\.json$")  # nhamilton1/bitcoin-ofac-addresses
_BINARY_PROBE_BYTES = 8192
_KNOWN = "OFAC list, GraphSense TagPack YAML, label CSV (address,label,...), STIX 2.1 bundle JSON"


def parse_label_file(filename: str, data: bytes) -> LabelSet:
    """Detect the format of one label file and parse it; UnsupportedFormat if it is none we know."""
    base = filename.rsplit("/", 1)[-1]
    try:
        if base.endswith(".gz"):
            data = gzip.decompress(data)
            base = base[:-3]
        return _parse(base, data)
    except (ValueError, KeyError, yaml.YAMLError, OSError, EOFError) as exc:  # corrupt gzip/JSON/YAML/CSV
        raise MalformedInput(f"{filename}: malformed label file: {exc}") from exc


def _parse(base: str, data: bytes) -> LabelSet:
    if b"\0" in data[:_BINARY_PROBE_BYTES]:  # every format we read is text; NUL bytes mean it is not
        raise MalformedInput(f"{base}: a binary file, not a label list")
    if match := _OFAC_NAME.search(base):
        return parse_ofac_list(match[1], data, is_json=match[2] == "json")
    if match := _SNAPSHOT_NAME.search(base):
        return parse_ofac_list("XBT", data, is_json=True, snapshot=match[1])
    if base.endswith((".yaml", ".yml")):
        return _parse_yaml(base, data)
    if base.endswith(".csv"):
        return parse_csv(data, base)
    if base.endswith(".json") and _is_bundle(data):
        return parse_stix_bundle(data, base)
    raise UnsupportedFormat(f"{base}: not a label format tracer knows ({_KNOWN})")


def _parse_yaml(base: str, data: bytes) -> LabelSet:
    if b"\nactors:" in data and b"\ntags:" not in data:
        pack = _actor_pack(data)
        if pack is not None:
            return parse_actor_pack(pack[0], base, skipped_early=pack[1])
    if b"tags:" in data:
        labels = parse_tagpack_text(data, base)
        if labels is not None:
            return labels
    doc = load_yaml(data)
    return parse_actor_pack(doc, base) if is_actor_pack(doc) else parse_tagpack(doc, base)


def _actor_pack(data: bytes) -> tuple[Any, int] | None:
    try:
        return load_actor_pack(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return None


def _is_bundle(data: bytes) -> bool:
    try:
        return is_stix_bundle(orjson.loads(data))
    except orjson.JSONDecodeError:
        return False
