"""The aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from tracer.api import middleware, trace
from tracer.api.keys import METRICS, POOL, SETTINGS
from tracer.api.routes import routes
from tracer.config import Settings
from tracer.metrics import Metrics
from tracer.store.pool import open_pool

MAX_REQUEST_BYTES = 4 * 1024 * 1024  # a bulk screening of 1,000 addresses is ~60 KB


def make_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[middleware.observe, middleware.errors],  # observe sees error responses too
        client_max_size=MAX_REQUEST_BYTES,
    )
    app[SETTINGS] = settings
    app[METRICS] = Metrics.create()
    app.cleanup_ctx.append(_database)
    app.add_routes(routes)
    app.add_routes(trace.routes)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with open_pool(app[SETTINGS]) as pool:
        app[POOL] = pool
        yield
