"""Union-find invariants, checked against networkx's connected components as an independent oracle."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.clustering.forest import Forest

groups = st.lists(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6), max_size=40)


@settings(deadline=None)  # the first call compiles the numba kernels
@given(groups)
def test_sets_equal_connected_components(merges: list[list[int]]) -> None:
    forest, graph = Forest(), nx.Graph()
    for group in merges:
        forest.union_all(group)
        graph.add_nodes_from(group)
        graph.add_edges_from(itertools.pairwise(group))
    expected = {min(c): sorted(c) for c in nx.connected_components(graph) if len(c) > 1}
    assert forest.clusters() == expected


@settings(deadline=None)  # the first call compiles the numba kernels
@given(groups)
def test_cluster_id_is_smallest_member_and_order_free(merges: list[list[int]]) -> None:
    forward, backward = Forest(), Forest()
    for group in merges:
        forward.union_all(group)
    for group in reversed(merges):
        backward.union_all(list(reversed(group)))
    for members in forward.clusters().values():
        for member in members:
            assert forward.find(member) == min(members) == backward.find(member)
            assert forward.size(member) == len(members)


@settings(deadline=None)  # the first call compiles the numba kernels
@given(groups)
def test_rebuilding_from_the_stored_labelling_continues_identically(merges: list[list[int]]) -> None:
    """What incremental clustering relies on: the stored (member, cluster id) pairs are the whole state."""
    half = len(merges) // 2
    whole, first = Forest(), Forest()
    for group in merges:
        whole.union_all(group)
    for group in merges[:half]:
        first.union_all(group)
    pairs = [(m, cid) for cid, members in first.clusters().items() for m in members]
    resumed = Forest.from_labelling([m for m, _ in pairs], [c for _, c in pairs], first.capacity)
    for group in merges[half:]:
        resumed.union_all(group)
    assert resumed.clusters() == whole.clusters()
    for members in whole.clusters().values():
        assert resumed.size(members[0]) == len(members)


def test_unknown_id_is_its_own_singleton() -> None:
    forest = Forest()
    assert forest.find(7) == 7
    assert forest.size(7) == 1
    assert forest.union_all([]) == 0


def test_union_reports_whether_it_changed_anything() -> None:
    forest = Forest()
    assert forest.union(3, 9)
    assert not forest.union(9, 3)
    assert forest.union_all([9, 4, 3]) == 1  # only 4 was new to the set


def test_bulk_edges_and_compact_memory() -> None:
    forest = Forest(1_000)
    merged = forest.union_edges(np.arange(0, 999), np.arange(1, 1000))
    assert merged == 999
    assert forest.size(500) == 1000 and forest.find(999) == 0
    assert forest.nbytes == 8 * 1_000  # int32 parent + int32 size


def test_negative_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        Forest().union(-1, 2)
