"""Collapse guards: the merges a behavioural heuristic may not make.

The known failure of address clustering is the supercluster: one weak rule fuses an exchange with its users
(Meiklejohn et al. 2013: the change heuristic without refinements grew one cluster from 13.2M to 281.3M
addresses). Two guards, applied to every merge that is not ownership evidence (heuristics.catalog):
1. OWNER_CONFLICT: the clusters' labels name different owners (two exchanges; an exchange and a sanctioned
   actor). An owner is the label's actor, compared by actor id (labels.actor_id), else -- for a label linked
   to no actor -- its label text, case-insensitively (tracer.store.clusters.OWNER_OF_LABEL).
2. SIZE_LIMIT: a weak heuristic would grow a cluster past ``max_weak_size`` members.
Ownership merges (common input) pass: signing together is control of keys, whatever the labels say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy.typing as npt

from heuristics.catalog import CATALOG
from heuristics.evidence import Heuristic

DEFAULT_MAX_WEAK_SIZE = 10_000  # members; a weak rule never builds a cluster larger than this


class RefusalReason(StrEnum):
    OWNER_CONFLICT = "owner_conflict"
    SIZE_LIMIT = "size_limit"


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: RefusalReason
    detail: str
    parameters: dict[str, int | str]


class OwnerIndex:
    """The owners named by the labels in each cluster, keyed by cluster root; kept current across merges."""

    __slots__ = ("_owners",)

    def __init__(self) -> None:
        self._owners: dict[int, frozenset[str]] = {}

    @classmethod
    def build(cls, owners_by_address: Mapping[int, Iterable[str]], roots: npt.NDArray[Any]) -> OwnerIndex:
        """``roots[i]`` is the current root of the i-th address of ``owners_by_address``."""
        index = cls()
        for (_address, owners), root in zip(owners_by_address.items(), roots.tolist(), strict=True):
            index._owners[root] = index._owners.get(root, frozenset()) | frozenset(owners)
        return index

    def owners(self, root: int) -> frozenset[str]:
        return self._owners.get(root, frozenset())

    def relink(self, retired: Iterable[int], survivor: Iterable[int]) -> None:
        """Roots ``retired[i]`` now sit under ``survivor[i]`` (in the order the links were made)."""
        owners = self._owners
        if not owners:
            return
        for old, new in zip(retired, survivor, strict=True):
            moved = owners.pop(old, None)
            if moved is not None:
                owners[new] = owners.get(new, frozenset()) | moved


def check(
    heuristic: Heuristic, roots: list[int], sizes: list[int], owners: OwnerIndex, max_weak_size: int
) -> Refusal | None:
    """Whether merging the clusters ``roots`` (distinct, with their ``sizes``) by ``heuristic`` is refused."""
    info = CATALOG[heuristic]
    if info.ownership or len(roots) < 2:
        return None
    named = [(root, owners.owners(root)) for root in roots]
    named = [(root, o) for root, o in named if o]
    for i, (root_a, owners_a) in enumerate(named):
        for root_b, owners_b in named[i + 1 :]:
            if owners_a.isdisjoint(owners_b):
                return Refusal(
                    RefusalReason.OWNER_CONFLICT,
                    f"cluster {root_a} is labelled {_names(owners_a)}, cluster {root_b} {_names(owners_b)}",
                    {"cluster_a": root_a, "cluster_b": root_b},
                )
    total = sum(sizes)
    if info.weak and total > max_weak_size:
        return Refusal(
            RefusalReason.SIZE_LIMIT,
            f"a weak heuristic would build a cluster of {total} members (limit {max_weak_size})",
            {"resulting_size": total, "limit": max_weak_size, "largest_part": max(sizes)},
        )
    return None


def _names(owners: frozenset[str]) -> str:
    return " / ".join(sorted(owners)[:3]) + (" ..." if len(owners) > 3 else "")
