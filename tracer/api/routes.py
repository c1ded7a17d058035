"""HTTP handlers: thin; validation at the edge, work in tracer.risk / tracer.store."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError

from tracer.api.keys import METRICS, POOL, SETTINGS
from tracer.api.middleware import json_response, read_json
from tracer.api.schemas import Page, ScreenRequest
from tracer.errors import InputError, NotFound, TracerError
from tracer.risk.screening import (
    PUBLIC_TENANTS,
    ScreeningOptions,
    label_json,
    parse_target,
    screen_many,
    screen_on,
)
from tracer.store import views
from tracer.store.errors import translate_errors
from tracer.store.screening import cluster_labels, find_address

routes = web.RouteTableDef()

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
        chain, address = parse_target(body.chain, body.address)
        async with translate_errors(), request.app[POOL].acquire() as conn:
            result = await screen_on(conn, chain, address, _options(request))
        request.app[METRICS].screenings.labels(chain.value, _level(result)).inc()
        return json_response(result)
    addresses = body.addresses or []
    limit = request.app[SETTINGS].bulk_screen_max
    if len(addresses) > limit:
        raise InputError(f"at most {limit} addresses per request, got {len(addresses)}")
    results, coverage = await _screen_bulk(request, body.chain, addresses)
    return json_response({"results": results, "count": len(results), "coverage": coverage})


async def _screen_bulk(
    request: web.Request, raw_chain: str, raw_addresses: list[str]
) -> tuple[list[dict[str, object]], dict[str, object] | None]:
    """One set-based read for the whole batch (screen_many); a bad address gets its own error entry
    instead of failing the batch. Coverage is stated once, for all."""
    results: list[dict[str, object]] = [{} for _ in raw_addresses]
    valid: dict[str, list[int]] = {}
    chain = None
    for i, raw in enumerate(raw_addresses):
        try:
            chain, address = parse_target(raw_chain, raw)
        except InputError as exc:
            results[i] = {"chain": raw_chain, "address": raw, **exc.to_json()}
            continue
        valid.setdefault(address, []).append(i)
    if chain is None:
        return results, None
    async with translate_errors(), request.app[POOL].acquire() as conn:
        batch = await screen_many(conn, chain, list(valid), _options(request))
    for positions, answer in zip(valid.values(), batch.results, strict=True):
        request.app[METRICS].screenings.labels(chain.value, _level(answer)).inc()
        for i in positions:
            results[i] = answer
    return results, batch.coverage


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
        members = await views.cluster_members(conn, cluster_id, page.limit, page.offset)
        evidence = await views.cluster_evidence(conn, cluster_id, page.limit, page.offset)
        labels = await cluster_labels(conn, cluster_id, PUBLIC_TENANTS)
    return json_response(
        {
            "id": summary.id,
            "chain": summary.chain,
            "size": summary.size,
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
