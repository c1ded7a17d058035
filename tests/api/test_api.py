"""The aiohttp app from make_app(), served over real HTTP on loopback, on the bundled real data set."""

from __future__ import annotations

import aiohttp
import asyncpg
import pytest

SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"  # OFAC SDN; paid in block 574200
PAYER = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"  # paid it in tx 41f366c2...
UNKNOWN = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # valid (BIP173 vector), in no block or list


async def post(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict[str, object]]:
    async with http.post(url, json=body) as resp:
        return resp.status, await resp.json()


async def test_screen_sanctioned_address(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": SANCTIONED})
    assert status == 200
    assert body["risk"]["level"] == "severe"  # type: ignore[index]
    assert body["known"] is True


async def test_screen_is_the_same_json_as_the_cli_contract(api: str, http: aiohttp.ClientSession) -> None:
    _, body = await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": PAYER})
    assert {"address", "chain", "cluster", "labels", "counterparties", "risk", "known"} <= body.keys()
    assert body["risk"]["level"] == "high"  # type: ignore[index]
    counterparty = body["counterparties"][0]  # type: ignore[index]
    assert (counterparty["address"], counterparty["direction"]) == (SANCTIONED, "sent_to")


async def test_unknown_valid_address_is_200_none(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": UNKNOWN})
    assert status == 200
    assert (body["known"], body["risk"]["level"]) == (False, "none")  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {"chain": "bitcoin", "address": "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e"},
            "invalid_address",
        ),  # checksum
        ({"chain": "bitcoin", "address": "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"}, "invalid_address"),
        ({"chain": "dogecoin", "address": SANCTIONED}, "unsupported_chain"),
        ({"chain": "bitcoin"}, "invalid_input"),
        ({"chain": "bitcoin", "address": SANCTIONED, "addresses": [SANCTIONED]}, "invalid_input"),
        ({"chain": "bitcoin", "address": SANCTIONED, "tenant": "x"}, "invalid_input"),
        (["not", "an", "object"], "invalid_input"),
    ],
)
async def test_bad_input_is_400_with_a_json_code(
    api: str, http: aiohttp.ClientSession, body: object, code: str
) -> None:
    status, answer = await post(http, f"{api}/v1/screen", body)
    assert status == 400
    assert answer["error"]["code"] == code  # type: ignore[index]
    assert answer["error"]["message"]  # type: ignore[index]


async def test_malformed_json_is_400(api: str, http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{api}/v1/screen", data=b"{not json", headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["error"]["code"] == "malformed_input"


async def test_bulk_screening_keeps_going_past_a_bad_address(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await post(
        http, f"{api}/v1/screen", {"chain": "bitcoin", "addresses": [SANCTIONED, "nonsense", UNKNOWN]}
    )
    assert status == 200
    results = body["results"]
    assert isinstance(results, list)
    assert [r.get("risk", {}).get("level") for r in results] == ["severe", None, "none"]
    assert results[1]["error"]["code"] == "invalid_address"


async def test_bulk_limit(api: str, http: aiohttp.ClientSession) -> None:
    status, body = await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "addresses": [UNKNOWN] * 10_001})
    assert (status, body["error"]["code"]) == (400, "invalid_input")  # type: ignore[index]


async def test_address_view_explains_cluster_membership(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/v1/addresses/bitcoin/{PAYER}") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert body["cluster"]["size"] >= 2
    evidence = body["evidence"][0]
    assert evidence["heuristic"] == "common_input"
    assert PAYER in evidence["addresses"]
    assert evidence["txid"] == "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"


async def test_address_view_rejects_bad_address(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/v1/addresses/bitcoin/xyz") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == "invalid_address"


async def test_cluster_view_members_labels_and_evidence(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool
) -> None:
    cluster_id = await loaded_pool.fetchval(
        """SELECT ac.cluster_id FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
           WHERE a.address = '343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb'"""
    )
    async with http.get(f"{api}/v1/clusters/{cluster_id}?limit=10") as resp:
        assert resp.status == 200
        body = await resp.json()
    assert (body["id"], body["size"]) == (cluster_id, 3804)
    assert len(body["members"]["items"]) == 10
    assert len(body["evidence"]["items"]) == 10
    assert any(lb["category"] == "sanctioned" for lb in body["labels"])


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("999999999", 404, "not_found"),
        ("abc", 400, "invalid_input"),
        (str(2**63), 400, "invalid_input"),
        ("0", 400, "invalid_input"),
        (f"{2**63 - 1}?offset={2**63}", 400, "invalid_input"),
    ],
)
async def test_cluster_view_errors(
    api: str, http: aiohttp.ClientSession, path: str, status: int, code: str
) -> None:
    async with http.get(f"{api}/v1/clusters/{path}") as resp:
        assert resp.status == status
        assert (await resp.json())["error"]["code"] == code


async def test_unknown_route_is_json_404(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/v2/nothing") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"]["code"] == "not_found"


async def test_health_and_metrics(api: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api}/healthz") as resp:
        assert (resp.status, (await resp.json())["status"]) == (200, "ok")
    await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": SANCTIONED})
    async with http.get(f"{api}/metrics") as resp:
        text = await resp.text()
    assert 'tracer_screenings_total{chain="bitcoin",level="severe"}' in text
    assert 'tracer_http_requests_total{method="POST",route="/v1/screen",status="200"}' in text


async def test_every_query_is_audited(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool
) -> None:
    before = await loaded_pool.fetchval("SELECT count(*) FROM audit_log")
    await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": PAYER})
    await post(http, f"{api}/v1/screen", {"chain": "bitcoin", "address": "bad"})
    rows = await loaded_pool.fetch("SELECT path, status, query FROM audit_log ORDER BY id DESC LIMIT 2")
    assert await loaded_pool.fetchval("SELECT count(*) FROM audit_log") == before + 2
    assert [(r["path"], r["status"]) for r in rows] == [("/v1/screen", 400), ("/v1/screen", 200)]
    assert rows[1]["query"]["body"]["address"] == PAYER


async def test_trace_backward_names_the_payers_and_echoes_the_method(
    api: str, http: aiohttp.ClientSession
) -> None:
    body = {"chain": "bitcoin", "address": SANCTIONED, "direction": "backward", "method": "poison", "hops": 1}
    status, result = await post(http, f"{api}/v1/trace", body)
    assert status == 200
    assert (result["method"], result["direction"], result["truncated"]) == ("poison", "backward", True)
    assert result["truncated_by"] == ["hops"]
    assert PAYER in {f["address"] for f in result["flows"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"chain": "bitcoin"}, 400, "invalid_input"),  # no start
        ({"chain": "bitcoin", "address": SANCTIONED, "txid": "00" * 32}, 400, "invalid_input"),
        ({"chain": "bitcoin", "address": SANCTIONED, "hops": 11}, 400, "invalid_input"),
        ({"chain": "bitcoin", "address": SANCTIONED, "method": "lifo"}, 400, "invalid_input"),
        ({"chain": "bitcoin", "address": "nonsense"}, 400, "invalid_address"),
        ({"chain": "bitcoin", "address": UNKNOWN}, 404, "not_found"),
        ({"chain": "bitcoin", "txid": "ab" * 32}, 404, "not_found"),
    ],
)
async def test_trace_bad_requests(
    api: str, http: aiohttp.ClientSession, body: dict[str, object], status: int, code: str
) -> None:
    got, result = await post(http, f"{api}/v1/trace", body)
    assert (got, result["error"]["code"]) == (status, code)  # type: ignore[index]
