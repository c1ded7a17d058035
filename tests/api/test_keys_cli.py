"""``tracer keys create|list|revoke`` and ``tracer serve`` on a port in use, as a user runs them."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import asyncpg
import orjson

from tracer.store.keys import hash_secret


async def tracer(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracer.cli", "--database-url", database_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_create_list_revoke(fresh_db: str) -> None:
    created = await tracer(fresh_db, "keys", "create", "--role", "analyst", "--tenant", "acme", "--rate", "5")
    assert created.returncode == 0, created.stderr
    key = orjson.loads(created.stdout)
    assert {"id", "key", "role", "tenant"} <= key.keys()
    assert (key["role"], key["tenant"], key["rate"]) == ("analyst", "acme", 5.0)
    conn = await asyncpg.connect(fresh_db)
    try:
        stored = await conn.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", key["id"])
    finally:
        await conn.close()
    assert stored == hash_secret(key["key"])
    listed = await tracer(fresh_db, "keys", "list")
    assert key["key"] not in listed.stdout
    assert [k["id"] for k in orjson.loads(listed.stdout)] == [key["id"]]
    revoked = await tracer(fresh_db, "keys", "revoke", str(key["id"]))
    assert revoked.returncode == 0
    assert orjson.loads(revoked.stdout)["revoked_at"]
    missing = await tracer(fresh_db, "keys", "revoke", "12345")
    assert (missing.returncode, missing.stderr.startswith("tracer: not_found")) == (1, True)


async def test_bad_arguments_are_usage_errors(fresh_db: str) -> None:
    for args in (
        ("keys", "create", "--role", "root"),
        ("keys", "create", "--role", "admin", "--tenant", "a b"),
        ("keys", "revoke", str(2**63)),
    ):
        result = await tracer(fresh_db, *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
    negative = await tracer(fresh_db, "keys", "create", "--role", "admin", "--rate", "-1")
    assert (negative.returncode, "Traceback" in negative.stderr) == (2, False)


async def test_serve_on_a_port_in_use_says_so(fresh_db: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await tracer(fresh_db, "serve", "--port", str(port))
    assert result.returncode == 1
    assert f"tracer: address_in_use: 127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr
