"""``GET /v1/actors`` and ``GET /v1/actors/{id}``: who controls labelled addresses, and why we say so."""

from __future__ import annotations

from aiohttp import web

from tracer.api.keys import POOL
from tracer.api.middleware import json_response
from tracer.errors import InputError, NotFound
from tracer.risk.categories import ACTOR_CATEGORIES
from tracer.risk.screening import PUBLIC_TENANTS
from tracer.store.actors import actor_detail, list_actors
from tracer.store.errors import translate_errors

routes = web.RouteTableDef()

_MAX_LIMIT = 1000
_CATEGORIES = frozenset(c.value for c in ACTOR_CATEGORIES)


@routes.get("/v1/actors")
async def actors(request: web.Request) -> web.Response:
    category = request.query.get("category")
    if category is not None and category not in _CATEGORIES:
        raise InputError("unknown actor category", category=category[:40], known=sorted(_CATEGORIES))
    limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
    if not 1 <= limit <= _MAX_LIMIT or offset < 0:
        raise InputError(f"limit must be 1..{_MAX_LIMIT} and offset >= 0")
    async with translate_errors():
        rows = await list_actors(
            request.app[POOL], category=category, query=request.query.get("q"), limit=limit, offset=offset
        )
    return json_response({"items": rows, "limit": limit, "offset": offset})


@routes.get("/v1/actors/{actor_id}")
async def actor(request: web.Request) -> web.Response:
    raw = request.match_info["actor_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise InputError("actor id must be a positive integer", actor_id=raw[:40])
    # Private labels will count here once API keys carry a tenant (tracer.risk.screening.tenants_for).
    async with translate_errors():
        found = await actor_detail(request.app[POOL], int(raw), tenants=PUBLIC_TENANTS)
    if found is None:
        raise NotFound(f"no actor {raw}")
    return json_response(found)


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InputError(f"{name} must be an integer", **{name: raw[:40]}) from None
