"""Typed application and request keys: everything the handlers share lives here, nowhere global."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from tracer.api.endpoints import Endpoint
from tracer.api.limits import DatabaseState, RateLimiter
from tracer.api.principals import Principal, Principals
from tracer.api.responses import SharedJson
from tracer.config import Settings
from tracer.metrics import Metrics
from tracer.risk.screening import ScreeningOptions
from tracer.store.audit import AuditWriter

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
METRICS = web.AppKey("metrics", Metrics)
ENDPOINTS = web.AppKey("endpoints", dict[tuple[str, str], Endpoint])
PRINCIPALS = web.AppKey("principals", Principals)
AUDIT = web.AppKey("audit", AuditWriter)
LIMITER = web.AppKey("limiter", RateLimiter)
DB_STATE = web.AppKey("db_state", DatabaseState)
SHARED_JSON = web.AppKey("shared_json", SharedJson)  # blocks many answers carry unchanged, encoded once
SCREEN_OPTIONS = web.AppKey("screen_options", dict[str | None, ScreeningOptions])  # per caller tenant

# Per request: set by the guard and the handlers, read by the audit.
PRINCIPAL = web.RequestKey("principal", Principal)
BODY = web.RequestKey("body", bytes)  # read within the size and time limits
BODY_REJECTED = web.RequestKey("body_rejected", dict[str, object])  # why the body was not read
ANSWER = web.RequestKey("answer", dict[str, object])  # the answer's digest for the audit row
