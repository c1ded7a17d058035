"""Liveness, readiness and metrics: open on the loopback address, a key needed from anywhere else."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tracer.api.endpoints import Endpoints
from tracer.api.keys import DB_STATE, METRICS
from tracer.api.responses import json_response
from tracer.api.schemas import Health

ENDPOINTS = Endpoints(tag="operations")


@ENDPOINTS.route(
    "GET", "/healthz", role=None, summary="The process is alive; the database as last seen", answer=Health
)
async def healthz(request: web.Request) -> web.Response:
    state = request.app[DB_STATE]
    return json_response({"status": "ok", "database": "ok" if state.ok else state.reason})


@ENDPOINTS.route(
    "GET",
    "/readyz",
    role=None,
    summary="Ready to answer: the database answers now, without waiting on a lock (else 503)",
    answer=Health,
    errors=(503,),
)
async def readyz(request: web.Request) -> web.Response:
    state = request.app[DB_STATE]
    if await state.probe():
        return json_response({"status": "ready", "database": "ok"})
    return json_response({"status": "unavailable", "database": state.reason}, status=503)


@ENDPOINTS.route("GET", "/metrics", role=None, summary="Prometheus metrics", media=(CONTENT_TYPE_LATEST,))
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
