"""Middlewares, outermost first: ``observe`` (metrics, and the audit row of every /v1 request),
``errors`` (every failure as a JSON body, in one place), ``guard`` (key, role, rate, content type, body
within its size and time limits, the answer within its time limit)."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from aiohttp import web

from tracer.api import auth, limits
from tracer.api.keys import (
    ANSWER,
    AUDIT,
    BODY,
    BODY_REJECTED,
    ENDPOINTS,
    LIMITER,
    METRICS,
    PRINCIPAL,
    SETTINGS,
)
from tracer.api.responses import error_response, json_response
from tracer.errors import InputError, StoreError, TracerError
from tracer.store.audit import AuditEntry

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_AUDITED_PREFIX = "/v1/"
_MAX_AUDITED_BODY = 64 * 1024  # bytes of a request body kept in the audit log
_NUL = b"\x00"
_JSON_NUL = b"\\u0000"  # the JSON escape for NUL, six bytes
_TIMEOUT_SQLSTATES = {"57014", "55P03"}  # statement timeout / lock not available: the database was slow
_LOOPBACK = {"127.0.0.1", "::1"}
_BODY_LEFT_UNREAD = {408, 413, 415}


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreError as exc:
        return _store_error(request, exc)
    except TracerError as exc:
        if exc.status >= 500:
            log.error("request failed", extra={"path": request.path, "code": exc.code, "error": exc.message})
        response = json_response(exc.to_json(), status=exc.status)
        if exc.status in _BODY_LEFT_UNREAD:
            response.force_close()  # the rest of the body is not worth waiting for: no keep-alive
        if "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status, "http_error"
        )
        return error_response(exc.status, code, exc.reason)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        return error_response(500, "internal_error", "internal error; the incident is logged")


def _store_error(request: web.Request, exc: StoreError) -> web.Response:
    """Database failures say what to do, not the database's internals (those go to the log)."""
    sqlstate = str(exc.details.get("sqlstate", ""))
    if sqlstate in _TIMEOUT_SQLSTATES:
        return error_response(504, "database_timeout", "the database did not answer in time; try again later")
    if exc.status == 409:
        return error_response(409, exc.code, "a conflicting change happened at the same time; try again")
    log.warning("database error", extra={"path": request.path, "code": exc.code, "error": exc.message})
    if exc.retriable:
        return error_response(503, exc.code, "the database is unavailable; try again later")
    return error_response(exc.status, exc.code, "the database failed; the incident is logged")


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who may do what, and how much; for the routes the endpoint table declares (404s pass through)."""
    route = request.match_info.route.resource
    endpoint = request.app[ENDPOINTS].get((request.method, route.canonical)) if route else None
    if endpoint is None:
        return await handler(request)
    settings = request.app[SETTINGS]
    if endpoint.role is not None:
        principal = await auth.authenticate(request)
        request[PRINCIPAL] = principal
        auth.require(principal, endpoint.role)
        if principal.key_id is not None:
            request.app[LIMITER].take(principal.key_id, principal.rate)
    elif (
        request.remote not in _LOOPBACK
        and not endpoint.path.startswith("/openapi")
        and endpoint.path != "/docs"
    ):
        request[PRINCIPAL] = await auth.authenticate(request)  # health and metrics: open on loopback only
    if request.method in ("POST", "PUT", "PATCH"):
        try:
            limits.require_json(request)
            request[BODY] = await limits.read_body(request, settings.max_body_bytes, settings.body_timeout)
        except InputError as exc:  # the audit row says what was refused and why
            request[BODY_REJECTED] = {"bytes": request.content_length, **exc.details, "reason": exc.code}
            raise
    return await limits.answer_within(settings.request_timeout, handler(request))


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Metrics for every request; an audit row for every /v1 request: who asked what, when, and the answer."""
    started = time.perf_counter()
    if not request.path.startswith(_AUDITED_PREFIX):
        response = await handler(request)
        _measure(request, response, started)
        return response
    writer = request.app[AUDIT]
    writer.expect()  # a commit under way may wait a moment for this row (group commit)
    try:
        response = await handler(request)
    finally:
        writer.arrived()
    elapsed = _measure(request, response, started)
    try:
        await writer.append(_audit_entry(request, response, elapsed))
    except Exception as exc:
        # An unaudited answer must not leave: compliance needs the record more than the caller the reply.
        log.error("audit write failed", extra={"path": request.path, "error": repr(exc)})
        return error_response(503, "audit_unavailable", "the request could not be audited; try again")
    return response


def _measure(request: web.Request, response: web.StreamResponse, started: float) -> float:
    """The request's metrics; its duration in seconds."""
    elapsed = time.perf_counter() - started
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    request.app[METRICS].observe_request(route, request.method, response.status, elapsed)
    return elapsed


def _audit_entry(request: web.Request, response: web.StreamResponse, elapsed: float) -> AuditEntry:
    principal = request.get(PRINCIPAL)
    query: dict[str, object] = {"params": {_text(k): _text(v) for k, v in request.query.items()}}
    if BODY in request:
        query["body"] = _body_for_audit(request[BODY])
    elif BODY_REJECTED in request:
        query["body_rejected"] = request[BODY_REJECTED]
    return AuditEntry(
        at=datetime.now(UTC),
        key_id=principal.key_id if principal else None,
        tenant=principal.tenant if principal else "public",
        client=request.remote,
        method=request.method,
        path=_text(request.path),
        query=query,
        status=response.status,
        duration_ms=round(elapsed * 1000, 3),  # to the microsecond, as the row's digest keeps it
        answer=_answer_digest(request, response),
    )


def _answer_digest(request: web.Request, response: web.StreamResponse) -> dict[str, object]:
    """What was answered: the handler's summary (risk level and score for screens) and the SHA-256 of the
    exact bytes sent, so a copy of the answer can be matched to its row."""
    digest: dict[str, object] = dict(request.get(ANSWER) or {})
    body = response.body if isinstance(response, web.Response) else None
    if isinstance(body, bytes):
        digest["sha256"] = hashlib.sha256(body).hexdigest()
        digest["bytes"] = len(body)
    return digest


def _body_for_audit(raw: bytes) -> object:
    """The body as sent, in a form PostgreSQL can store: parsed JSON when it is JSON, else text or base64."""
    if len(raw) > _MAX_AUDITED_BODY:
        head = base64.b64encode(raw[:_MAX_AUDITED_BODY]).decode()
        return {
            "truncated": True,
            "bytes": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(),
            "head_base64": head,
        }
    if _NUL in raw or _JSON_NUL in raw:  # neither text nor jsonb can hold NUL: keep the exact bytes
        return {"base64": base64.b64encode(raw).decode()}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"unparsed": raw.decode("utf-8", "replace")}


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; write it as the visible escape."""
    return value.replace("\x00", "\\x00")
