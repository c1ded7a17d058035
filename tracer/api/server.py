"""Running the API: an AppRunner on host:port until SIGTERM/SIGINT, then a graceful stop."""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import signal

from aiohttp import web

from tracer.api.app import make_app
from tracer.config import Settings
from tracer.errors import ConfigError

log = logging.getLogger(__name__)

# Set by `serve --workers N` (tracer.api.workers) for each worker; not TRACER_-prefixed: not settings.
READY_FD_ENV = "_TRACER_READY_FD"  # a pipe to write one byte to once listening
LIFELINE_FD_ENV = "_TRACER_LIFELINE_FD"  # a pipe the parent never writes: at its end (EOF), stop too


# A server allocates many short-lived objects per request; CPython collects its young generation every 700
# allocations, each time also walking what start-up built. Measured on single screens: collection cost
# ~0.05 ms per request with the defaults, ~0.01 ms with start-up frozen and this threshold.
GC_YOUNG_THRESHOLD = 20_000


class AddressInUse(ConfigError):
    code = "address_in_use"


async def start_server(settings: Settings) -> tuple[web.AppRunner, str]:
    """Start the API; return the runner (call ``cleanup()`` to stop) and its base URL."""
    runner = web.AppRunner(
        make_app(settings),
        access_log=None,
        # aiohttp's keep-alive timer also runs from the moment a connection opens until a request's
        # headers are complete: a client that connects and stalls is dropped after this many seconds.
        keepalive_timeout=settings.header_timeout,
        shutdown_timeout=settings.shutdown_timeout,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=settings.reuse_port or None)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUse(
                f"{settings.host}:{settings.port} is already in use; pick another --port"
            ) from None
        raise ConfigError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    port = sockets[0].getsockname()[1] if sockets else settings.port  # port 0: the one the OS chose
    return runner, f"http://{settings.host}:{port}"


async def serve_forever(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT; then stop accepting, let in-flight requests finish (up to
    ``shutdown_timeout``), flush the audit log, close the pool."""
    runner, url = await start_server(settings)
    settle_garbage_collector()
    if settings.auth == "off":
        log.warning("API keys are OFF (TRACER_AUTH=off): anyone who can reach %s may use every route", url)
    log.info("serving", extra={"url": url, "auth": settings.auth})
    _tell_parent_ready()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    lifeline = os.environ.pop(LIFELINE_FD_ENV, None)
    if lifeline is not None:  # a worker whose parent died (even by SIGKILL) must not serve on, orphaned
        loop.add_reader(int(lifeline), stop.set)
    try:
        await stop.wait()
        log.info("stopping: finishing in-flight requests")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if lifeline is not None:
            loop.remove_reader(int(lifeline))
        await runner.cleanup()


def settle_garbage_collector() -> None:
    """Move what start-up built (modules, schemas, the app) out of every later collection, and collect the
    young generation less often: the garbage of a request is mostly freed by reference counting anyway."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _tell_parent_ready() -> None:
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is not None:
        os.write(int(fd), b"1")
        os.close(int(fd))
