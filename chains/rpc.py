"""Async JSON-RPC client: ids, batching, retries with backoff, rate limit. Bytes go through a transport.

``JsonRpcClient(transport)`` works with any object that has ``async send(payload: bytes) -> bytes``
(``chains.transport.HttpTransport`` in production, a replay object in tests).

Batches (after ethereum-etl's ``BatchWorkExecutor``):

- the client assigns the ids; responses are matched by ``id``, never by position;
- a per-item error that is not retriable raises ``RpcError`` (with a note naming the call) at once;
- a retriable failure of a batch (timeout, retriable RPC error) halves the failed part and sends each half
  on its own, recursively; the batch size for that method shrinks, and doubles back after a quiet period;
- a single call that keeps failing retriably is retried with exponential backoff and jitter, then raised;
- ``NodeUnavailable`` (the node is down, not overloaded by our batch) retries the same batch without halving.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

import orjson

from chains.errors import NodeError, NodeProtocolError, NodeUnavailable, RpcError

if TYPE_CHECKING:
    from chains.transport import Transport

log = logging.getLogger(__name__)

Params: TypeAlias = Sequence[object]  # positional JSON-RPC params
Call: TypeAlias = tuple[str, Params]
Clock: TypeAlias = Callable[[], float]
Sleep: TypeAlias = Callable[[float], Awaitable[None]]

DEFAULT_MAX_BATCH: Final = 100  # calls per HTTP request; ethereum-etl's default batch size
DEFAULT_RETRIES: Final = 5  # further attempts after the first, per single call or unsplittable batch
DEFAULT_BACKOFF_S: Final = 0.25  # seconds; first retry waits 0.125-0.25 s, doubling each attempt
DEFAULT_BACKOFF_MAX_S: Final = 10.0  # seconds; cap on one wait
DEFAULT_QUIET_PERIOD_S: Final = 30.0  # seconds without a retriable failure before a shrunk batch size doubles

# JSON-RPC error codes that mean "try again later", not "your request is wrong".
RETRIABLE_RPC_CODES: Final = frozenset(
    {
        -28,  # RPC_IN_WARMUP: Bitcoin Core is still loading its block index (src/rpc/protocol.h)
        -32005,  # limit exceeded / rate limited (EIP-1474; geth, Infura, Alchemy)
        429,  # some HTTP gateways report "too many requests" as the JSON-RPC code
    }
)


def encode(payload: object) -> bytes:
    """Compact JSON; orjson (several times faster on batches of thousands of calls) unless the payload holds
    what it refuses (integers beyond 64 bits), which ``json`` writes."""
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        return json.dumps(payload, separators=(",", ":")).encode()


def decode_string_results(body: bytes) -> Any:
    """``decode`` for a batch whose results are long plain strings (``getblock <hash> 0``: a block's hex):
    when every response is exactly ``{"result":"...","error":null,"id":N}`` (Bitcoin Core's and the replay
    node's layout) and no string holds an escape or a control character, each result is a ``memoryview``
    of the string's bytes in the body: nothing scanned by the JSON decoder, copied or decoded to ``str``
    (~1.2 s of the indexer's main process per 1M transactions). The caller checks the characters (e.g.
    ``binascii.unhexlify``). Anything else (an error object, other spacing, a cut-short body) goes
    through ``decode``: the same answer, or the same error."""
    fast = _string_results(body)
    return fast if fast is not None else decode(body)


_RESULT_OPEN = b'{"result":"'
_RESULT_CLOSE = b'","error":null,"id":'
# an escape, and control characters: invalid in a JSON string, and hex decoders may skip whitespace
_NOT_PLAIN = (b"\\", b"\t", b"\n", b"\r", b"\x0b", b"\x0c")


def _string_results(body: bytes) -> list[dict[str, Any]] | None:
    end = len(body)
    while end and body[end - 1 : end].isspace():  # not rstrip(): no copy of the body
        end -= 1
    if not body.startswith(b"[") or end < 2 or body[end - 1] != ord("]"):
        return None
    view, replies, at = memoryview(body), [], 1
    while at < end - 1:
        reply, at = _plain_reply(body, at)
        if reply is None:
            return None
        start, close, rid = reply
        replies.append({"result": view[start:close], "error": None, "id": rid})
        if body[at : at + 1] == b"," and at + 1 < end - 1:
            at += 1
        elif at != end - 1:
            return None
    return replies if replies else None


def _plain_reply(body: bytes, at: int) -> tuple[tuple[int, int, int] | None, int]:
    """The response object at ``at``: (its string's start and end, its id) or None, and where it ends."""
    if not body.startswith(_RESULT_OPEN, at):
        return None, at
    start = at + len(_RESULT_OPEN)
    close = body.find(b'"', start)  # memchr-speed finds: a validating scan costs as much as the decoder
    if close < 0 or not body.startswith(_RESULT_CLOSE, close):
        return None, at
    if any(body.find(c, start, close) >= 0 for c in _NOT_PLAIN):
        return None, at
    id_start = close + len(_RESULT_CLOSE)
    id_end = body.find(b"}", id_start)
    digits = body[id_start:id_end]
    if id_end < 0 or not digits.isdigit():
        return None, at
    return (start, close, int(digits)), id_end + 1


def decode(body: bytes) -> Any:
    """JSON with floats as ``Decimal`` (BTC amounts like 50.00000000 must not pass through binary floats)."""
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        snippet = body[:200].decode("utf-8", "replace")
        raise NodeProtocolError(f"node answered with something that is not JSON: {snippet!r}") from exc


def fast_decode(body: bytes) -> Any:
    """orjson, for protocols whose numbers are all integers or hex strings (Ethereum JSON-RPC): several
    times faster than ``json`` on large receipts batches."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        snippet = body[:200].decode("utf-8", "replace")
        raise NodeProtocolError(f"node answered with something that is not JSON: {snippet!r}") from exc


def result_of(reply: object, retriable_codes: frozenset[int] = RETRIABLE_RPC_CODES) -> Any:
    """The ``result`` of one JSON-RPC response object, or the ``RpcError`` its ``error`` describes."""
    if not isinstance(reply, dict):
        raise NodeProtocolError(f"JSON-RPC response is not an object: {reply!r:.200}")
    error = reply.get("error")
    if error is None:
        return reply.get("result")
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        raise NodeProtocolError(f"malformed JSON-RPC error: {error!r:.200}")
    code: int = error["code"]
    raise RpcError(code, str(error.get("message", "")), retriable=code in retriable_codes)


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Seconds to wait before retry ``attempt + 1``: exponential, capped, with "equal jitter" (half fixed,
    half random) so a retry never fires at once and many clients do not retry in lockstep."""
    ceiling = min(cap, base * 2.0**attempt)
    return ceiling / 2 + rng() * ceiling / 2


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Retrying:
    """Retries of one request to a REST-like API (no batches to halve): ``retries`` further attempts after
    the first, for retriable ``NodeError``s only, waiting ``backoff_delay`` between them."""

    retries: int = DEFAULT_RETRIES
    backoff: float = DEFAULT_BACKOFF_S
    sleep: Sleep = asyncio.sleep
    rng: Callable[[], float] = random.random

    async def run(self, what: str, attempt_once: Callable[[], Awaitable[T]]) -> T:
        for attempt in itertools.count():
            try:
                return await attempt_once()
            except NodeError as exc:
                if not exc.retriable or attempt >= self.retries:
                    raise
                delay = backoff_delay(attempt, self.backoff, DEFAULT_BACKOFF_MAX_S, self.rng)
                log.warning("%s failed (%s); retry %d in %.3f s", what, exc, attempt + 1, delay)
                await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


class TokenBucket:
    """Async token bucket: ``rate`` requests per second on average, bursts of up to ``burst``. FIFO fair."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._rate = rate
        self._burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self._burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self._rate)


@dataclass(slots=True)
class _AdaptiveSize:
    """Batch size for one method: halves on failure, doubles back after ``quiet`` seconds without one.

    What it remembers is the node's limit as learned from failures (0: none), never a caller's ``limit``:
    a batch asked for with a smaller one (a few large blocks' receipts) must not keep the next, larger
    batches small."""

    quiet: float
    clock: Clock
    size: int = 0
    changed_at: float = -math.inf

    def current(self, limit: int) -> int:
        if self.size and self.size < limit and self.clock() - self.changed_at >= self.quiet:
            self.size *= 2
            self.changed_at = self.clock()
        return min(limit, self.size) if self.size else limit

    def shrink(self, to: int) -> None:
        self.size = max(1, min(self.size, to) if self.size else to)
        self.changed_at = self.clock()


@dataclass(slots=True)
class _Pending:
    id: int
    method: str
    params: Params
    result: Any = None
    request: dict[str, object] = field(default_factory=dict)


class JsonRpcClient:
    """JSON-RPC 2.0 client over a one-method async transport. See the module docstring for batch behaviour.

    ``rate_limit`` is in requests (HTTP round trips) per second. ``clock``, ``sleep`` and ``rng`` are
    injectable so tests run retries and rate limits without waiting. ``jsonrpc="1.0"`` speaks Bitcoin
    Core's legacy dialect (errors arrive with HTTP 500); both are handled. ``decoder`` replaces the
    default JSON decoding (floats as ``Decimal``) where a protocol has no floats: ``fast_decode``.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF_S,
        backoff_max: float = DEFAULT_BACKOFF_MAX_S,
        rate_limit: float | None = None,
        quiet_period: float = DEFAULT_QUIET_PERIOD_S,
        retriable_codes: frozenset[int] = RETRIABLE_RPC_CODES,
        jsonrpc: str = "2.0",
        decoder: Callable[[bytes], Any] | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_batch < 1 or retries < 0:
            raise ValueError("max_batch must be >= 1 and retries >= 0")
        self._transport = transport
        self._max_batch = max_batch
        self._retries = retries
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._quiet = quiet_period
        self._retriable_codes = retriable_codes
        self._jsonrpc = jsonrpc
        self._decode = decoder or decode
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._bucket = TokenBucket(rate_limit, clock=clock, sleep=sleep) if rate_limit else None
        self._ids = itertools.count(1)
        self._sizes: dict[str, _AdaptiveSize] = {}
        self.requests_sent = 0  # HTTP round trips, for metrics and tests

    def batch_size(self, method: str) -> int:
        """The batch size the next ``batch`` of ``method`` calls would start with."""
        return self._sizer(method).current(self._max_batch)

    async def call(
        self, method: str, params: Params = (), *, decoder: Callable[[bytes], Any] | None = None
    ) -> Any:
        """One call, sent as a single JSON-RPC object; retriable failures are retried with backoff.
        ``decoder`` replaces the client's for this answer (one response object)."""
        pending = self._pending(method, params)
        for attempt in itertools.count():
            try:
                reply = await self._exchange(pending.request, decoder)
                if isinstance(reply, dict) and reply.get("id") not in (pending.id, None):
                    raise NodeProtocolError(f"answer to id {pending.id} carries id {reply.get('id')!r}")
                return result_of(reply, self._retriable_codes)
            except NodeError as exc:
                self._note_call(exc, pending)
                if not exc.retriable or attempt >= self._retries:
                    raise
                await self._wait(attempt, exc, pending.method)
        raise AssertionError("unreachable")  # pragma: no cover

    async def batch(
        self,
        calls: Sequence[Call],
        *,
        max_batch: int | None = None,
        decoder: Callable[[bytes], Any] | None = None,
    ) -> list[Any]:
        """Results in the order of ``calls``, sent in batches of at most ``max_batch`` (default: client's).
        ``decoder`` replaces the client's for these answers (typed decoding of one result type)."""
        pending = [self._pending(method, params) for method, params in calls]
        methods = {p.method for p in pending}
        sizer = self._sizer(methods.pop() if len(methods) == 1 else "*")
        limit = max_batch or self._max_batch
        queue = pending
        while queue:
            size = sizer.current(limit)
            chunk, queue = queue[:size], queue[size:]
            await self._run(chunk, sizer, attempt=0, decode=decoder or self._decode)
        return [p.result for p in pending]

    async def _run(
        self, chunk: list[_Pending], sizer: _AdaptiveSize, attempt: int, decode: Callable[[bytes], Any]
    ) -> None:
        failed, error = await self._attempt(chunk, decode)
        if error is None:
            return
        if len(failed) > 1 and not isinstance(error, NodeUnavailable):
            half = len(failed) // 2
            sizer.shrink(half)
            log.info(
                "rpc batch of %d failed (%s); retrying as %d + %d",
                len(failed),
                error,
                half,
                len(failed) - half,
            )
            await self._run(failed[:half], sizer, attempt, decode)
            await self._run(failed[half:], sizer, attempt, decode)
            return
        if attempt >= self._retries:
            raise error
        await self._wait(attempt, error, failed[0].method)
        await self._run(failed, sizer, attempt + 1, decode)

    async def _attempt(
        self, chunk: list[_Pending], decode: Callable[[bytes], Any]
    ) -> tuple[list[_Pending], NodeError | None]:
        """Sends ``chunk`` once; fills the results it got; returns the calls that failed retriably."""
        try:
            replies = await self._exchange([p.request for p in chunk], decode)
            if isinstance(replies, dict):  # the node rejected the whole batch with one error object
                result_of(replies, self._retriable_codes)
                raise NodeProtocolError(f"batch answered with a single non-error object: {replies!r:.200}")
        except NodeError as exc:
            if not exc.retriable:
                raise
            return chunk, exc
        by_id = _index_by_id(replies)
        failed: list[_Pending] = []
        first_error: NodeError | None = None
        for p in chunk:
            if p.id not in by_id:
                raise NodeProtocolError(f"batch answer has no response with id {p.id} ({p.method})")
            try:
                p.result = result_of(by_id[p.id], self._retriable_codes)
            except RpcError as exc:
                self._note_call(exc, p)
                if not exc.retriable:
                    raise
                failed.append(p)
                first_error = first_error or exc
        return failed, first_error

    async def _exchange(self, payload: object, decode: Callable[[bytes], Any] | None = None) -> Any:
        if self._bucket is not None:
            await self._bucket.acquire()
        self.requests_sent += 1
        return (decode or self._decode)(await self._transport.send(encode(payload)))

    async def _wait(self, attempt: int, error: NodeError, method: str) -> None:
        delay = backoff_delay(attempt, self._backoff, self._backoff_max, self._rng)
        log.warning(
            "rpc %s failed (%s); retry %d/%d in %.3f s", method, error, attempt + 1, self._retries, delay
        )
        await self._sleep(delay)

    def _pending(self, method: str, params: Params) -> _Pending:
        request_id = next(self._ids)
        request = {"jsonrpc": self._jsonrpc, "id": request_id, "method": method, "params": list(params)}
        return _Pending(request_id, method, params, request=request)

    def _sizer(self, key: str) -> _AdaptiveSize:
        if key not in self._sizes:
            self._sizes[key] = _AdaptiveSize(self._quiet, self._clock)
        return self._sizes[key]

    @staticmethod
    def _note_call(exc: NodeError, pending: _Pending) -> None:
        note = f"in {pending.method}{tuple(pending.params)!r:.200}"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


def _index_by_id(replies: object) -> dict[object, object]:
    if not isinstance(replies, list):
        raise NodeProtocolError(f"batch answer is not a JSON array: {replies!r:.200}")
    by_id: dict[object, object] = {}
    for reply in replies:
        if not isinstance(reply, dict) or "id" not in reply:
            raise NodeProtocolError(f"batch answer holds an element without id: {reply!r:.200}")
        by_id[reply["id"]] = reply
    return by_id
