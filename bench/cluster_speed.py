"""Union-find speed and memory: tracer's engine against networkx connected_components on the same edges.

Input: 10M merge edges over addresses whose true clusters have heavy-tailed sizes (Pareto, as wallet sizes
are), plus one huge cluster holding 10 % of the addresses -- the shape of an exchange's cluster. Edges come
in random order. tracer runs all 10M; networkx runs a prefix of the same edge list (building its graph for
10M edges needs more memory than this machine can spare), and both are compared as unions (edges) per second.
Peak memory is measured with tracemalloc in a separate pass (it slows the code it watches) and divided by the
number of addresses the pass touched.

Run: .venv/bin/python -m bench.cluster_speed [--edges N] [--peer-edges N]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import networkx as nx
import numpy as np
import numpy.typing as npt

from bench.common import figure
from tracer.clustering.forest import Forest

Edges = tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]
HUGE_CLUSTER_SHARE = 0.10  # of all addresses
PARETO_SHAPE = 1.2  # tail exponent of the cluster-size distribution (most clusters tiny, a few very large)


def generate(edges: int, seed: int = 7) -> tuple[Edges, int]:
    """(edge arrays, number of addresses): a spanning edge per non-first member of each cluster, then
    random extra edges inside clusters until there are ``edges`` in all, shuffled."""
    rng = np.random.default_rng(seed)
    addresses = int(edges * 0.6)
    huge = int(addresses * HUGE_CLUSTER_SHARE)
    sizes = [huge]
    rest = addresses - huge
    tail = np.minimum((rng.pareto(PARETO_SHAPE, rest) + 1).astype(np.int64), 100_000)
    ends = np.cumsum(tail)
    sizes += tail[: int(np.searchsorted(ends, rest))].tolist()
    sizes.append(addresses - sum(sizes))
    size_arr = np.array([s for s in sizes if s > 0], dtype=np.int64)
    starts = np.repeat(np.cumsum(size_arr) - size_arr, size_arr)  # cluster start of every position
    position = np.arange(addresses, dtype=np.int64)
    members = rng.permutation(addresses).astype(np.int64)  # position -> address id
    # spanning edges: each non-first position joins a random earlier position of its cluster
    span = position[position != starts]
    span_to = starts[span] + (rng.random(span.size) * (span - starts[span])).astype(np.int64)
    extra = max(edges - span.size, 0)
    pick = rng.integers(0, addresses, extra)
    width = np.repeat(size_arr, size_arr)[pick]
    partner = starts[pick] + (rng.random(extra) * width).astype(np.int64)
    a = np.concatenate([members[span], members[pick]])[:edges]
    b = np.concatenate([members[span_to], members[partner]])[:edges]
    order = rng.permutation(a.size)
    # int32 ids, as the engine keeps them below 2**31: the forest then uses the arrays without a copy
    return (a[order].astype(np.int32), b[order].astype(np.int32)), addresses


def run_tracer(edges: Edges, addresses: int) -> Callable[[], int]:
    forest = Forest(addresses)
    forest.union_edges(*edges)
    labels = forest.labelling()  # every id pointing at its cluster id, in place
    return lambda: int(np.count_nonzero(labels != np.arange(addresses)))  # non-root ids


def run_networkx(edges: Edges, _addresses: int) -> Callable[[], int]:
    graph = nx.Graph()
    graph.add_edges_from(zip(edges[0].tolist(), edges[1].tolist(), strict=True))
    components = list(nx.connected_components(graph))
    return lambda: sum(len(c) - 1 for c in components)


def measure(
    run: Callable[[Edges, int], Callable[[], int]], edges: Edges, addresses: int
) -> tuple[float, int, float]:
    """(seconds, non-root ids = successful unions, peak bytes per address touched by the edges)."""
    start = time.perf_counter()
    result = run(edges, addresses)
    seconds = time.perf_counter() - start
    joined = result()
    del result
    touched = int(np.unique(np.concatenate(edges)).size)
    tracemalloc.start()
    run(edges, addresses)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, joined, peak / max(touched, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--edges", type=int, default=10_000_000)
    parser.add_argument("--peer-edges", type=int, default=1_000_000, help="networkx runs this prefix")
    args = parser.parse_args()
    (a, b), addresses = generate(args.edges)
    figure("edges", a.size, "edges")
    figure("addresses", addresses, "addresses")
    compile_start = time.perf_counter()
    Forest(4).union_edges([0, 2], [1, 3])  # numba compiles on first use (cached on disk afterwards)
    figure("tracer kernel compile / cache load", time.perf_counter() - compile_start, "s")

    ours_s, _joined, ours_bpa = measure(run_tracer, (a, b), addresses)
    figure(f"tracer: {a.size:,} edges", ours_s, "s")
    figure("tracer: unions/s", a.size / ours_s, "unions/s")
    # The forest holds every address id, singletons too (as it does for a chain's addresses): its memory per
    # address is the target's measure. Per address the edges touch it is higher by the singletons' share.
    touched = int(np.unique(np.concatenate((a, b))).size)
    figure(
        "tracer: peak memory per address (every address id in the forest)",
        ours_bpa * touched / addresses,
        "B/address",
    )
    figure(
        f"tracer: peak memory per address the edges touch ({touched:,} of {addresses:,})",
        ours_bpa,
        "B/address",
    )

    peer = (a[: args.peer_edges], b[: args.peer_edges])
    peer_s, peer_joined, peer_bpa = measure(run_networkx, peer, addresses)
    check_s, check_joined, _ = measure(run_tracer, peer, addresses)
    if check_joined != peer_joined:
        raise SystemExit(f"tracer and networkx disagree on the prefix: {check_joined} != {peer_joined}")
    figure(f"networkx: {peer[0].size:,} edges (prefix; same components as tracer)", peer_s, "s")
    figure("networkx: unions/s", peer[0].size / peer_s, "unions/s")
    figure("networkx: peak memory per address", peer_bpa, "B/address")
    figure(f"tracer on the same prefix ({peer[0].size:,} edges)", check_s, "s")
    print(f"ratio: {(a.size / ours_s) / (peer[0].size / peer_s):.1f}")


if __name__ == "__main__":
    main()
