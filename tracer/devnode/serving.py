"""Serving a replay node's aiohttp app on a loopback port for the length of an ``async with``."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


def free_port() -> int:
    """A loopback port free at this moment, for a child process that must be told its port before it binds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(app: web.Application, host: str, port: int) -> AsyncIterator[tuple[str, int]]:
    """Serves ``app`` until the block exits; yields the bound (host, port) (``port=0``: a free port)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        yield str(bound_host), int(bound_port)
    finally:
        await runner.cleanup()
