"""A wallet's answer parts, built once per exposure refresh, and the answers assembled from them.

The labels, counterparties, exposure and risk of an address depend on its wallet and on which of the
wallet's labels are its own, except where the screened address itself is shown (on paths, in
explanations). So a wallet has one set of parts for its members without labels of their own and one per
labelled member. The refresh builds them with the same code a screening runs (``exposures_of``,
``ownership_findings``, ``assess``), with ``SCREENED`` standing for the screened address, and stores their
JSON (tracer.store.wallet_answers); a screening puts the address in and passes the JSON through
(``orjson.Fragment``) instead of building ~25 µs per exposure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

from chains.model import Chain
from tracer.jsonwrite import dumps
from tracer.risk.exposure import Actor, exposures_of, ownership_findings
from tracer.risk.scoring import assess
from tracer.store.exposure import LabelRow, ScreeningData, Target

# Stands for the screened address. PostgreSQL text cannot hold NUL, so no stored name or address contains
# it, and its JSON form (\u0000screened\u0000) appears only where this placeholder was written.
SCREENED = "\x00screened\x00"
_SCREENED_JSON = orjson.dumps(SCREENED)[1:-1]
# A number of 20 digits or more (2**64 has 20: a shorter one fits orjson) where JSON puts numbers: after
# ':', '[' or ',' (our JSON has no spaces). A string holding such text only costs the slower reader.
_LONG_NUMBER = re.compile(rb"[:\[,]-?[0-9]{20}")


ANY_MEMBER = 0  # WalletParts.address_id of the parts for members without labels of their own


@dataclass(frozen=True, slots=True)
class WalletParts:
    """The JSON of a wallet's ``labels``, ``counterparties``, ``exposure`` and ``risk.reasons``, with its
    score, as one member (``address_id``, or ANY_MEMBER) sees them."""

    wallet: int
    address_id: int
    score: int
    level: str
    labels: bytes
    counterparties: bytes
    exposure: bytes  # with SCREENED for the screened address
    reasons: bytes  # with SCREENED for the screened address

    def fill(self, address: str) -> dict[str, object]:
        """The answer's parts for ``address`` (a member of the wallet), as JSON fragments."""
        shown = orjson.dumps(address)[1:-1]
        return {
            "labels": orjson.Fragment(self.labels),
            "counterparties": orjson.Fragment(self.counterparties),
            "exposure": orjson.Fragment(self.exposure.replace(_SCREENED_JSON, shown)),
            "risk": {
                "score": self.score,
                "level": self.level,
                "reasons": orjson.Fragment(self.reasons.replace(_SCREENED_JSON, shown)),
            },
        }


def wallet_parts(
    chain: Chain, wallet: int, data: ScreeningData, actors: dict[tuple[int, str, str], Actor]
) -> list[WalletParts]:
    """The parts of ``wallet`` from its labels and exposure rows (``data``): for any member without a label
    of its own, then for each labelled member; none when it has neither (its answer is empty)."""
    own = data.labels.get(wallet, [])
    exposures = exposures_of(chain, Target(SCREENED, ANY_MEMBER, wallet, 0), data, actors)
    if not exposures and not own:
        return []
    counterparties = dumps([e.as_counterparty() for e in exposures if e.row.hops == 1])
    exposure = dumps([e.as_dict() for e in exposures])
    found = [f for e in exposures for f in e.findings()]
    parts = []
    for member in [ANY_MEMBER, *sorted({lb.address_id for lb in own})]:
        target = Target(SCREENED, member, wallet, 0)
        risk = assess(ownership_findings(target, own) + found)
        labels = [label_json(lb, "self" if lb.address_id == member else "cluster") for lb in own]
        reasons = dumps([r.as_dict() for r in risk.reasons])
        parts.append(
            WalletParts(
                wallet,
                member,
                risk.score,
                risk.level.value,
                dumps(labels),
                counterparties,
                exposure,
                reasons,
            )
        )
    return parts


def label_json(label: LabelRow, relation: str) -> dict[str, object]:
    return {
        "address": label.address,
        "relation": relation,
        "label": label.label,
        "category": label.category,
        "source": label.source,
        "actor": label.actor,
        "actor_id": label.actor_id,  # its actor record (GET /v1/actors/{id}); None: the label names none
        "confidence": label.confidence,
        "reference": label.reference,
    }


def plain(answer: dict[str, object]) -> dict[str, object]:
    """An answer with its JSON fragments decoded (what the CLI and single-address callers get)."""
    out = {k: _loads(v) for k, v in answer.items()}
    risk = out.get("risk")
    if isinstance(risk, dict):
        out["risk"] = {k: _loads(v) for k, v in risk.items()}
    return out


def _loads(value: object) -> object:
    if not isinstance(value, orjson.Fragment):
        return value
    contents = orjson.dumps(value)  # a fragment's JSON, as it was given
    # orjson reads an integer beyond 64 bits as a float: the standard library keeps it exact.
    return json.loads(contents) if _LONG_NUMBER.search(contents) else orjson.loads(contents)
