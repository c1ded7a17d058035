"""POST /v1/trace: taint tracing (tracer.tracing), the same JSON as ``tracer trace --json``."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tracer.api.keys import POOL
from tracer.api.middleware import json_response, read_json
from tracer.errors import InputError
from tracer.risk.taint import Direction, Method
from tracer.store.errors import translate_errors
from tracer.tracing import MAX_HOPS, Start, TraceParams, run_trace

routes = web.RouteTableDef()

MAX_NODES = 50_000  # a request may not ask for more work than this
MAX_SECONDS = 30.0


class TraceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain: str = Field(max_length=40)
    address: str | None = Field(default=None, max_length=200)
    cluster: int | None = Field(default=None, ge=1)
    txid: str | None = Field(default=None, max_length=80)
    direction: Literal["forward", "backward"] = "forward"
    method: Literal["poison", "haircut", "fifo"] = "haircut"
    hops: int = Field(default=3, ge=1, le=MAX_HOPS)
    max_nodes: int = Field(default=5000, ge=1, le=MAX_NODES)
    max_seconds: float = Field(default=5.0, gt=0, le=MAX_SECONDS)
    min_amount: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _one_start(self) -> TraceRequest:
        if sum(x is not None for x in (self.address, self.cluster, self.txid)) != 1:
            raise ValueError("give exactly one of address, cluster, txid")
        return self

    def start(self) -> Start:
        if self.address is not None:
            return ("address", self.address)
        if self.cluster is not None:
            return ("cluster", str(self.cluster))
        return ("transaction", str(self.txid))


@routes.post("/v1/trace")
async def trace(request: web.Request) -> web.Response:
    try:
        body = TraceRequest.model_validate(await read_json(request))
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        raise InputError("request does not match the schema", problems=problems) from exc
    params = TraceParams(
        direction=Direction(body.direction),
        method=Method(body.method),
        hops=body.hops,
        max_nodes=body.max_nodes,
        max_seconds=body.max_seconds,
        min_amount=body.min_amount,
    )
    async with translate_errors(), request.app[POOL].acquire() as conn:
        return json_response(await run_trace(conn, body.chain, body.start(), params))
