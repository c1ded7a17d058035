"""Union-find over integer address ids in two compact arrays, with the hot loops compiled (numba).

Invariants (tests check them):
1. The root of every set is its smallest member, so ``find(x)`` is x's cluster id: ids do not depend on the
   order of merges, stay the same for a cluster that does not change, and when two clusters merge the larger
   id is retired -- and, being an address id, it still resolves to the new cluster through that address.
2. ``size[root]`` is the number of members of the set; entries of non-roots are stale and never read.
3. An id never seen by a union is its own singleton (``parent[x] == x``, ``size[x] == 1``).

Memory: ``parent`` and ``size`` are int32 while ids stay below 2**31 (8 bytes per address id: the ~1.4 billion
addresses of the whole Bitcoin chain fit in ~11 GB); int64 beyond. Linking the larger root under the smaller
(instead of union by size) is what keeps invariant 1; path halving keeps ``find`` short in practice (the
10M-edge benchmark in bench/cluster_speed.py measures it against networkx).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt

IdArray = npt.NDArray[Any]  # int32 or int64
_INT32_LIMIT = 2**31 - 1


@numba.njit(cache=True, nogil=True)
def _find(parent: IdArray, x: int) -> int:
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@numba.njit(cache=True, nogil=True)
def _link(parent: IdArray, size: IdArray, ra: int, rb: int) -> int:
    """Link two distinct roots: the larger id goes under the smaller. Returns the surviving root."""
    if rb < ra:
        ra, rb = rb, ra
    parent[rb] = ra
    size[ra] += size[rb]
    return ra


@numba.njit(cache=True, nogil=True)
def _union_edges(parent: IdArray, size: IdArray, a: IdArray, b: IdArray) -> int:
    merged = 0
    for i in range(a.shape[0]):
        ra = _find(parent, a[i])
        rb = _find(parent, b[i])
        if ra != rb:
            _link(parent, size, ra, rb)
            merged += 1
    return merged


@numba.njit(cache=True, nogil=True)
def _union_edges_logged(  # noqa: PLR0917
    parent: IdArray, size: IdArray, a: IdArray, b: IdArray, retired: IdArray, survivor: IdArray
) -> int:
    """As _union_edges, and writes each link made (retired root -> surviving root) in order."""
    merged = 0
    for i in range(a.shape[0]):
        ra = _find(parent, a[i])
        rb = _find(parent, b[i])
        if ra != rb:
            kept = _link(parent, size, ra, rb)
            retired[merged] = ra + rb - kept
            survivor[merged] = kept
            merged += 1
    return merged


@numba.njit(cache=True, nogil=True)
def _roots(parent: IdArray, ids: IdArray) -> IdArray:
    out = np.empty_like(ids)
    for i in range(ids.shape[0]):
        out[i] = _find(parent, ids[i])
    return out


@numba.njit(cache=True, nogil=True)
def _flatten(parent: IdArray) -> None:
    """Point every id straight at its root (ids are visited in increasing order and roots are minima)."""
    for x in range(parent.shape[0]):
        parent[x] = parent[parent[x]]


class Forest:
    """Disjoint sets over ids 0..capacity-1; grows on demand."""

    __slots__ = ("_parent", "_size")

    def __init__(self, capacity: int = 0) -> None:
        dtype = np.int32 if capacity <= _INT32_LIMIT else np.int64
        self._parent: IdArray = np.arange(capacity, dtype=dtype)
        self._size: IdArray = np.ones(capacity, dtype=dtype)

    @property
    def capacity(self) -> int:
        return int(self._parent.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self._parent.nbytes + self._size.nbytes)

    def reserve(self, max_id: int) -> None:
        """Make room for ids up to ``max_id`` (amortised doubling)."""
        if max_id < self.capacity:
            return
        new = max(max_id + 1, self.capacity * 2, 1024)
        dtype = np.int32 if new - 1 <= _INT32_LIMIT else np.int64
        parent = np.arange(new, dtype=dtype)
        parent[: self.capacity] = self._parent
        size = np.ones(new, dtype=dtype)
        size[: self.capacity] = self._size
        self._parent, self._size = parent, size

    def _ids(self, values: npt.ArrayLike) -> IdArray:
        ids = np.asarray(values, dtype=self._parent.dtype)
        if ids.size:
            if int(ids.min()) < 0:
                raise ValueError("address ids are non-negative")
            self.reserve(int(ids.max()))
        return ids

    def union_edges(self, a: npt.ArrayLike, b: npt.ArrayLike) -> int:
        """Union every pair (a[i], b[i]); return how many unions joined two sets."""
        left, right = self._ids(a), self._ids(b)
        if left.shape != right.shape:
            raise ValueError("edge arrays differ in length")
        return int(_union_edges(self._parent, self._size, left, right))

    def union_edges_logged(self, a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[IdArray, IdArray]:
        """Union the pairs; return the links made as (retired roots, surviving roots), in order."""
        left, right = self._ids(a), self._ids(b)
        if left.shape != right.shape:
            raise ValueError("edge arrays differ in length")
        retired, survivor = np.empty_like(left), np.empty_like(left)
        n = int(_union_edges_logged(self._parent, self._size, left, right, retired, survivor))
        return retired[:n], survivor[:n]

    def union(self, a: int, b: int) -> bool:
        return self.union_edges([a], [b]) == 1

    def union_all(self, ids: npt.ArrayLike) -> int:
        """Merge all ids into one set; return how many unions changed something."""
        members = self._ids(ids)
        if members.size < 2:
            return 0
        return int(
            _union_edges(self._parent, self._size, np.repeat(members[:1], members.size - 1), members[1:])
        )

    def find(self, x: int) -> int:
        """The cluster id of x: the smallest member of its set."""
        if x >= self.capacity:
            return x
        return int(_find(self._parent, x))

    def roots(self, ids: npt.ArrayLike) -> IdArray:
        members = np.asarray(ids, dtype=self._parent.dtype)
        inside = members < self.capacity
        out = members.copy()
        out[inside] = _roots(self._parent, members[inside])
        return out

    def size(self, x: int) -> int:
        return 1 if x >= self.capacity else int(self._size[self.find(x)])

    def sizes(self, roots: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Sizes of the sets whose roots are ``roots`` (every entry must be a root)."""
        ids = np.asarray(roots, dtype=np.int64)
        out = np.ones(ids.shape[0], dtype=np.int64)
        inside = ids < self.capacity
        out[inside] = self._size[ids[inside]]
        return out

    def labelling(self) -> IdArray:
        """Cluster id of every id 0..capacity-1 (compresses every path; a view: copy before mutating)."""
        _flatten(self._parent)
        return self._parent

    def clusters(self) -> dict[int, list[int]]:
        """{cluster id: sorted members} for every set of two or more (for tests and small data)."""
        labels = self.labelling()
        ids = np.flatnonzero(labels != np.arange(labels.shape[0]))
        out: dict[int, list[int]] = {}
        for member, root in zip(ids.tolist(), labels[ids].tolist(), strict=True):
            out.setdefault(root, [root]).append(member)
        return {root: sorted(members) for root, members in sorted(out.items())}

    @classmethod
    def from_labelling(cls, members: npt.ArrayLike, cluster_ids: npt.ArrayLike, capacity: int) -> Forest:
        """Rebuild a forest from stored (member, cluster id) pairs: each member points at its cluster id."""
        forest = cls(capacity)
        m, c = forest._ids(members), forest._ids(cluster_ids)
        forest._parent[m] = c
        counts = np.bincount(c, minlength=forest.capacity)
        roots = np.flatnonzero(counts)
        forest._size[roots] = counts[roots]  # stored rows include the root's own
        return forest
