"""API fixtures: the app from make_app() served over real HTTP on loopback, on the bundled real data set,
with API keys on, and a key of each role."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest

from api.api_support import Keys
from tracer.api.server import start_server
from tracer.config import Settings
from tracer.store.keys import Role, create_key

FAST = 100_000.0  # requests per second: keys the tests use must never be rate limited by accident


@pytest.fixture(scope="session")
async def keys(loaded_pool: asyncpg.Pool) -> Keys:
    made = [
        (await create_key(loaded_pool, role, tenant, FAST))[1]
        for role, tenant in (
            (Role.SCREENING, "public"),
            (Role.ANALYST, "public"),
            (Role.ADMIN, "public"),
            (Role.ADMIN, "acme"),
        )
    ]
    return Keys(*made)


@pytest.fixture(scope="module")
async def api(loaded_db: str) -> AsyncIterator[str]:
    runner, url = await start_server(Settings(database_url=loaded_db, port=0, screen_max_counterparties=1000))
    yield url
    await runner.cleanup()


@pytest.fixture
async def http(keys: Keys) -> AsyncIterator[aiohttp.ClientSession]:
    """A client holding the admin key (every route); role tests send their own header."""
    async with aiohttp.ClientSession(headers=keys.header("admin")) as session:
        yield session


@pytest.fixture
async def anonymous() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
