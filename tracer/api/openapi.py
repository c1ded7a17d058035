"""/openapi.json (OpenAPI 3.1) built from the endpoint table and the pydantic schemas the handlers validate
with, and /docs: a page shipped in the package (no CDN) that renders it."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tracer.api.endpoints import JSON, Endpoint, Endpoints
from tracer.api.keys import ENDPOINTS as ENDPOINT_TABLE
from tracer.api.schemas import ErrorAnswer

ENDPOINTS = Endpoints(tag="documentation")

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{(\w+)\}")
_ID_PARAMS = {"cluster_id", "key_id"}
# Statuses any guarded route can answer, besides its own.
_GUARDED_ERRORS = {
    400: "Invalid input",
    401: "No key, or an unknown or revoked key",
    403: "The key's role may not do this",
    408: "The body did not arrive in time",
    413: "The body is too large",
    415: "A POST body must be application/json",
    429: "Over the key's rate limit (see Retry-After)",
    503: "The database is unavailable, or the request could not be audited; try again",
    504: "No answer in time",
}


def build_spec(endpoints: list[Endpoint], version: str = "1") -> dict[str, Any]:
    models = _models(endpoints)
    _, schemas = models_json_schema([(m, "validation") for m in models], ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tracer",
            "version": version,
            "description": "Crypto tracing, wallet clustering and screening. Every /v1 request is audited.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _models(endpoints: list[Endpoint]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {ErrorAnswer.__name__: ErrorAnswer}
    for endpoint in endpoints:
        for model in (endpoint.body, endpoint.query, *endpoint.answers):
            if model is not None:
                found[model.__name__] = model
    return list(found.values())


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": _path_parameters(endpoint) + _query_parameters(endpoint),
        "responses": _responses(endpoint),
    }
    if endpoint.role is None:
        operation["security"] = []
    else:
        operation["security"] = [{"bearer": []}]
        operation["x-role"] = endpoint.role.label
    if endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(endpoint.body)}}}
    return operation


def _path_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    out = []
    for name in _PATH_PARAM.findall(endpoint.path):
        schema: dict[str, Any] = (
            {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
            if name in _ID_PARAMS
            else {"type": "string"}
        )
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _query_parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    if endpoint.query is None:
        return []
    schema = endpoint.query.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    if len(endpoint.answers) == 1:
        ok: dict[str, Any] = {"description": "OK", "content": {JSON: {"schema": _ref(endpoint.answers[0])}}}
    elif endpoint.answers:
        schema = {"anyOf": [_ref(model) for model in endpoint.answers]}
        ok = {"description": "OK", "content": {JSON: {"schema": schema}}}
    else:
        ok = {"description": "OK", "content": {media: {} for media in endpoint.media}}
    responses: dict[str, Any] = {"200": ok}
    error = {"content": {JSON: {"schema": _ref(ErrorAnswer)}}}
    statuses = dict(_GUARDED_ERRORS) if endpoint.role is not None else {}
    for status in endpoint.errors:
        statuses.setdefault(status, "Not found" if status == 404 else "Unavailable")
    for status, description in sorted(statuses.items()):
        responses[str(status)] = {"description": description, **error}
    return responses


@ENDPOINTS.route("GET", "/openapi.json", role=None, summary="This API's OpenAPI 3.1 description")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(build_spec(list(request.app[ENDPOINT_TABLE].values())))


@ENDPOINTS.route("GET", "/docs", role=None, summary="Human-readable API documentation", media=("text/html",))
async def docs(request: web.Request) -> web.Response:
    page = resources.files("tracer.api").joinpath("static", "docs.html").read_bytes()
    return web.Response(body=page, content_type="text/html")
