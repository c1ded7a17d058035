"""Bearer keys and roles on every guarded request, and the key routes (admin)."""

from __future__ import annotations

from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL, PRINCIPALS, SETTINGS
from tracer.api.params import path_id, validated_body
from tracer.api.principals import Principal
from tracer.api.responses import json_response
from tracer.api.schemas import KeyCreated, KeyInfo, KeyList, KeyRequest
from tracer.errors import Forbidden, Unauthorized
from tracer.store import keys as store
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

ENDPOINTS = Endpoints(tag="keys")


OPEN_PRINCIPAL = Principal(key_id=None, role=Role.ADMIN, tenant="public", rate=float("inf"))


async def authenticate(request: web.Request) -> Principal:
    if request.app[SETTINGS].auth == "off":
        return OPEN_PRINCIPAL
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("send an API key: 'Authorization: Bearer <key>'")
    principal = await request.app[PRINCIPALS].lookup(secret.strip())
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    return principal


def require(principal: Principal, role: Role) -> None:
    if principal.role < role:
        raise Forbidden(f"this needs the {role.label} role; the key has {principal.role.label}")


@ENDPOINTS.route(
    "POST",
    "/v1/keys",
    role=Role.ADMIN,
    summary="Create an API key (the secret is in this answer only)",
    body=KeyRequest,
    answer=KeyCreated,
)
async def create_key(request: web.Request) -> web.Response:
    body = await validated_body(request, KeyRequest)
    async with translate_errors():
        key, secret = await store.create_key(request.app[POOL], Role.parse(body.role), body.tenant, body.rate)
    return json_response({**key.as_json(), "key": secret})


@ENDPOINTS.route(
    "GET", "/v1/keys", role=Role.ADMIN, summary="List API keys (never their secrets)", answer=KeyList
)
async def list_keys(request: web.Request) -> web.Response:
    async with translate_errors():
        keys = await store.list_keys(request.app[POOL])
    return json_response({"items": [k.as_json() for k in keys]})


@ENDPOINTS.route(
    "DELETE", "/v1/keys/{key_id}", role=Role.ADMIN, summary="Revoke an API key", answer=KeyInfo, errors=(404,)
)
async def revoke_key(request: web.Request) -> web.Response:
    key_id = path_id(request, "key_id")
    async with translate_errors():
        key = await store.revoke_key(request.app[POOL], key_id)
    return json_response(key.as_json())
