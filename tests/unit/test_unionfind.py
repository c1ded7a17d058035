"""Union-find invariants, checked against networkx's connected components as an independent oracle."""

from __future__ import annotations

import itertools

import networkx as nx
from hypothesis import given
from hypothesis import strategies as st

from tracer.clustering.unionfind import UnionFind

groups = st.lists(st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=6), max_size=40)


@given(groups)
def test_sets_equal_connected_components(merges: list[list[int]]) -> None:
    forest, graph = UnionFind(), nx.Graph()
    for group in merges:
        forest.union_all(group)
        graph.add_nodes_from(group)
        graph.add_edges_from(itertools.pairwise(group))
    expected = {min(c): sorted(c) for c in nx.connected_components(graph) if len(c) > 1}
    assert forest.clusters() == expected


@given(groups)
def test_cluster_id_is_smallest_member_and_order_free(merges: list[list[int]]) -> None:
    forward, backward = UnionFind(), UnionFind()
    for group in merges:
        forward.union_all(group)
    for group in reversed(merges):
        backward.union_all(list(reversed(group)))
    for members in forward.clusters().values():
        for member in members:
            assert forward.cluster_id(member) == min(members) == backward.cluster_id(member)
            assert forward.size(member) == len(members)


def test_unknown_id_is_its_own_singleton() -> None:
    forest = UnionFind()
    assert forest.find(7) == 7
    assert forest.cluster_id(7) == 7
    assert forest.size(7) == 1
    assert forest.union_all([]) == 0


def test_union_reports_whether_it_changed_anything() -> None:
    forest = UnionFind()
    assert forest.union(3, 9)
    assert not forest.union(9, 3)
    assert forest.union_all([9, 4, 3]) == 1  # only 4 was new to the set
