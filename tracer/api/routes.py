"""HTTP handlers: thin; validation at the edge, work in tracer.risk / tracer.store."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from tracer.api.keys import METRICS, POOL, SETTINGS
from tracer.api.middleware import json_response, read_json
from tracer.api.schemas import Page, ScreenRequest
from tracer.errors import InputError, NotFound, TracerError
from tracer.risk.screening import PUBLIC_TENANTS, ScreeningOptions, label_json, parse_target, screen_on
from tracer.store import views
from tracer.store.errors import translate_errors
from tracer.store.screening import cluster_labels, find_address

routes = web.RouteTableDef()

_BULK_CONCURRENCY = 4  # connections one bulk request may hold at once
_ADDRESS_EVIDENCE_LIMIT = 100


def _options(request: web.Request) -> ScreeningOptions:
    return ScreeningOptions.from_settings(request.app[SETTINGS])


_Body = TypeVar("_Body", ScreenRequest, Page)


def _validated(model: type[_Body], data: object) -> _Body:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        raise InputError("request does not match the schema", problems=problems) from exc


@routes.post("/v1/screen")
async def screen(request: web.Request) -> web.Response:
    body = _validated(ScreenRequest, await read_json(request))
    if body.address is not None:
        return json_response(await _screen_one(request, body.chain, body.address))
    addresses = body.addresses or []
    limit = request.app[SETTINGS].bulk_screen_max
    if len(addresses) > limit:
        raise InputError(f"at most {limit} addresses per request, got {len(addresses)}")
    gate = asyncio.Semaphore(_BULK_CONCURRENCY)

    async def one(raw: str) -> dict[str, object]:
        try:
            async with gate:
                return await _screen_one(request, body.chain, raw)
        except InputError as exc:  # one bad address does not fail the batch
            return {"chain": body.chain, "address": raw, **exc.to_json()}

    results = await asyncio.gather(*(one(a) for a in addresses))
    return json_response({"results": results, "count": len(results)})


async def _screen_one(request: web.Request, raw_chain: str, raw_address: str) -> dict[str, object]:
    chain, address = parse_target(raw_chain, raw_address)
    async with translate_errors(), request.app[POOL].acquire() as conn:
        result = await screen_on(conn, chain, address, _options(request))
    request.app[METRICS].screenings.labels(chain.value, _level(result)).inc()
    return result


@routes.get("/v1/addresses/{chain}/{address}")
async def address_view(request: web.Request) -> web.Response:
    chain, address = parse_target(request.match_info["chain"], request.match_info["address"])
    async with translate_errors(), request.app[POOL].acquire() as conn:
        result = await screen_on(conn, chain, address, _options(request))
        row = await find_address(conn, chain.value, address)
        if row is not None:
            result["evidence"] = await views.address_evidence(conn, row.id, _ADDRESS_EVIDENCE_LIMIT)
            result["vetoes"] = await views.cluster_vetoes(conn, row.id, _ADDRESS_EVIDENCE_LIMIT)
    return json_response(result)


@routes.get("/v1/clusters/{cluster_id}")
async def cluster_view(request: web.Request) -> web.Response:
    try:
        cluster_id = int(request.match_info["cluster_id"])
    except ValueError:
        raise InputError("cluster id must be an integer") from None
    page = _validated(Page, dict(request.query))
    async with translate_errors(), request.app[POOL].acquire() as conn:
        summary = await views.cluster_summary(conn, cluster_id)
        if summary is None:
            raise NotFound(f"no cluster {cluster_id}")
        members = await views.cluster_members(conn, summary.id, page.limit, page.offset)
        evidence = await views.cluster_evidence(conn, summary.id, page.limit, page.offset)
        labels = await cluster_labels(conn, summary.id, PUBLIC_TENANTS)
    return json_response(
        {
            **views.summary_json(summary),
            "members": {"items": members, "limit": page.limit, "offset": page.offset},
            "labels": [label_json(lb, "cluster") for lb in labels],
            "evidence": {"items": evidence, "limit": page.limit, "offset": page.offset},
        }
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    try:
        async with translate_errors():
            await request.app[POOL].fetchval("SELECT 1")
    except TracerError as exc:
        return json_response({"status": "unavailable", "database": exc.message}, status=503)
    return json_response({"status": "ok", "database": "ok"})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _level(result: dict[str, object]) -> str:
    risk = result.get("risk")
    return str(risk.get("level")) if isinstance(risk, dict) else "none"
