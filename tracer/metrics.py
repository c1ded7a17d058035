"""Prometheus metrics, declared once. Each app gets its own registry so tests do not collide."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    screenings: Counter
    # labelled children by label values: prometheus_client's labels() locks and builds keys on every call
    _children: dict[tuple[str, ...], tuple[Counter, Histogram]] = field(default_factory=dict)
    _screen_children: dict[tuple[str, str], Counter] = field(default_factory=dict)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, str(status))
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(*key), self.request_seconds.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count_screening(self, chain: str, level: str) -> None:
        child = self._screen_children.get((chain, level))
        if child is None:
            child = self._screen_children[(chain, level)] = self.screenings.labels(chain, level)
        child.inc()

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter(
                "tracer_http_requests", "HTTP requests", ["route", "method", "status"], registry=registry
            ),
            request_seconds=Histogram(
                "tracer_http_request_seconds",
                "HTTP request latency",
                ["route"],
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
                registry=registry,
            ),
            screenings=Counter(
                "tracer_screenings",
                "Addresses screened, by risk level",
                ["chain", "level"],
                registry=registry,
            ),
        )


_SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True, slots=True)
class IndexerMetrics:
    """The indexer's metrics, labelled by chain. ``tracer index --metrics-port`` serves them; tests read them
    from ``registry``."""

    registry: CollectorRegistry
    blocks: Counter
    txs: Counter
    blocks_unchanged: Counter
    tip_lag: Gauge
    height: Gauge
    node_seconds: Histogram
    node_errors: Counter
    parse_seconds: Histogram
    write_seconds: Histogram
    reorgs: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> IndexerMetrics:
        reg = registry or CollectorRegistry()
        return cls(
            registry=reg,
            blocks=Counter("tracer_index_blocks", "Blocks written", ["chain"], registry=reg),
            txs=Counter("tracer_index_txs", "Transactions written", ["chain"], registry=reg),
            blocks_unchanged=Counter(
                "tracer_index_blocks_unchanged",
                "Blocks found already stored with the same hash (not parsed)",
                ["chain"],
                registry=reg,
            ),
            tip_lag=Gauge(
                "tracer_index_tip_lag_blocks",
                "Node tip height minus our next height",
                ["chain"],
                registry=reg,
            ),
            height=Gauge("tracer_index_next_height", "Next height to index", ["chain"], registry=reg),
            node_seconds=Histogram(
                "tracer_index_node_seconds",
                "Latency of one batched fetch from the node",
                ["chain"],
                buckets=_SECONDS_BUCKETS,
                registry=reg,
            ),
            node_errors=Counter(
                "tracer_index_node_errors",
                "Node failures that reached the indexer (after retries), by error class",
                ["chain", "kind"],
                registry=reg,
            ),
            parse_seconds=Histogram(
                "tracer_index_parse_seconds",
                "Wall time from a batch fetched to all its blocks parsed",
                ["chain"],
                buckets=_SECONDS_BUCKETS,
                registry=reg,
            ),
            write_seconds=Histogram(
                "tracer_index_write_seconds",
                "Time of one batch's write transaction",
                ["chain"],
                buckets=_SECONDS_BUCKETS,
                registry=reg,
            ),
            reorgs=Counter(
                "tracer_index_reorgs", "Stored blocks found off the node's chain", ["chain"], registry=reg
            ),
        )
