"""Limits: body size (413, audited), body and header time (408 / connection closed), content type (415),
database waits (504, /readyz failing), no versions in Server, port in use, graceful shutdown, and an
unreachable database (503 JSON, one log line per state change)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import orjson
import pytest

from api.api_support import Keys
from tracer.api.server import AddressInUse, start_server
from tracer.config import Settings

SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
LIMIT = 100_000  # bytes


@pytest.fixture(scope="module")
async def tight(loaded_db: str) -> AsyncIterator[str]:
    settings = Settings(
        database_url=loaded_db,
        port=0,
        max_body_bytes=LIMIT,
        body_timeout=1.0,
        header_timeout=1.0,
        db_timeout=1.0,
        screen_max_counterparties=100,
    )
    runner, url = await start_server(settings)
    yield url
    await runner.cleanup()


async def last_audit(pool: asyncpg.Pool) -> asyncpg.Record:
    return await pool.fetchrow("SELECT status, query, key_id FROM audit_log ORDER BY seq DESC LIMIT 1")


@pytest.mark.parametrize("size", [LIMIT + 1, 9 * 1024 * 1024])
async def test_body_over_the_limit_is_413_and_audited_with_its_size(
    tight: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool, size: int
) -> None:
    body = b'{"chain": "bitcoin", "addresses": ["' + b"x" * size + b'"]}'
    async with http.post(
        f"{tight}/v1/screen", data=io.BytesIO(body), headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 413
        assert (await resp.json())["error"]["code"] == "payload_too_large"
    row = await last_audit(loaded_pool)
    assert row["status"] == 413
    assert row["key_id"] is not None
    assert row["query"]["body_rejected"]["bytes"] == len(body)


async def test_chunked_body_over_the_limit_is_413(tight: str, http: aiohttp.ClientSession) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 10_000

    async with http.post(
        f"{tight}/v1/screen", data=chunks(), headers={"Content-Type": "application/json"}
    ) as resp:
        assert resp.status == 413


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_post_must_be_json(
    tight: str, http: aiohttp.ClientSession, loaded_pool: asyncpg.Pool, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    body = orjson.dumps({"chain": "bitcoin", "address": SANCTIONED})
    async with http.post(f"{tight}/v1/screen", data=body, headers=headers) as resp:
        assert resp.status == 415
        assert (await resp.json())["error"]["code"] == "unsupported_media_type"
    assert (await last_audit(loaded_pool))["status"] == 415


async def raw_exchange(url: str, request: bytes, wait: float) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(65536), wait)  # the answer, or b"" when closed
    finally:
        writer.close()


async def test_content_length_larger_than_the_body_is_408(tight: str, keys: Keys) -> None:
    request = (
        b"POST /v1/screen HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + keys.admin.encode() + b'\r\nContent-Length: 100\r\n\r\n{"chain":'
    )
    answer = await raw_exchange(tight, request, wait=10)
    assert answer.startswith(b"HTTP/1.1 408")
    assert b'"request_timeout"' in answer


@pytest.mark.slow
async def test_stalled_connections_are_closed_after_the_header_timeout(tight: str) -> None:
    started = asyncio.get_running_loop().time()
    silent = [raw_exchange(tight, b"", wait=10) for _ in range(100)]
    partial = [raw_exchange(tight, b"GET /healthz HTTP/1.1\r\nHost:", wait=10) for _ in range(100)]
    answers = await asyncio.gather(*silent, *partial)
    assert all(a == b"" for a in answers)  # closed by the server, no answer
    assert asyncio.get_running_loop().time() - started < 5


async def test_server_header_has_no_versions(tight: str, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{tight}/healthz") as resp:
        assert resp.headers["Server"] == "tracer"


async def test_a_locked_table_is_504_and_not_ready(
    tight: str, http: aiohttp.ClientSession, loaded_db: str
) -> None:
    locker = await asyncpg.connect(loaded_db)
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("LOCK TABLE addresses IN ACCESS EXCLUSIVE MODE")
        started = asyncio.get_running_loop().time()
        async with http.post(f"{tight}/v1/screen", json={"chain": "bitcoin", "address": SANCTIONED}) as resp:
            assert resp.status == 504
            assert (await resp.json())["error"]["code"] == "database_timeout"
        assert asyncio.get_running_loop().time() - started < 4
        async with http.get(f"{tight}/readyz") as resp:
            assert resp.status == 503
        await transaction.rollback()
        async with http.get(f"{tight}/readyz") as resp:
            assert resp.status == 200
    finally:
        await locker.close()


async def test_port_in_use_is_a_clear_error(tight: str, loaded_db: str) -> None:
    port = int(tight.rsplit(":", 1)[1])
    with pytest.raises(AddressInUse, match="already in use"):
        await start_server(Settings(database_url=loaded_db, port=port))


async def test_shutdown_finishes_in_flight_requests(
    loaded_db: str, keys: Keys, http: aiohttp.ClientSession
) -> None:
    runner, url = await start_server(Settings(database_url=loaded_db, port=0, db_timeout=30))
    locker = await asyncpg.connect(loaded_db)
    transaction = locker.transaction()
    await transaction.start()
    await locker.execute("LOCK TABLE addresses IN ACCESS EXCLUSIVE MODE")

    async def in_flight() -> int:
        async with http.post(f"{url}/v1/screen", json={"chain": "bitcoin", "address": SANCTIONED}) as resp:
            await resp.read()
            return resp.status

    request = asyncio.create_task(in_flight())
    await asyncio.sleep(0.5)
    stopping = asyncio.create_task(runner.cleanup())
    await asyncio.sleep(0.5)
    assert not request.done()
    await transaction.rollback()
    await locker.close()
    assert await request == 200
    await stopping


async def test_unreachable_database_is_503_and_one_log_line_per_change(
    fresh_db: str, pg_server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tracer.api.keys import DB_STATE

    caplog.set_level(logging.INFO, logger="tracer.api.limits")
    runner, url = await start_server(Settings(database_url=fresh_db, port=0, auth="off", db_timeout=1))
    state = runner.app[DB_STATE]
    name = fresh_db.split("?", maxsplit=1)[0].rsplit("/", 1)[1]
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        await admin.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        )
        async with aiohttp.ClientSession() as http:
            for _ in range(3):
                async with http.post(
                    f"{url}/v1/screen", json={"chain": "bitcoin", "address": SANCTIONED}
                ) as r:
                    assert r.status == 503
                    assert (await r.json())["error"]["code"] in (
                        "store_unavailable",
                        "store_error",
                        "audit_unavailable",
                    )
                async with http.get(f"{url}/readyz") as r:
                    assert r.status == 503
            for _ in range(3):
                await state.probe()
            await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
            for _ in range(3):
                await state.probe()
            async with http.get(f"{url}/readyz") as r:
                assert r.status == 200
        messages = [r.getMessage() for r in caplog.records if r.name == "tracer.api.limits"]
        assert messages == ["database unavailable", "database reachable again"], caplog.text
        assert not any(r.exc_info for r in caplog.records)
        assert not [r for r in caplog.records if r.name == "asyncpg.pool"]
    finally:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
        await admin.close()
        await runner.cleanup()
