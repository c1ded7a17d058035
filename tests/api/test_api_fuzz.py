"""Fuzzing the API: whatever a client sends, the answer is JSON, never a 5xx; a 4xx names its code."""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import asyncpg
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.api_support import from_schema
from tracer.api.app import endpoints
from tracer.api.openapi import build_spec
from tracer.api.server import start_server
from tracer.config import Settings
from tracer.store.keys import Role, create_key

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
# Bodies near the schema (right keys, odd values) reach deeper than random JSON.
screen_bodies = st.fixed_dictionaries(
    {},
    optional={
        "chain": st.sampled_from(["bitcoin", "BITCOIN", "ethereum", "", "x" * 40]) | st.text(max_size=8),
        "address": st.text(string.ascii_letters + string.digits, max_size=90) | json_values,
        "addresses": st.lists(st.text(string.ascii_letters + string.digits, max_size=64), max_size=5)
        | json_values,
    },
)
path_segments = st.text(alphabet=string.printable, min_size=1, max_size=60)


class Api:
    """A server and a client on a private event loop, so hypothesis can call it from sync test functions."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner, self.url = self.loop.run_until_complete(
            start_server(Settings(database_url=database_url, port=0, screen_max_counterparties=100))
        )
        self.session = self.loop.run_until_complete(self._session(database_url))

    async def _session(self, database_url: str) -> aiohttp.ClientSession:
        conn = await asyncpg.connect(database_url)
        try:
            _, secret = await create_key(conn, Role.ADMIN, "public", 1_000_000)
        finally:
            await conn.close()
        return aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"})

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = "application/json"
    ) -> tuple[int, object]:
        headers = {"Content-Type": content_type} if content_type else {}

        async def go() -> tuple[int, object]:
            async with self.session.request(method, self.url + path, data=body, headers=headers) as resp:
                raw = await resp.read()
                return resp.status, orjson.loads(raw) if resp.content_type == "application/json" else raw

        return self.loop.run_until_complete(go())

    def close(self) -> None:
        self.loop.run_until_complete(self.session.close())
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()


@pytest.fixture(scope="module")
def api(loaded_db: str) -> Iterator[Api]:
    running = Api(loaded_db)
    yield running
    running.close()


def assert_clean(status: int, body: object) -> None:
    assert status < 500, body
    if status >= 400:
        assert isinstance(body, dict)
        assert isinstance(body["error"]["code"], str)
        assert body["error"]["message"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=screen_bodies | json_values)
def test_screen_never_fails_on_any_json(api: Api, body: object) -> None:
    assert_clean(*api.request("POST", "/v1/screen", json.dumps(body).encode()))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_screen_never_fails_on_any_bytes(api: Api, raw: bytes) -> None:
    assert_clean(*api.request("POST", "/v1/screen", raw))
    assert_clean(*api.request("POST", "/v1/screen", raw, content_type=None))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=path_segments, address=path_segments, cluster=path_segments, query=path_segments)
def test_path_parameters_never_fail(api: Api, chain: str, address: str, cluster: str, query: str) -> None:
    assert_clean(*api.request("GET", f"/v1/addresses/{quote(chain, safe='')}/{quote(address, safe='')}"))
    assert_clean(*api.request("GET", f"/v1/clusters/{quote(cluster, safe='')}?limit={quote(query, safe='')}"))


# From the spec: every operation, with bodies and query strings drawn from its own schemas (and the paths'
# parameters from anything printable), must answer below 500 with the JSON error shape.
SPEC = build_spec(endpoints())
SKIPPED = {("delete", "/v1/keys/{key_id}")}  # revoking random ids could revoke the fuzzer's own key
OPERATIONS = [
    (method, path, op)
    for path, ops in SPEC["paths"].items()
    for method, op in ops.items()
    if (method, path) not in SKIPPED
]


DEFS = SPEC["components"]["schemas"]


@st.composite
def spec_requests(draw: st.DrawFn, op: dict[str, Any], path: str) -> tuple[str, bytes | None]:
    for parameter in op["parameters"]:
        if parameter["in"] == "path":
            value = draw(st.one_of(from_schema(parameter["schema"], DEFS).map(str), path_segments))
            path = path.replace("{" + parameter["name"] + "}", quote(value, safe=""))
    query = {}
    for parameter in op["parameters"]:
        if parameter["in"] == "query" and draw(st.booleans()):
            value = draw(st.one_of(from_schema(parameter["schema"], DEFS), st.text(max_size=12)))
            query[parameter["name"]] = "" if value is None else str(value)
    body = None
    if "requestBody" in op:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        body = json.dumps(draw(st.one_of(from_schema(schema, DEFS), json_values))).encode()
    return path + ("?" + urlencode(query) if query else ""), body


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_from_the_spec_never_fails(
    api: Api, method: str, path: str, op: dict[str, Any]
) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(request=spec_requests(op, path))
    def run(request: tuple[str, bytes | None]) -> None:
        target, body = request
        assert_clean(*api.request(method.upper(), target, body))

    run()
