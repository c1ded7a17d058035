"""OFAC SDN digital-currency address lists: one address a line (``.txt``) or a JSON array (``.json``).

As published by 0xB10C/ofac-sanctioned-digital-currency-addresses (``sanctioned_addresses_<ASSET>``) and
nhamilton1/bitcoin-ofac-addresses (``addresses.<date>.json``, XBT). The asset comes from the file name.
The lists name no one: who an address belongs to comes from other sources (tracer.labels.actors).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import orjson

from tracer.errors import MalformedInput
from tracer.labels.records import LabelRecord, LabelSet
from tracer.labels.targets import dedupe, locate
from tracer.risk.categories import Category

FORMAT = "ofac-list"
OFAC_SEARCH_URL = "https://sanctionssearch.ofac.treas.gov/"


def parse_ofac_list(asset: str, data: bytes, *, is_json: bool, snapshot: str | None = None) -> LabelSet:
    entries = _entries(data, is_json=is_json)
    title = f"OFAC SDN list ({asset}, snapshot {snapshot})" if snapshot else f"OFAC SDN list ({asset})"
    skipped: Counter[str] = Counter()
    records = []
    for raw in entries:
        target = locate(asset, raw, skipped)
        if target is None:
            continue
        records.append(
            LabelRecord(
                chain=target[0],
                address=target[1],
                label="OFAC SDN listed address",
                categories=(Category.SANCTIONED,),
                source_categories=("sanctioned",),
                confidence="authority_data",
                reference=OFAC_SEARCH_URL,
                attributes={"asset": asset},
            )
        )
    as_of = date.fromisoformat(snapshot) if snapshot else None
    return LabelSet(title, FORMAT, dedupe(records), skipped, as_of=as_of)


def _entries(data: bytes, *, is_json: bool) -> list[str]:
    if not is_json:
        return [line.strip() for line in data.decode("utf-8-sig").splitlines() if line.strip()]
    entries = orjson.loads(data)
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise MalformedInput("an OFAC JSON list must be an array of address strings")
    return entries
