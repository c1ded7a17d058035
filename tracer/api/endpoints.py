"""One table of endpoints drives routing, the role each needs, and the OpenAPI document.

A handler module declares ``ENDPOINTS = Endpoints()`` and decorates its handlers with
``@ENDPOINTS.route(...)``; ``make_app`` adds every table, and ``tracer.api.openapi`` describes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from tracer.store.keys import Role

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    role: Role | None  # None: open (health, metrics, the spec itself)
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    answers: tuple[type[BaseModel], ...] = ()  # the 200 JSON answer: one of these
    media: tuple[str, ...] = (JSON,)  # what a 200 can be
    errors: tuple[int, ...] = ()  # statuses besides the ones every guarded /v1 route can give

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass
class Endpoints:
    tag: str
    items: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        role: Role | None,
        summary: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        answer: type[BaseModel] | tuple[type[BaseModel], ...] = (),
        media: tuple[str, ...] = (JSON,),
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        answers = answer if isinstance(answer, tuple) else (answer,)

        def add(handler: Handler) -> Handler:
            self.items.append(
                Endpoint(method, path, handler, role, summary, self.tag, body, query, answers, media, errors)
            )
            return handler

        return add
