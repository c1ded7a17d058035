"""Keys and roles: every /v1 route needs a key; each role may do what its row of the matrix says."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import pytest

from api.api_support import Keys
from tracer.api import principals

SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
SCREEN = ("POST", "/v1/screen", {"chain": "bitcoin", "address": SANCTIONED})
ADDRESS = ("GET", f"/v1/addresses/bitcoin/{SANCTIONED}", None)
TRANSACTIONS = ("GET", f"/v1/addresses/bitcoin/{SANCTIONED}/transactions", None)
AUDIT = ("GET", "/v1/audit?limit=1", None)
KEYS = ("GET", "/v1/keys", None)

# role -> requests and the status each must get
MATRIX = {
    "screening": [(SCREEN, 200), (ADDRESS, 403), (TRANSACTIONS, 403), (AUDIT, 403), (KEYS, 403)],
    "analyst": [(SCREEN, 200), (ADDRESS, 200), (TRANSACTIONS, 200), (AUDIT, 403), (KEYS, 403)],
    "admin": [(SCREEN, 200), (ADDRESS, 200), (TRANSACTIONS, 200), (AUDIT, 200), (KEYS, 200)],
}


async def call(
    http: aiohttp.ClientSession, url: str, request: tuple[str, str, object], headers: dict[str, str]
) -> tuple[int, dict[str, object]]:
    method, path, body = request
    async with http.request(method, url + path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


@pytest.mark.parametrize("role", sorted(MATRIX))
async def test_role_matrix(api: str, anonymous: aiohttp.ClientSession, keys: Keys, role: str) -> None:
    for request, expected in MATRIX[role]:
        status, body = await call(anonymous, api, request, keys.header(role))
        assert status == expected, (role, request, body)
        if status == 403:
            assert body["error"]["code"] == "forbidden"  # type: ignore[index]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer trk_not-a-key"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
async def test_missing_or_unknown_key_is_401(
    api: str, anonymous: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    for request in (SCREEN, ADDRESS, AUDIT, KEYS):
        status, body = await call(anonymous, api, request, headers)
        assert (status, body["error"]["code"]) == (401, "unauthorized")  # type: ignore[index]


async def test_health_metrics_and_spec_are_open_on_loopback(
    api: str, anonymous: aiohttp.ClientSession
) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        async with anonymous.get(api + path) as resp:
            assert resp.status == 200, path


async def test_keys_created_over_the_api_work_and_revoked_ones_stop(
    api: str, http: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    async with http.post(f"{api}/v1/keys", json={"role": "screening", "tenant": "acme", "rate": 50}) as resp:
        created = await resp.json()
    assert (resp.status, created["role"], created["tenant"]) == (200, "screening", "acme")
    header = {"Authorization": f"Bearer {created['key']}"}
    assert (await call(anonymous, api, SCREEN, header))[0] == 200
    async with http.get(f"{api}/v1/keys") as resp:
        listed = await resp.json()
    assert created["id"] in [k["id"] for k in listed["items"]]
    assert created["key"] not in str(listed)  # secrets are never listed
    async with http.delete(f"{api}/v1/keys/{created['id']}") as resp:
        assert (resp.status, (await resp.json())["revoked_at"] is not None) == (200, True)
    await asyncio.sleep(principals.CACHE_SECONDS + 0.2)  # revocation takes effect within the cache interval
    assert (await call(anonymous, api, SCREEN, header))[0] == 401


async def test_key_is_stored_only_as_a_hash(
    api: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool
) -> None:
    async with http.post(f"{api}/v1/keys", json={"role": "analyst"}) as resp:
        created = await resp.json()
    row = await loaded_pool.fetchrow("SELECT * FROM api_keys WHERE id = $1", created["id"])
    assert created["key"] not in str(dict(row))
    assert len(row["key_hash"]) == 32


async def test_rate_limit_is_429_with_retry_after(
    api: str, http: aiohttp.ClientSession, anonymous: aiohttp.ClientSession
) -> None:
    async with http.post(f"{api}/v1/keys", json={"role": "screening", "rate": 2}) as resp:
        header = {"Authorization": f"Bearer {(await resp.json())['key']}"}
    statuses = []
    for _ in range(5):
        async with anonymous.post(f"{api}/v1/screen", json=SCREEN[2], headers=header) as resp:
            statuses.append(resp.status)
            if resp.status == 429:
                assert int(resp.headers["Retry-After"]) >= 1
                assert (await resp.json())["error"]["code"] == "rate_limited"
    assert statuses[:2] == [200, 200]
    assert 429 in statuses


async def test_tenant_admin_reads_only_its_tenant_audit_rows(
    api: str, anonymous: aiohttp.ClientSession, keys: Keys
) -> None:
    await call(anonymous, api, SCREEN, keys.header("screening"))  # a public-tenant row
    await call(anonymous, api, AUDIT, keys.header("tenant_admin"))  # an acme row
    status, body = await call(
        anonymous, api, ("GET", "/v1/audit?limit=1000", None), keys.header("tenant_admin")
    )
    assert status == 200
    tenants = {row["tenant"] for row in body["items"]}  # type: ignore[attr-defined]
    assert tenants == {"acme"}
    status, body = await call(anonymous, api, ("GET", "/v1/audit?limit=1000", None), keys.header("admin"))
    assert {"acme", "public"} <= {row["tenant"] for row in body["items"]}  # type: ignore[attr-defined]
