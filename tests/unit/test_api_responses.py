"""JSON answers: encoding without the slow option when it is not needed, and blocks encoded once."""

from __future__ import annotations

import orjson

from tracer.api.responses import SharedJson, encode
from tracer.metrics import Metrics


def test_encode_renders_non_string_keys_too() -> None:
    assert orjson.loads(encode({"a": 1})) == {"a": 1}
    assert orjson.loads(encode({1: "x", "b": [2]})) == {"1": "x", "b": [2]}


def test_shared_json_encodes_each_object_once_and_follows_a_new_one() -> None:
    shared = SharedJson()
    coverage = {"indexed": {"bitcoin": {"max_height": 840_000}}}
    first = shared.fragment(coverage)
    assert shared.fragment(coverage) is first
    answer = orjson.loads(encode({"known": False, "coverage": first}))
    assert answer == {"known": False, "coverage": coverage}
    newer = {"indexed": {"bitcoin": {"max_height": 840_001}}}  # the cache refreshed: a new object
    assert orjson.loads(encode({"coverage": shared.fragment(newer)}))["coverage"] == newer


def test_metrics_children_are_reused_and_counted() -> None:
    metrics = Metrics.create()
    for _ in range(3):
        metrics.observe_request("/v1/screen", "POST", 200, 0.002)
    metrics.count_screening("bitcoin", "none")
    registry = metrics.registry
    labels = {"route": "/v1/screen", "method": "POST", "status": "200"}
    assert registry.get_sample_value("tracer_http_requests_total", labels) == 3
    assert registry.get_sample_value("tracer_http_request_seconds_count", {"route": "/v1/screen"}) == 3
    assert registry.get_sample_value("tracer_screenings_total", {"chain": "bitcoin", "level": "none"}) == 1
