"""``GET /v1/coverage`` and ``GET /v1/coverage/{coverage_id}``: what screening answers covered, in full.

Every screening answer carries a short coverage reference (chains and heights, and an id); these return
what the id names: the label sources with their dates and licences, and the exposure run. A snapshot that
lists a tenant's private sources is only shown to that tenant (to anyone else it does not exist).
"""

from __future__ import annotations

from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL
from tracer.api.responses import json_response
from tracer.api.routes import tenants
from tracer.api.schemas import CoverageAnswer
from tracer.errors import NotFound
from tracer.store.coverage import check_snapshot_id, current_snapshot, visible_snapshot
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

ENDPOINTS = Endpoints(tag="screening")


@ENDPOINTS.route(
    "GET",
    "/v1/coverage",
    role=Role.SCREENING,
    summary="The current coverage: chains and heights indexed, label sources and their dates, exposure run",
    answer=CoverageAnswer,
)
async def current_coverage(request: web.Request) -> web.Response:
    async with translate_errors(), request.app[POOL].acquire() as conn:
        full = await current_snapshot(conn, tenants(request))
    return json_response(full)


@ENDPOINTS.route(
    "GET",
    "/v1/coverage/{coverage_id}",
    role=Role.SCREENING,
    summary="The coverage an answer names by id: label sources and their dates, the exposure run",
    answer=CoverageAnswer,
    errors=(404,),
)
async def coverage_snapshot(request: web.Request) -> web.Response:
    coverage_id = check_snapshot_id(request.match_info["coverage_id"])
    async with translate_errors(), request.app[POOL].acquire() as conn:
        snapshot = await visible_snapshot(conn, coverage_id, tenants(request))
    if snapshot is None:
        raise NotFound(f"no coverage {coverage_id}")
    return json_response(snapshot)
