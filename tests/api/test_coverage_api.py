"""Every screening answer names its coverage by a short reference; GET /v1/coverage/{id} gives the rest."""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg
import orjson

from api.api_support import Keys
from tracer.store.coverage import read_coverage, snapshot_id, store_snapshot

SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"  # OFAC SDN; paid in block 574200
OFAC_XBT = "OFAC SDN list (XBT)"


async def get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    async with http.get(url, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_an_answer_names_its_coverage_and_the_id_resolves(
    api: str, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{api}/v1/screen", json={"chain": "bitcoin", "address": SANCTIONED}) as resp:
        raw = await resp.read()
    ref = orjson.loads(raw)["coverage"]
    assert set(ref) == {"id", "as_of", "chains", "truncated", "href"}
    assert ref["chains"]["bitcoin"] == 757753  # chains and heights stay inline
    assert len(orjson.dumps(ref)) < 300  # a reference, not the 14 KB block every answer once carried
    status, full = await get(http, api + ref["href"])
    assert status == 200
    assert full["id"] == ref["id"] and full["exposure"]["as_of"] == ref["as_of"]
    xbt = [s for s in full["label_sources"] if s["name"] == OFAC_XBT]
    assert xbt and all(s["imported_at"] and s["labels"] > 0 for s in xbt)


async def test_the_current_coverage_in_full(api: str, http: aiohttp.ClientSession) -> None:
    status, current = await get(http, f"{api}/v1/coverage")
    assert status == 200
    assert current["indexed"]["bitcoin"]["min_height"] == 0
    assert current["indexed"]["bitcoin"]["max_height"] == 757753
    status, by_id = await get(http, f"{api}/v1/coverage/{current['id']}")  # stored when shown
    assert status == 200
    assert by_id["label_sources"] == current["label_sources"]


async def test_bad_and_unknown_ids(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, f"{api}/v1/coverage/not-an-id")
    assert (status, body["error"]["code"]) == (400, "invalid_input")
    status, body = await get(http, f"{api}/v1/coverage/{'0' * 24}")
    assert (status, body["error"]["code"]) == (404, "not_found")


async def test_a_private_source_is_shown_only_to_its_tenant(
    api: str, anonymous: aiohttp.ClientSession, keys: Keys, loaded_pool: asyncpg.Pool
) -> None:
    async with loaded_pool.acquire() as conn:
        full = await read_coverage(conn, ("public",))
        private = {"name": "acme watchlist", "key": "acme-watchlist", "tenant": "acme", "labels": 3,
                   "as_of": None, "licence": None, "imported_at": "2026-11-30T10:00:00+00:00"}  # fmt: skip
        snapshot: dict[str, object] = {"label_sources": [private], "exposure": full["exposure"]}
        await store_snapshot(conn, {**snapshot, "id": snapshot_id(snapshot)})
    url = f"{api}/v1/coverage/{snapshot_id(snapshot)}"
    status, body = await get(anonymous, url, keys.header("tenant_admin"))
    assert (status, body["label_sources"]) == (200, [private])
    status, _ = await get(anonymous, url, keys.header("admin"))  # another tenant: it does not exist
    assert status == 404
