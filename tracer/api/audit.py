"""GET /v1/audit: the audit rows with their hashes, for admins; a tenant's admin sees its tenant's rows."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL, PRINCIPAL
from tracer.api.params import validated_query
from tracer.api.responses import json_response
from tracer.api.schemas import AuditPage, AuditQuery
from tracer.errors import InputError
from tracer.risk.screening import PUBLIC_TENANTS
from tracer.store import audit as store
from tracer.store.errors import translate_errors
from tracer.store.keys import Role

ENDPOINTS = Endpoints(tag="audit")


@ENDPOINTS.route(
    "GET",
    "/v1/audit",
    role=Role.ADMIN,
    summary="Audit rows in chain order, with their hashes (the operator's keys see every tenant)",
    query=AuditQuery,
    answer=AuditPage,
)
async def audit_rows(request: web.Request) -> web.Response:
    query = validated_query(request, AuditQuery)
    principal = request[PRINCIPAL]
    tenant = None if principal.tenant in PUBLIC_TENANTS else principal.tenant
    async with translate_errors():
        rows = await store.export_rows(
            request.app[POOL],
            start=parse_time(query.start, "from"),
            end=parse_time(query.end, "to"),
            tenant=tenant,
            after_seq=query.after_seq,
            limit=query.limit,
        )
    last = rows[-1]["seq"] if len(rows) == query.limit else None
    return json_response({"items": rows, "next_after_seq": last})


def parse_time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"'{name}' must be an ISO 8601 time, e.g. 2026-11-30T00:00:00+00:00") from None
    if parsed.tzinfo is None:
        raise InputError(f"'{name}' needs a time zone, e.g. +00:00 or Z")
    return parsed
