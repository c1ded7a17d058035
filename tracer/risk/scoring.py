"""Risk scores from findings: pure, explainable, ONE reason per actor.

A finding is one label met in one way: the screened address carries it (self), its wallet does (cluster),
or its wallet exchanged value with the wallet that does, ``hops`` away, in a direction (counterparty).
Findings are grouped by actor (the actor record a label links to, else the actor a source names, else the
labelled address); an actor's reason is its strongest finding, names the actor, and lists every source that
supports it. The score is the worst reason's; the rules
(``rules.toml``) set the weights. Same findings, same assessment: ordering never depends on input order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tracer.risk.categories import SEVERITY, Category
from tracer.risk.rules import Direction, Level, Relation, Rules, default_rules

__all__ = ["Assessment", "Direction", "Finding", "Level", "Reason", "Relation", "assess"]


_RELATION_ORDER = {relation: n for n, relation in enumerate(Relation)}  # strongest tie-break first


@dataclass(frozen=True, slots=True)
class Finding:
    actor_key: str  # what groups labels into one actor ("actor_id:7", "actor:Lazarus Group", "address:42")
    actor: str  # its display name: the actor record's, the source's actor, or the label without one
    relation: Relation
    category: Category
    label: str
    source: str  # the list: "OFAC SDN list (XBT)"
    labelled_address: str
    hops: int = 0  # 0 for ownership
    direction: Direction | None = None
    amount: int | None = None  # base units; None when unknown
    amount_is_lower_bound: bool = False  # some transactions' values are unknown
    share: float | None = None  # of the wallet's total in that direction
    asset: str = "native"
    unit: str = "base units"
    symbol: str | None = None  # the coin's or token's symbol, when known
    decimals: int | None = None  # base units per whole coin (a power of ten), when known
    tx_count: int | None = None
    path: tuple[str, ...] = ()  # addresses of the wallets along the way, in the direction funds moved
    txids: tuple[str, ...] = ()  # transactions that carry it
    actor_id: int | None = None  # the actor record (actors.id), when the label links to one
    actor_category: str | None = None  # that record's category (the actor taxonomy)

    def sort_key(self, score: int) -> tuple[object, ...]:
        return (-score, self.hops, _RELATION_ORDER[self.relation], -(self.amount or 0),
                self.labelled_address, self.label, self.source)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reason:
    finding: Finding  # the strongest finding of the actor
    score: int
    sources: tuple[str, ...]
    labels: tuple[str, ...]
    explanation: str

    def as_dict(self) -> dict[str, object]:
        f = self.finding
        body: dict[str, object] = {
            "actor": f.actor,
            "actor_id": f.actor_id,
            "actor_category": f.actor_category,
            "category": f.category.value,
            "severity": SEVERITY[f.category].name.lower(),
            "score": self.score,
            "relation": f.relation.value,
            "hops": f.hops,
            "direction": f.direction.value if f.direction else None,
            "address": f.labelled_address,
            "label": f.label,
            "labels": list(self.labels),
            "source": f.source,
            "sources": list(self.sources),
            "explanation": self.explanation,
        }
        if f.relation is Relation.COUNTERPARTY:
            body.update(
                exposure="direct" if f.hops == 1 else "indirect",
                asset=f.asset,
                amount=f.amount,
                amount_is_lower_bound=f.amount_is_lower_bound,
                share=f.share,
                unit=f.unit,
                symbol=f.symbol,
                decimals=f.decimals,
                tx_count=f.tx_count,
                path=list(f.path),
                txids=list(f.txids),
            )
        return body


@dataclass(frozen=True, slots=True)
class Assessment:
    score: int
    level: Level
    reasons: tuple[Reason, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "score": self.score,
            "level": self.level.value,
            "reasons": [r.as_dict() for r in self.reasons],
        }


def assess(findings: Iterable[Finding], rules: Rules | None = None) -> Assessment:
    rules = rules or default_rules()
    by_actor: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_actor[f.actor_key].append(f)
    reasons = [r for group in by_actor.values() if (r := _reason(group, rules)).score > 0]
    reasons.sort(key=lambda r: (r.finding.sort_key(r.score), r.finding.actor_key))
    top = reasons[0].score if reasons else 0
    return Assessment(score=top, level=rules.level(top), reasons=tuple(reasons))


def _reason(group: Sequence[Finding], rules: Rules) -> Reason:
    scored = [(rules.score(f.category, f.relation, f.hops, f.direction), f) for f in group]
    score, best = min(scored, key=lambda sf: sf[1].sort_key(sf[0]))
    return Reason(
        finding=best,
        score=score,
        sources=tuple(sorted({f.source for f in group})),
        labels=tuple(sorted({f.label for f in group})),
        explanation=_explain(best, sorted({f.source for f in group})),
    )


def _explain(f: Finding, sources: Sequence[str]) -> str:
    who = f"{f.actor} ({f.category.value}; {', '.join(sources)})"
    if f.relation is Relation.SELF:
        return f"address is listed as {who}"
    if f.relation is Relation.CLUSTER:
        return f"address shares a wallet (common-input ownership) with {f.labelled_address}, listed as {who}"
    amount = "an unknown amount" if f.amount is None else f"{f.amount:,} {f.unit}"
    if f.amount is not None and f.amount_is_lower_bound:
        amount = f"at least {amount}"
    share = f" ({f.share:.2%} of its {f.direction.value if f.direction else ''} value)" if f.share else ""
    hops = "directly" if f.hops == 1 else f"{f.hops} hops away"
    if f.direction is Direction.INCOMING:
        return f"wallet received {amount}{share} from {who} {hops}, via {' -> '.join(f.path)}"
    return f"wallet sent {amount}{share} to {who} {hops}, via {' -> '.join(f.path)}"
