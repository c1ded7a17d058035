"""The embedded server as a user gets it: the service connects as its own non-superuser role with a
password, owns its tables, and nobody else can open the socket or read TRACER_HOME."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from tracer.config import Settings
from tracer.store import embedded, server_tuning
from tracer.store.least_privilege import APP_ROLE
from tracer.store.pool import open_pool


@pytest.fixture
async def home(tmp_path: Path) -> AsyncIterator[Path]:
    home = tmp_path / "home"
    yield home
    await asyncio.to_thread(embedded.stop, home)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.slow
async def test_service_role_password_socket_and_home(home: Path) -> None:
    url = await asyncio.to_thread(embedded.start, home)
    assert mode(home) == 0o700
    assert mode(home / "db-password") == 0o600
    async with open_pool(Settings(home=home)) as pool:  # migrations run as the service role
        assert await pool.fetchval("SELECT current_user") == APP_ROLE
        assert await pool.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        foreign = await pool.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user"
        )
        assert foreign == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute("CREATE ROLE intruder")
        for name, value in server_tuning.bulk_load_settings().items():  # tuned for first passes
            assert await pool.fetchval(f"SHOW {name}") == value
        async with pool.acquire() as conn:
            assert await server_tuning.advice(conn) == {}
    socket_dir = Path(parse_qs(urlsplit(url).query)["host"][0])
    assert mode(socket_dir / ".s.PGSQL.5432") & 0o077 == 0  # neither group nor others
    without_password = f"postgresql://{APP_ROLE}@/tracer?host={socket_dir}"
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(without_password)
    assert await asyncio.to_thread(embedded.start, home) == url  # a second start reuses it all
    assert (await asyncio.to_thread(embedded.status, home)).url == url
