"""Running the API: an AppRunner on host:port until interrupted."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from tracer.api.app import make_app
from tracer.config import Settings

log = logging.getLogger(__name__)


async def start_server(settings: Settings) -> tuple[web.AppRunner, str]:
    """Start the API; return the runner (call ``cleanup()`` to stop) and its base URL."""
    runner = web.AppRunner(make_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else settings.port  # port 0: the one the OS chose
    return runner, f"http://{settings.host}:{port}"


async def serve_forever(settings: Settings) -> None:
    runner, url = await start_server(settings)
    log.info("serving", extra={"url": url})
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
