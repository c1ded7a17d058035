"""Risk scores from findings: pure, explainable, one reason per finding that moves the score.

A finding is a label met in one of four relations to the screened address. Its score is
``SEVERITY_SCORE[severity] * RELATION_WEIGHT[relation]``; the address's score is the largest finding
score (not a sum: ten exchange counterparties do not add up to a sanctions hit), and the level follows
from fixed thresholds. Every reason names the label, the list it came from, the labelled address and the
relation, so an analyst can check each step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from tracer.risk.categories import SEVERITY, Category, Severity


class Relation(StrEnum):
    SELF = "self"  # the screened address carries the label
    CLUSTER = "cluster"  # another address of its cluster does (common-input ownership)
    COUNTERPARTY = "counterparty"  # a direct (1-hop) counterparty carries it
    COUNTERPARTY_CLUSTER = "counterparty_cluster"  # the counterparty's cluster carries it


class Level(StrEnum):
    SEVERE = "severe"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


SEVERITY_SCORE: dict[Severity, float] = {
    Severity.SEVERE: 100.0,
    Severity.HIGH: 75.0,
    Severity.MEDIUM: 40.0,
    Severity.NONE: 0.0,
}
# Ownership weighs most; exposure through a counterparty less, and less again when only the
# counterparty's cluster (a heuristic link) carries the label.
RELATION_WEIGHT: dict[Relation, float] = {
    Relation.SELF: 1.0,
    Relation.CLUSTER: 0.9,
    Relation.COUNTERPARTY: 0.6,
    Relation.COUNTERPARTY_CLUSTER: 0.55,
}
# (minimum score, level), checked from the top. A sanctioned counterparty (60) is "high"; a sanctioned
# address or cluster is "severe"; a scam counterparty (45) is "medium".
LEVEL_THRESHOLDS: tuple[tuple[float, Level], ...] = (
    (85.0, Level.SEVERE),
    (55.0, Level.HIGH),
    (25.0, Level.MEDIUM),
    (0.5, Level.LOW),
)


@dataclass(frozen=True, slots=True)
class Finding:
    relation: Relation
    labelled_address: str
    label: str
    category: Category
    source: str  # the list: "OFAC SDN list (XBT)"
    actor: str | None = None
    confidence: str | None = None
    counterparty: str | None = None  # for counterparty relations: the address we transacted with
    direction: str | None = None  # "sent_to" | "received_from"
    amount: int | None = None  # base units moved between the screened address and the counterparty
    tx_count: int | None = None
    unit: str = "base units"  # what `amount` counts: sat, wei, sun


@dataclass(frozen=True, slots=True)
class Reason:
    finding: Finding
    severity: Severity
    score: int
    explanation: str

    def as_dict(self) -> dict[str, object]:
        f = self.finding
        body: dict[str, object] = {
            "relation": f.relation.value,
            "address": f.labelled_address,
            "label": f.label,
            "category": f.category.value,
            "source": f.source,
            "severity": self.severity.name.lower(),
            "score": self.score,
            "explanation": self.explanation,
        }
        if f.actor:
            body["actor"] = f.actor
        if f.counterparty is not None:
            body.update(
                counterparty=f.counterparty, direction=f.direction, amount=f.amount, tx_count=f.tx_count
            )
        return body


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int
    level: Level
    reasons: tuple[Reason, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "level": self.level.value,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def assess(findings: Iterable[Finding]) -> Assessment:
    reasons = [reason for f in findings if (reason := _reason(f)).score > 0]
    reasons.sort(key=lambda r: (-r.score, r.finding.relation != Relation.SELF, r.finding.labelled_address))
    top = reasons[0].score if reasons else 0
    return Assessment(score=top, level=level_for(top), reasons=tuple(reasons))


def level_for(score: float) -> Level:
    for minimum, level in LEVEL_THRESHOLDS:
        if score >= minimum:
            return level
    return Level.NONE


def _reason(f: Finding) -> Reason:
    severity = SEVERITY[f.category]
    score = round(SEVERITY_SCORE[severity] * RELATION_WEIGHT[f.relation])
    return Reason(f, severity, score, _explain(f))


def _explain(f: Finding) -> str:
    what = f"'{f.label}' ({f.category.value}) from {f.source}"
    if f.relation is Relation.SELF:
        return f"address is listed: {what}"
    if f.relation is Relation.CLUSTER:
        return f"address shares a cluster (common-input ownership) with {f.labelled_address}, listed: {what}"
    moved = f"{f.direction.replace('_', ' ') if f.direction else 'transacted with'} {f.counterparty}"
    amount = f" ({f.amount:,} {f.unit} in {f.tx_count} tx)" if f.amount is not None else ""
    if f.relation is Relation.COUNTERPARTY:
        return f"{moved}{amount}, which is listed: {what}"
    return f"{moved}{amount}, whose cluster contains {f.labelled_address}, listed: {what}"
