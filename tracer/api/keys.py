"""Typed application keys: everything the handlers share lives here, nowhere global."""

from __future__ import annotations

import asyncpg
from aiohttp import web

from tracer.config import Settings
from tracer.metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
METRICS = web.AppKey("metrics", Metrics)
