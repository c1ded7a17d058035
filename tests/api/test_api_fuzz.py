"""Fuzzing the API: whatever a client sends, the answer is JSON, never a 5xx; a 4xx names its code."""

from __future__ import annotations

import asyncio
import json
import string
from collections.abc import Iterator
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer.api.server import start_server
from tracer.config import Settings

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
        self.session = self.loop.run_until_complete(self._session())

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, object]:
        async def go() -> tuple[int, object]:
            async with self.session.request(method, self.url + path, data=body) as resp:
                return resp.status, orjson.loads(await resp.read())

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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chain=path_segments, address=path_segments, cluster=path_segments, query=path_segments)
def test_path_parameters_never_fail(api: Api, chain: str, address: str, cluster: str, query: str) -> None:
    assert_clean(*api.request("GET", f"/v1/addresses/{quote(chain, safe='')}/{quote(address, safe='')}"))
    assert_clean(*api.request("GET", f"/v1/clusters/{quote(cluster, safe='')}?limit={quote(query, safe='')}"))
