"""POST /v1/trace: taint tracing (tracer.tracing), the same JSON as ``tracer trace --json``."""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tracer.api.endpoints import Endpoints
from tracer.api.keys import POOL
from tracer.api.params import validated_body
from tracer.api.responses import json_response
from tracer.store.errors import translate_errors
from tracer.store.keys import Role
from tracer.tracing import MAX_HOPS, Start, TraceParams, run_trace

ENDPOINTS = Endpoints(tag="tracing")

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
    asset: str | None = Field(
        default=None,
        max_length=80,
        description="ethereum/tron: the token contract traced; omitted: the native coin (ETH, TRX)",
    )

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


@ENDPOINTS.route(
    "POST",
    "/v1/trace",
    role=Role.ANALYST,
    summary="Taint tracing from an address, a cluster or a transaction, forward or backward",
    body=TraceRequest,
    errors=(404,),
)
async def trace(request: web.Request) -> web.Response:
    body = await validated_body(request, TraceRequest)
    async with translate_errors(), request.app[POOL].acquire() as conn:
        return json_response(await run_trace(conn, body.chain, body.start(), TraceParams.of(body)))
