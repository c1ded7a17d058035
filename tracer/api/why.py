"""``GET /v1/why/{chain}/{a}/{b}``: the chain of merges that links two addresses (tracer.clustering.why)."""

from __future__ import annotations

from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL
from tracer.api.responses import json_response
from tracer.clustering.why import parse_pair, why
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

ENDPOINTS = Endpoints(tag="clustering")


@ENDPOINTS.route(
    "GET",
    "/v1/why/{chain}/{a}/{b}",
    role=Role.ANALYST,
    summary="Why two addresses are one cluster: the shortest chain of stored merges from A to B",
    errors=(404,),
)
async def why_linked(request: web.Request) -> web.Response:
    chain, a, b = parse_pair(request.match_info["chain"], request.match_info["a"], request.match_info["b"])
    async with translate_errors(), request.app[POOL].acquire() as conn:
        return json_response(await why(conn, chain, a, b))
