"""``GET /v1/actors/{id}`` over real HTTP on the bundled data: Prince Group / CHEN Zhi from the scam-centre
table, with its OFAC designation and its four addresses; clear 4xx answers for bad ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from tracer.api.server import start_server
from tracer.config import Settings


@pytest.fixture(scope="module")
async def api(loaded_db: str) -> AsyncIterator[str]:
    runner, url = await start_server(Settings(database_url=loaded_db, port=0))
    yield url
    await runner.cleanup()


async def get(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.json()


async def test_actor_by_id(api: str, loaded_pool: asyncpg.Pool) -> None:
    actor_id = await loaded_pool.fetchval(
        "SELECT id FROM actors WHERE key = 'scam-centres:prince-group-tco-chen-zhi'"
    )
    status, body = await get(f"{api}/v1/actors/{actor_id}")
    assert status == 200
    assert (body["id"], body["name"], body["category"]) == (
        actor_id,
        "Prince Group TCO / CHEN Zhi",
        "sanctioned",
    )
    assert [d["authority"] for d in body["designations"]] == ["OFAC"]  # type: ignore[attr-defined]
    assert body["address_count"] == 4


async def test_actor_list_by_category(api: str) -> None:
    status, body = await get(f"{api}/v1/actors?category=mixer&limit=50")
    assert status == 200
    assert "Tornado Cash" in {a["name"] for a in body["items"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/actors/999999999", 404, "not_found"),
        ("/v1/actors/abc", 400, "invalid_input"),
        ("/v1/actors/-1", 400, "invalid_input"),
        ("/v1/actors?category=nope", 400, "invalid_input"),
        ("/v1/actors?limit=0", 400, "invalid_input"),
        ("/v1/actors?limit=x", 400, "invalid_input"),
    ],
)
async def test_actor_errors(api: str, path: str, status: int, code: str) -> None:
    got, body = await get(api + path)
    assert got == status
    assert body["error"]["code"] == code  # type: ignore[index]
