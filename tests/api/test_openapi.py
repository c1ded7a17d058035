"""/openapi.json: every route is in it, answers match it, and the API is fuzzed from its schemas."""

from __future__ import annotations

from typing import Any

import aiohttp
import jsonschema
import pytest

from tracer.api.app import endpoints, make_app
from tracer.api.openapi import build_spec
from tracer.config import Settings

SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
PAYER = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"
UNKNOWN = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"


@pytest.fixture(scope="module")
async def spec(api: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{api}/openapi.json") as resp:
        assert resp.status == 200
        spec: dict[str, Any] = await resp.json()
    return spec


def validator(spec: dict[str, Any], path: str, method: str, status: int) -> jsonschema.Draft202012Validator:
    """The spec's schema for this answer; its "#/components/..." references resolve inside the spec."""
    schema = spec["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": spec["components"]})


def test_spec_is_openapi_3_1_and_lists_every_route() -> None:
    app = make_app(Settings(database_url="postgresql://unused/db"))
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    spec = build_spec(endpoints())
    assert spec["openapi"] == "3.1.0"
    described = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert registered == described


async def test_docs_page_is_served_from_the_package(api: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{api}/docs") as resp:
        text = await resp.text()
    assert resp.status == 200
    assert "/openapi.json" in text
    assert "http://" not in text and "https://" not in text  # no CDN, no remote scripts


CALLS = [
    ("post", "/v1/screen", "/v1/screen", {"chain": "bitcoin", "address": SANCTIONED}, 200),
    ("post", "/v1/screen", "/v1/screen", {"chain": "bitcoin", "address": UNKNOWN}, 200),
    ("post", "/v1/screen", "/v1/screen", {"chain": "bitcoin", "addresses": [SANCTIONED, "x", UNKNOWN]}, 200),
    ("post", "/v1/screen", "/v1/screen", {"chain": "bitcoin"}, 400),
    ("get", "/v1/addresses/{chain}/{address}", f"/v1/addresses/bitcoin/{PAYER}", None, 200),
    (
        "get",
        "/v1/addresses/{chain}/{address}/transactions",
        f"/v1/addresses/bitcoin/{PAYER}/transactions",
        None,
        200,
    ),
    (
        "get",
        "/v1/addresses/{chain}/{address}/transactions",
        f"/v1/addresses/bitcoin/{UNKNOWN}/transactions",
        None,
        404,
    ),
    ("get", "/v1/clusters/{cluster_id}", "/v1/clusters/999999999", None, 404),
    ("get", "/v1/keys", "/v1/keys", None, 200),
    ("get", "/v1/audit", "/v1/audit?limit=5", None, 200),
    ("get", "/healthz", "/healthz", None, 200),
    ("get", "/readyz", "/readyz", None, 200),
]


@pytest.mark.parametrize("call", CALLS, ids=[f"{c[0]} {c[2]} {c[4]}" for c in CALLS])
async def test_answers_match_the_spec(
    api: str, http: aiohttp.ClientSession, spec: dict[str, Any], call: tuple[str, str, str, object, int]
) -> None:
    method, template, path, body, status = call
    async with http.request(method, api + path, json=body) as resp:
        assert resp.status == status
        answer = await resp.json()
    validator(spec, template, method, status).validate(answer)


async def test_unauthorised_answers_match_the_spec(
    api: str, spec: dict[str, Any], anonymous: aiohttp.ClientSession
) -> None:
    async with anonymous.get(f"{api}/v1/keys") as resp:
        assert resp.status == 401
        validator(spec, "/v1/keys", "get", 401).validate(await resp.json())


def test_spec_names_each_assets_symbol_and_decimals() -> None:
    schemas = build_spec(endpoints())["components"]["schemas"]
    for model in ("Counterparty", "ExposureOut"):
        fields = schemas[model]["properties"]
        assert {"asset", "unit", "symbol", "decimals", "amount"} <= set(fields)
        assert {"symbol", "decimals"} <= set(schemas[model]["required"])  # null when unknown, never absent
    screen = schemas["ScreenAnswer"]["properties"]
    assert screen["counterparties"]["items"] == {"$ref": "#/components/schemas/Counterparty"}
    assert screen["exposure"]["items"] == {"$ref": "#/components/schemas/ExposureOut"}
