"""``GET /v1/actors/{actor_id}`` over real HTTP on the bundled data: Prince Group / CHEN Zhi from the
scam-centre table, with its OFAC designation and its four addresses; clear 4xx answers for bad ids."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_actor_by_id(api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool) -> None:
    actor_id = await loaded_pool.fetchval(
        "SELECT id FROM actors WHERE key = 'scam-centres:prince-group-tco-chen-zhi'"
    )
    status, body = await get(http, f"{api}/v1/actors/{actor_id}")
    assert status == 200
    assert (body["id"], body["name"]) == (actor_id, "Prince Group TCO / CHEN Zhi")
    assert body["category"] == "sanctioned"
    assert [d["authority"] for d in body["designations"]] == ["OFAC"]  # type: ignore[attr-defined]
    assert body["address_count"] == 4


async def test_actor_list_by_category(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{api}/v1/actors?category=mixer&limit=50")
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
        ("/v1/actors?q=%00", 400, "invalid_input"),  # NUL: PostgreSQL text cannot hold it
    ],
)
async def test_actor_errors(api: str, http: aiohttp.ClientSession, path: str, status: int, code: str) -> None:
    got, body = await get(http, api + path)
    assert got == status
    assert body["error"]["code"] == code  # type: ignore[index]
