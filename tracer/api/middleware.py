"""Middlewares: errors to JSON (one place), metrics, and the audit log of every API query."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from tracer.api.keys import METRICS, POOL
from tracer.errors import MalformedInput, TracerError

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_AUDITED_PREFIX = "/v1/"
_MAX_AUDITED_BODY = 64 * 1024  # bytes of a request body kept in the audit log
_NUL = b"\x00"
_JSON_NUL = b"\\u0000"  # the JSON escape for NUL, six bytes


def error_response(status: int, code: str, message: str, **details: object) -> web.Response:
    body: dict[str, object] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return json_response({"error": body}, status=status)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
    )


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TracerError as exc:
        if exc.status >= 500:
            log.error("request failed", extra={"path": request.path, "code": exc.code, "error": exc.message})
        return json_response(exc.to_json(), status=exc.status)
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


@web.middleware
async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Metrics for every request; an audit row for every /v1 query: who asked what, when, and the answer."""
    started = time.perf_counter()
    response = await handler(request)
    elapsed = time.perf_counter() - started
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    metrics = request.app[METRICS]
    metrics.requests.labels(route, request.method, str(response.status)).inc()
    metrics.request_seconds.labels(route).observe(elapsed)
    if request.path.startswith(_AUDITED_PREFIX):
        try:
            await _audit(request, response.status, elapsed)
        except Exception:
            # An unaudited answer must not leave: compliance needs the record more than the caller the reply.
            log.exception("audit write failed", extra={"path": request.path})
            return error_response(503, "audit_unavailable", "the query could not be audited; try again")
    return response


async def _audit(request: web.Request, status: int, elapsed: float) -> None:
    query: dict[str, object] = {"params": {_text(k): _text(v) for k, v in request.query.items()}}
    if request.can_read_body or request.body_exists:
        raw = await request.read()  # already read and cached by the handler
        query["body"] = _body_for_audit(raw)
    await request.app[POOL].execute(
        "INSERT INTO audit_log (client, method, path, query, status, duration_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        request.remote,
        request.method,
        _text(request.path),
        query,
        status,
        elapsed * 1000,
    )


def _body_for_audit(raw: bytes) -> object:
    """The body as sent, in a form PostgreSQL can store: parsed JSON when it is JSON, else text or base64."""
    if len(raw) > _MAX_AUDITED_BODY:
        head = base64.b64encode(raw[:_MAX_AUDITED_BODY]).decode()
        return {"truncated": True, "bytes": len(raw), "head_base64": head}
    if _NUL in raw or _JSON_NUL in raw:  # neither text nor jsonb can hold NUL: keep the exact bytes
        return {"base64": base64.b64encode(raw).decode()}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"unparsed": raw.decode("utf-8", "replace")}


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; write it as the visible escape."""
    return value.replace("\x00", "\\x00")


async def read_json(request: web.Request) -> object:
    try:
        return orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise MalformedInput(f"request body is not valid JSON: {exc}") from exc
