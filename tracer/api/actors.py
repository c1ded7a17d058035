"""``GET /v1/actors`` and ``GET /v1/actors/{actor_id}``: who controls labelled addresses, and why we say so.

Address counts and lists include the caller's tenant's private labels (tracer.api.routes.tenants).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL
from tracer.api.params import path_id, validated_query
from tracer.api.responses import json_response
from tracer.api.routes import tenants
from tracer.api.schemas import MAX_INT
from tracer.errors import InputError, NotFound
from tracer.risk.categories import ACTOR_CATEGORIES
from tracer.store.actors import actor_detail, list_actors
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

ENDPOINTS = Endpoints(tag="actors")

_CATEGORIES = frozenset(c.value for c in ACTOR_CATEGORIES)
_NO_NUL = r"^[^\x00]*$"


class ActorQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # PostgreSQL text cannot hold NUL: refused here (400), not failed in the database (503).
    category: str | None = Field(default=None, max_length=40, pattern=_NO_NUL)
    q: str | None = Field(default=None, max_length=200, pattern=_NO_NUL)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT)


@ENDPOINTS.route(
    "GET",
    "/v1/actors",
    role=Role.ANALYST,
    summary="Actors by category or name (sanctioned entities, scam centres, mixers, ...)",
    query=ActorQuery,
)
async def actors(request: web.Request) -> web.Response:
    query = validated_query(request, ActorQuery)
    if query.category is not None and query.category not in _CATEGORIES:
        raise InputError("unknown actor category", category=query.category, known=sorted(_CATEGORIES))
    async with translate_errors():
        rows = await list_actors(
            request.app[POOL],
            tenants=tenants(request),
            category=query.category,
            query=query.q,
            limit=query.limit,
            offset=query.offset,
        )
    return json_response({"items": rows, "limit": query.limit, "offset": query.offset})


@ENDPOINTS.route(
    "GET",
    "/v1/actors/{actor_id}",
    role=Role.ANALYST,
    summary="One actor: category, aliases, jurisdictions, designations, labelled addresses",
    errors=(404,),
)
async def actor(request: web.Request) -> web.Response:
    actor_id = path_id(request, "actor_id")
    async with translate_errors():
        found = await actor_detail(request.app[POOL], actor_id, tenants=tenants(request))
    if found is None:
        raise NotFound(f"no actor {actor_id}")
    return json_response(found)
