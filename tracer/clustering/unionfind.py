"""Union-find over integer address ids.

Invariants (tests check them):
1. ``find(x)`` returns one representative for every member of x's set; unknown ids are their own set.
2. ``cluster_id(x)`` is the smallest id in x's set, so cluster ids do not depend on the order in which
   merges happen and stay the same when a rerun sees the same evidence.
3. ``size(x)`` is the number of members of x's set.
Union by size and path halving keep ``find`` near O(1) amortised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class UnionFind:
    __slots__ = ("_min", "_parent", "_size")

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}
        self._size: dict[int, int] = {}
        self._min: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self._parent
        if x not in parent:
            return x
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> bool:
        """Merge the sets of a and b; return False when they were one set already."""
        for x in (a, b):
            if x not in self._parent:
                self._parent[x] = x
                self._size[x] = 1
                self._min[x] = x
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size.pop(rb)
        self._min[ra] = min(self._min[ra], self._min.pop(rb))
        return True

    def union_all(self, ids: Iterable[int]) -> int:
        """Merge all ids into one set; return how many merges changed something."""
        iterator = iter(ids)
        first = next(iterator, None)
        if first is None:
            return 0
        return sum(self.union(first, other) for other in iterator)

    def cluster_id(self, x: int) -> int:
        root = self.find(x)
        return self._min.get(root, x)

    def size(self, x: int) -> int:
        return self._size.get(self.find(x), 1)

    def clusters(self) -> dict[int, list[int]]:
        """{cluster id: sorted members} for every set of two or more."""
        members: dict[int, list[int]] = defaultdict(list)
        for x in self._parent:
            members[self.cluster_id(x)].append(x)
        return {cid: sorted(ids) for cid, ids in members.items() if len(ids) > 1}
