"""``tracer serve --workers N``: N processes on one port, every request audited in ONE hash chain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from api.test_keys_cli import tracer
from tracer.devnode.serving import free_port
from tracer.store.audit import verify
from tracer.store.keys import Role, create_key

WORKERS = 2
SCREENS = 240
CONNECTIONS = 24  # fresh TCP connections: the kernel spreads them over the workers


@contextlib.contextmanager
def serving(database_url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "tracer.cli", "--database-url", database_url, "serve", "--port", str(port),
         "--workers", str(WORKERS)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


def wait_serving(server: subprocess.Popen[bytes]) -> None:
    """Until the parent says it serves, which it does once every worker listens."""
    assert server.stderr is not None
    for line in server.stderr:
        if b'"msg":"serving"' in line and b'"workers":' in line:
            return
    raise AssertionError("the server ended before serving")


async def screens_per_worker(base: str) -> set[int]:
    """The screen count each answering worker reports on /metrics (each process has its own)."""
    seen = set()
    for _ in range(40):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as resp:
            text = await resp.text()
        counts = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("tracer_http_requests_total{") and 'route="/v1/screen"' in line
        ]
        seen.add(int(sum(counts)))
    return seen


@pytest.mark.slow
async def test_workers_share_the_port_and_extend_one_audit_chain(fresh_db: str) -> None:
    pool = await asyncpg.create_pool(fresh_db, min_size=1, max_size=2)
    try:
        _, key = await create_key(pool, Role.SCREENING, "public", 100_000.0)
    finally:
        await pool.close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving(fresh_db, port) as server:
        await asyncio.wait_for(asyncio.to_thread(wait_serving, server), timeout=120)
        body = {"chain": "bitcoin", "address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}

        async def client(n: int) -> list[int]:
            headers = {"Authorization": f"Bearer {key}"}
            async with aiohttp.ClientSession(headers=headers) as http:
                statuses = []
                for _ in range(SCREENS // CONNECTIONS):
                    async with http.post(f"{base}/v1/screen", json=body) as resp:
                        statuses.append(resp.status)
                return statuses

        statuses = [s for batch in await asyncio.gather(*map(client, range(CONNECTIONS))) for s in batch]
        assert statuses == [200] * SCREENS
        counts = await screens_per_worker(base)
        # both answered: two different counts that add up, or two equal halves
        assert 0 not in counts and (sum(counts) == SCREENS or counts == {SCREENS // 2}), counts
        server.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.to_thread(server.communicate, timeout=60)
        assert server.returncode == 0, stderr
        assert b"Traceback" not in stderr
    conn = await asyncpg.connect(fresh_db)
    try:
        verdict = await verify(conn)
        screened = await conn.fetchval("SELECT count(*) FROM audit_log WHERE path = '/v1/screen'")
    finally:
        await conn.close()
    assert verdict.first_break is None
    assert screened == SCREENS


async def test_workers_on_a_port_in_use_say_so(fresh_db: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await tracer(fresh_db, "serve", "--port", str(port), "--workers", "2")
    assert result.returncode == 1
    assert f"tracer: address_in_use: 127.0.0.1:{port} is already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
async def test_workers_stop_when_their_parent_is_killed(fresh_db: str) -> None:
    port = free_port()
    with serving(fresh_db, port) as server:
        await asyncio.wait_for(asyncio.to_thread(wait_serving, server), timeout=120)
        workers = children_of(server.pid)
        assert len(workers) == WORKERS
        server.kill()  # SIGKILL: no chance to stop them itself
        server.wait()
        for _ in range(300):
            if not alive(workers):
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"workers {workers} outlived their parent")


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found
