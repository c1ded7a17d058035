"""Screening, address and cluster handlers: thin; validation at the edge, work in tracer.risk and store."""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import ANSWER, METRICS, POOL, PRINCIPAL, SCREEN_OPTIONS, SETTINGS, SHARED_JSON
from tracer.api.params import path_id, validated_body, validated_query
from tracer.api.responses import json_response
from tracer.api.schemas import AddressAnswer, BulkAnswer, ClusterAnswer, Page, ScreenAnswer, ScreenRequest
from tracer.errors import InputError, NotFound
from tracer.risk.answers import label_json
from tracer.risk.screening import (
    ScreeningOptions,
    parse_target,
    screen_many,
    screen_on,
    tenants_for,
)
from tracer.store import views
from tracer.store.errors import translate_errors
from tracer.store.keys import Role
from tracer.store.screening import cluster_labels, find_address

ENDPOINTS = Endpoints(tag="screening")

_ADDRESS_EVIDENCE_LIMIT = 100
_OPTIONS_MAX = 1024  # tenants whose options are remembered


def caller_tenant(request: web.Request) -> str | None:
    principal = request.get(PRINCIPAL)
    return principal.tenant if principal else None


def tenants(request: web.Request) -> tuple[str, ...]:
    """The label sets the caller may see: the public lists and its own tenant's private labels."""
    return tenants_for(caller_tenant(request))


def _options(request: web.Request) -> ScreeningOptions:
    """The caller's options, made once per tenant (the settings do not change while the app runs)."""
    tenant = caller_tenant(request)
    made = request.app[SCREEN_OPTIONS]
    options = made.get(tenant)
    if options is None:
        if len(made) >= _OPTIONS_MAX:
            made.clear()
        options = made[tenant] = ScreeningOptions.from_settings(request.app[SETTINGS], tenant)
    return options


@ENDPOINTS.route(
    "POST",
    "/v1/screen",
    role=Role.SCREENING,
    summary="Screen one address (answer: ScreenAnswer) or many (answer: BulkAnswer)",
    body=ScreenRequest,
    answer=(ScreenAnswer, BulkAnswer),
)
async def screen(request: web.Request) -> web.Response:
    body = await validated_body(request, ScreenRequest)
    if body.address is not None:
        result = await _screen_one(request, body.chain, body.address)
        request[ANSWER] = _risk_digest(result)
        result["coverage"] = request.app[SHARED_JSON].fragment(result["coverage"])  # same for many answers
        return json_response(result)
    addresses = body.addresses or []
    limit = request.app[SETTINGS].bulk_screen_max
    if len(addresses) > limit:
        raise InputError(f"at most {limit} addresses per request, got {len(addresses)}")
    results, coverage = await _screen_bulk(request, body.chain, addresses)
    summary = level_summary(results)
    digest: dict[str, object] = {"count": len(results), "summary": summary}
    request[ANSWER] = digest
    return json_response(
        {"results": results, "count": len(results), "summary": summary, "coverage": coverage}
    )


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
        request.app[METRICS].count_screening(chain.value, _level(answer))
        for i in positions:
            results[i] = answer
    return results, batch.coverage


def level_summary(results: list[dict[str, object]]) -> dict[str, int]:
    """How many answers per risk level, and how many addresses were refused ('error')."""
    counts = Counter(_level(r) if "error" not in r else "error" for r in results)
    return {level: counts.get(level, 0) for level in ("severe", "high", "medium", "low", "none", "error")}


async def _screen_one(request: web.Request, raw_chain: str, raw_address: str) -> dict[str, object]:
    """The answer with its stored parts still JSON fragments: encoded as they are, not decoded first."""
    chain, address = parse_target(raw_chain, raw_address)
    async with translate_errors(), request.app[POOL].acquire() as conn:
        batch = await screen_many(conn, chain, [address], _options(request))
    result = {**batch.results[0], "coverage": batch.coverage}
    request.app[METRICS].count_screening(chain.value, _level(result))
    return result


@ENDPOINTS.route(
    "GET",
    "/v1/addresses/{chain}/{address}",
    role=Role.ANALYST,
    summary="An address: its screening, the evidence for its cluster membership, vetoed merges",
    answer=AddressAnswer,
)
async def address_view(request: web.Request) -> web.Response:
    chain, address = parse_target(request.match_info["chain"], request.match_info["address"])
    async with translate_errors(), request.app[POOL].acquire() as conn:
        result = await screen_on(conn, chain, address, _options(request))
        row = await find_address(conn, chain.value, address)
        if row is not None:
            result["evidence"] = await views.address_evidence(conn, row.id, _ADDRESS_EVIDENCE_LIMIT)
            result["vetoes"] = await views.cluster_vetoes(conn, row.id, _ADDRESS_EVIDENCE_LIMIT)
    request[ANSWER] = _risk_digest(result)
    return json_response(result)


@ENDPOINTS.route(
    "GET",
    "/v1/clusters/{cluster_id}",
    role=Role.ANALYST,
    summary="A cluster: members, labels and merge evidence, paged",
    query=Page,
    answer=ClusterAnswer,
    errors=(404,),
)
async def cluster_view(request: web.Request) -> web.Response:
    cluster_id = path_id(request, "cluster_id")
    page = validated_query(request, Page)
    async with translate_errors(), request.app[POOL].acquire() as conn:
        summary = await views.cluster_summary(conn, cluster_id)
        if summary is None:
            raise NotFound(f"no cluster {cluster_id}")
        members = await views.cluster_members(conn, summary.id, page.limit, page.offset)
        evidence = await views.cluster_evidence(conn, summary.id, page.limit, page.offset)
        labels = await cluster_labels(conn, summary.id, tenants(request))
    digest: dict[str, object] = {"cluster_id": summary.id, "size": summary.size}
    request[ANSWER] = digest
    return json_response(
        {
            **views.summary_json(summary),
            "members": {"items": members, "limit": page.limit, "offset": page.offset},
            "labels": [label_json(lb, "cluster") for lb in labels],
            "evidence": {"items": evidence, "limit": page.limit, "offset": page.offset},
        }
    )


def _risk_digest(result: dict[str, object]) -> dict[str, object]:
    risk = result.get("risk")
    cluster = result.get("cluster")
    return {
        "known": result.get("known"),
        "risk_level": risk.get("level") if isinstance(risk, dict) else None,
        "risk_score": risk.get("score") if isinstance(risk, dict) else None,
        "cluster_id": cluster.get("id") if isinstance(cluster, dict) else None,
    }


def _level(result: dict[str, object]) -> str:
    risk = result.get("risk")
    return str(risk.get("level")) if isinstance(risk, dict) else "none"
