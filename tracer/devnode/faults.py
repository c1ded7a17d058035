"""Scripted misbehaviour for the replay node: failing requests and a reorg, seeded and reproducible.

``FaultPlan`` makes a share of JSON-RPC requests fail the ways real nodes and proxies fail:

- ``500``: HTTP 500 with a plain-text body (a crashed handler or a proxy error page);
- ``503``: HTTP 503 with ``Retry-After`` (Core's "Work queue depth exceeded", or a proxy shedding load);
- ``cut``: the right status and Content-Length, then the connection closes half-way through the body;
- ``drop``: the connection closes before any response;
- ``stall``: the answer comes only after ``stall_seconds`` (a client timeout should fire first).

``ReorgPlan`` serves a stale branch of ``depth`` blocks as the tip first, then, after ``after_requests``
JSON-RPC requests, switches to the real chain (so an indexer that stored the stale blocks must replace
them). The stale blocks are the real top blocks with another nonce, re-linked: new hashes, same txs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["FAULT_KINDS", "FaultPlan", "ReorgPlan"]

FAULT_KINDS = ("500", "503", "cut", "drop", "stall")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class FaultPlan:
    """Fail ``rate`` of the requests (0..1), each with one of ``kinds`` drawn uniformly."""

    rate: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    seed: int = 1
    stall_seconds: float = 30.0
    retry_after_seconds: int = 1
    counts: dict[str, int] = field(default_factory=dict)  # faults injected so far, by kind
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, not {self.rate}")
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be some of {', '.join(FAULT_KINDS)}; got {sorted(unknown)}")
        self._rng = random.Random(self.seed)

    def draw(self) -> str | None:
        """The fault for the next request, or None to answer it normally."""
        if self.rate <= 0 or self._rng.random() >= self.rate:
            return None
        kind = self._rng.choice(self.kinds)
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return kind

    async def apply(self, kind: str, request: web.Request, handler: Handler) -> web.StreamResponse:
        if kind == "500":
            return web.Response(status=500, text="500 Internal Server Error (replay node fault injection)")
        if kind == "503":
            headers = {"Retry-After": str(self.retry_after_seconds)}
            return web.Response(status=503, text="Work queue depth exceeded", headers=headers)
        if kind == "stall":
            await asyncio.sleep(self.stall_seconds)
            return await handler(request)
        if kind == "drop":
            _close(request)
            return web.Response(status=200)  # never reaches the client: the connection is gone
        answer = await handler(request)  # "cut"
        assert isinstance(answer, web.Response) and answer.body is not None
        body = bytes(answer.body)  # type: ignore[arg-type]
        cut = web.StreamResponse(status=answer.status, headers={"Content-Type": "application/json"})
        cut.content_length = len(body)
        await cut.prepare(request)
        await cut.write(body[: len(body) // 2])
        _close(request)
        return cut


def _close(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.close()


@dataclass(slots=True)
class ReorgPlan:
    """A stale branch of the top ``depth`` blocks until ``after_requests`` RPC requests, then the real one."""

    depth: int
    after_requests: int
    requests: int = 0
    done: bool = False

    def __post_init__(self) -> None:
        if self.depth < 1 or self.after_requests < 0:
            raise ValueError("reorg depth must be >= 1 and the request count >= 0")

    def tick(self) -> bool:
        """Count one request; True exactly once, when the switch to the real chain is due."""
        self.requests += 1
        if not self.done and self.requests > self.after_requests:
            self.done = True
            return True
        return False
