"""The risk rules from ``rules.toml``: category scores, relation and direction weights, hop decay, levels.

Pure: ``Rules.score`` is a function of its arguments and the file, so the same inputs give the same score.
Loading validates what the scoring relies on (every category scored, decay in (0, 1], levels descending),
so a bad rules file fails at start-up, not in a screening.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from types import MappingProxyType
from typing import TypeVar

from tracer.errors import ConfigError
from tracer.risk.categories import Category

_E = TypeVar("_E", bound=StrEnum)


class Relation(StrEnum):
    SELF = "self"  # the screened address carries the label
    CLUSTER = "cluster"  # another address of its wallet (cluster) does
    COUNTERPARTY = "counterparty"  # its wallet exchanged value with the actor's, 1..max_hops away


class Direction(StrEnum):
    INCOMING = "incoming"  # source of funds
    OUTGOING = "outgoing"  # destination of funds


class Level(StrEnum):
    SEVERE = "severe"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Rules:
    category: Mapping[Category, float]
    relation: Mapping[Relation, float]
    direction: Mapping[Direction, float]
    hop_decay: float
    max_hops: int
    levels: tuple[tuple[float, Level], ...]  # (minimum score, level), highest first

    def score(
        self, category: Category, relation: Relation, hops: int = 0, direction: Direction | None = None
    ) -> int:
        weight = self.relation[relation]
        if relation is Relation.COUNTERPARTY:
            weight *= self.direction[direction or Direction.INCOMING] * self.hop_decay ** (max(hops, 1) - 1)
        return round(self.category[category] * weight)

    def level(self, score: float) -> Level:
        for minimum, level in self.levels:
            if score >= minimum:
                return level
        return Level.NONE


@functools.cache
def default_rules() -> Rules:
    text = resources.files("tracer.risk").joinpath("rules.toml").read_text(encoding="utf-8")
    return parse_rules(text)


def parse_rules(text: str) -> Rules:
    try:
        raw = tomllib.loads(text)
        rules = Rules(
            category=_table(raw["category"], Category),
            relation=_table(raw["relation"], Relation),
            direction=_table(raw["direction"], Direction),
            hop_decay=float(raw["hops"]["decay"]),
            max_hops=int(raw["hops"]["max"]),
            levels=tuple((float(raw["levels"][lv.value]), lv) for lv in Level if lv is not Level.NONE),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"risk rules: {type(exc).__name__}: {exc}") from exc
    _check(rules)
    return rules


def _table(table: Mapping[str, object], keys: type[_E]) -> Mapping[_E, float]:
    missing = [k.value for k in keys if k.value not in table]
    unknown = sorted(set(table) - {k.value for k in keys})
    if missing or unknown:
        raise ValueError(f"{keys.__name__}: missing {missing}, unknown {unknown}")
    return MappingProxyType({k: float(table[k.value]) for k in keys})  # type: ignore[arg-type]


def _check(rules: Rules) -> None:
    if not 0 < rules.hop_decay <= 1:
        raise ConfigError("risk rules: hops.decay must lie in (0, 1]: more hops may never score higher")
    if rules.max_hops < 1:
        raise ConfigError("risk rules: hops.max must be at least 1")
    if any(not 0 <= v <= 100 for v in rules.category.values()):
        raise ConfigError("risk rules: category scores lie in 0..100")
    if any(not 0 <= v <= 1 for v in (*rules.relation.values(), *rules.direction.values())):
        raise ConfigError("risk rules: relation and direction weights lie in 0..1")
    minimums = [m for m, _ in rules.levels]
    if minimums != sorted(minimums, reverse=True) or minimums[-1] <= 0:
        raise ConfigError("risk rules: level minimums must descend (severe > high > medium > low > 0)")
