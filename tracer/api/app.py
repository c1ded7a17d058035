"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from tracer.api import actors, audit, auth, coverage, export, health, middleware, openapi, routes, trace, why
from tracer.api.endpoints import Endpoint, Endpoints
from tracer.api.keys import (
    AUDIT,
    DB_STATE,
    ENDPOINTS,
    LIMITER,
    METRICS,
    POOL,
    PRINCIPALS,
    SCREEN_OPTIONS,
    SETTINGS,
    SHARED_JSON,
)
from tracer.api.limits import DatabaseState, RateLimiter
from tracer.api.principals import Principals
from tracer.api.responses import SharedJson
from tracer.config import Settings
from tracer.metrics import Metrics
from tracer.store.audit import AuditWriter
from tracer.store.pool import open_pool

TABLES: tuple[Endpoints, ...] = (
    routes.ENDPOINTS,
    coverage.ENDPOINTS,
    trace.ENDPOINTS,
    why.ENDPOINTS,
    actors.ENDPOINTS,
    export.ENDPOINTS,
    auth.ENDPOINTS,
    audit.ENDPOINTS,
    health.ENDPOINTS,
    openapi.ENDPOINTS,
)
_DB_PROBE_SECONDS = 2.0


def endpoints() -> list[Endpoint]:
    return [endpoint for table in TABLES for endpoint in table.items]


def make_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[middleware.observe, middleware.errors, middleware.guard],  # observe sees error answers
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics.create()
    app[LIMITER] = RateLimiter()
    app[SHARED_JSON] = SharedJson()
    app[SCREEN_OPTIONS] = {}
    app[ENDPOINTS] = {}
    for endpoint in endpoints():
        app.router.add_route(endpoint.method, endpoint.path, endpoint.handler)
        app[ENDPOINTS][(endpoint.method, endpoint.path)] = endpoint
    app.cleanup_ctx.append(_database)
    app.on_response_prepare.append(_server_header)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # Every statement (lock waits included) is bounded, so a stuck database is a 504, not a hung client.
    timeout_ms = str(int(settings.db_timeout * 1000))
    # The API never changes session state (only SET LOCAL, transaction-scoped locks, ON COMMIT temp
    # tables), so releases skip asyncpg's reset query: one round trip less per use of a connection.
    server_settings = {"statement_timeout": timeout_ms}
    async with open_pool(settings, server_settings=server_settings, reset_sessions=False) as pool:
        app[POOL] = pool
        app[PRINCIPALS] = Principals(pool, settings.key_rate)
        app[AUDIT] = writer = AuditWriter(pool)
        app[DB_STATE] = state = DatabaseState(pool, _DB_PROBE_SECONDS, settings.db_timeout)
        writer.start()
        monitor = asyncio.create_task(state.run(), name="database-monitor")
        try:
            yield
        finally:
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
            await writer.close()


async def _server_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = "tracer"  # no versions for scanners to match against
