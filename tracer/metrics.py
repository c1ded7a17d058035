"""Prometheus metrics, declared once. Each app gets its own registry so tests do not collide."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass(frozen=True, slots=True)
class Metrics:
    registry: CollectorRegistry
    requests: Counter
    request_seconds: Histogram
    screenings: Counter

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
