"""The I/O edge of every node client: bytes in, bytes out, and the one place where errors are mapped.

A JSON-RPC ``Transport`` has one method, ``send(payload: bytes) -> bytes``. It is bytes, not JSON, on purpose:
the sans-IO core in ``chains.rpc`` owns encoding, ids and decoding (floats as ``Decimal``: Bitcoin amounts),
so a transport stays dumb. Production uses ``HttpTransport``; tests pass any object with an async ``send``
(``ReplayTransport`` over recorded responses, a fake that shuffles or fails) — no monkeypatching.
``RestTransport`` is the same idea for REST APIs such as Esplora: ``get(path) -> bytes``; ``PostTransport``
for JSON-over-POST APIs such as TRON's HTTP API: ``post(path, payload) -> bytes``.

Error mapping happens here and only here, with ``raise ... from``:

- connection refused / reset / DNS / broken payload → ``NodeUnavailable`` (retriable)
- no answer within the timeout                       → ``RpcTimeout`` (retriable)
- HTTP 401 / 403                                     → ``NodeAuthError`` (not retriable: fix the credentials)
- HTTP 429 and 5xx without a JSON body               → ``NodeUnavailable`` (retriable: busy node or proxy)
- a JSON body with HTTP 200/400/404/500              → returned as is: Bitcoin Core answers RPC errors with
  HTTP 500 (404 for an unknown method, 400 for an invalid request) and a JSON-RPC error body
- other HTTP statuses (RPC) / HTTP 4xx (REST)        → ``NodeProtocolError`` / ``RpcError(status)``
"""

from __future__ import annotations

import base64
import json
import logging
import random
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from chains.errors import NodeAuthError, NodeError, NodeProtocolError, NodeUnavailable, RpcError, RpcTimeout

if TYPE_CHECKING:  # aiohttp is imported where a session is made: importing it is most of a start-up
    import aiohttp
    from yarl import URL  # aiohttp's, imported with it (chains.stdhttp's users need neither)

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 60.0  # seconds per HTTP request; a batch of big blocks from a busy node can take a while
# Statuses with which Bitcoin Core sends a JSON-RPC error body (src/httprpc.cpp: JSONErrorReply).
_JSON_ERROR_STATUSES = frozenset({400, 404, 500})
_AUTH_STATUSES = frozenset({401, 403})
_BODY_SNIPPET_CHARS = 200


def basic_auth_header(user: str, password: str) -> str:
    """``Authorization`` value for HTTP basic auth (RFC 7617); aiohttp 3.14 deprecates ``BasicAuth``."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Transport(Protocol):
    """Sends one JSON-RPC request body (object or batch array) and returns the response body."""

    async def send(self, payload: bytes) -> bytes: ...


class RestTransport(Protocol):
    """GETs ``path`` (relative to a base URL) and returns the body; HTTP 4xx raise ``RpcError(status)``."""

    async def get(self, path: str) -> bytes: ...


class PostTransport(Protocol):
    """POSTs JSON ``payload`` to ``path`` (relative to a base URL), returns the body (errors as ``get``)."""

    async def post(self, path: str, payload: bytes) -> bytes: ...


class _HttpBase:
    """Owns (or borrows) one aiohttp session; maps aiohttp and OS errors at a single boundary."""

    def __init__(
        self, url: str, *, session: aiohttp.ClientSession | None = None, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        from yarl import URL

        parsed = URL(url)
        self._auth_header = basic_auth_header(parsed.user, parsed.password or "") if parsed.user else None
        self._url = parsed.with_user(None)  # credentials travel in the Authorization header, never in logs
        self._session = session
        self._owns_session = session is None
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self._url)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Closes the session if this transport created it; a borrowed session is the lender's to close."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
        return self._session

    async def _request(self, method: str, url: URL, data: bytes | None) -> tuple[int, str, bytes]:
        """One HTTP exchange → (status, content type, body). The only place aiohttp errors are caught."""
        import aiohttp

        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self._auth_header is not None:
            headers["Authorization"] = self._auth_header
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with self._client().request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as resp:
                return resp.status, resp.content_type, await resp.read()
        except TimeoutError as exc:  # also aiohttp's ServerTimeoutError / ConnectionTimeoutError
            raise RpcTimeout(f"{self!r}: no answer within {self._timeout} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise NodeUnavailable(f"{self!r}: {type(exc).__name__}: {exc}") from exc

    def _status_error(self, status: int, body: bytes) -> NodeError:
        return status_error(repr(self), status, body)


def status_error(who: str, status: int, body: bytes) -> NodeError:
    """The error an HTTP status other than an answer's means (see the module docstring)."""
    snippet = body[:_BODY_SNIPPET_CHARS].decode("utf-8", "replace").strip()
    if status in _AUTH_STATUSES:
        return NodeAuthError(
            f"{who} rejected the credentials (HTTP {status}); check user and password in the node URL "
            "(http://user:password@host:port) against the node's rpcauth / rpcuser settings"
        )
    if status == 429 or status >= 500:
        return NodeUnavailable(f"{who}: HTTP {status} {snippet}")
    return NodeProtocolError(f"{who}: unexpected HTTP {status} {snippet}")


def rpc_answer(who: str, status: int, content_type: str, body: bytes) -> bytes:
    """A JSON-RPC response body, or the error its HTTP status means."""
    if status == 200 or (status in _JSON_ERROR_STATUSES and content_type == "application/json"):
        return body
    raise status_error(who, status, body)


class HttpTransport(_HttpBase):
    """JSON-RPC over HTTP POST, e.g. ``HttpTransport("http://user:pass@127.0.0.1:8332")``.

    Credentials come from the URL's userinfo and are sent as HTTP basic auth. Pass ``session`` to share a
    connection pool; otherwise the transport makes one and ``close()`` (or ``async with``) releases it.
    """

    async def send(self, payload: bytes) -> bytes:
        return rpc_answer(repr(self), *await self._request("POST", self._url, payload))


class HttpRestTransport(_HttpBase):
    """REST transport: ``HttpRestTransport("https://blockstream.info/api").get("blocks/tip/height")``
    (Esplora), ``.post("wallet/getblockbynum", b'{"num":1}')`` (TRON's HTTP API)."""

    async def get(self, path: str) -> bytes:
        return self._answer(f"GET {path}", *await self._request("GET", self._url / path, None))

    async def post(self, path: str, payload: bytes) -> bytes:
        return self._answer(f"POST {path}", *await self._request("POST", self._url / path, payload))

    def _answer(self, what: str, status: int, _content_type: str, body: bytes) -> bytes:
        if status == 200:
            return body
        if 400 <= status < 500 and status not in _AUTH_STATUSES and status != 429:
            message = body[:_BODY_SNIPPET_CHARS].decode("utf-8", "replace").strip()
            raise RpcError(status, f"{what}: {message}")
        raise self._status_error(status, body)


class ReplayTransport:
    """Answers JSON-RPC from recorded results, for unit tests (the ethereum-etl / bitcoin-etl layout).

    A call ``method(p1, p2)`` is answered from ``rpc_response_<method>_<p1>_<p2>.json`` (params by
    ``str``: ``rpc_response_getblock_<hash>_2.json``, ``rpc_response_getblockcount.json``), the bare
    ``result``, spliced in byte for byte. The first directory holding the file wins; a missing file raises
    ``FileNotFoundError`` naming the file to record. Batch answers come back shuffled (seeded), so code that
    matches by position fails loudly.
    """

    def __init__(self, *directories: str | Path, shuffle_seed: int | None = 0) -> None:
        self._directories = [Path(d) for d in directories]
        self._rng = random.Random(shuffle_seed) if shuffle_seed is not None else None
        self.requests: list[object] = []  # every decoded request body, for assertions

    async def send(self, payload: bytes) -> bytes:
        request = json.loads(payload)
        self.requests.append(request)
        if not isinstance(request, list):
            return self._answer(request).encode()
        answers = [self._answer(item) for item in request]
        if self._rng is not None:
            self._rng.shuffle(answers)
        return ("[" + ",".join(answers) + "]").encode()

    def _answer(self, request: dict[str, Any]) -> str:
        name = "_".join(["rpc_response", request["method"], *map(str, request.get("params", []))]) + ".json"
        for directory in self._directories:
            if (directory / name).exists():
                result = (directory / name).read_text().strip()
                return f'{{"jsonrpc":"2.0","id":{json.dumps(request.get("id"))},"result":{result}}}'
        raise FileNotFoundError(
            f"no recorded answer: record {name} into one of {list(map(str, self._directories))}"
        )
