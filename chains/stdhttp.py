"""JSON-RPC over HTTP with the standard library's ``http.client``, each exchange in a thread of its own pool.

The same ``Transport`` as ``chains.transport.HttpTransport`` (same error mapping, same basic auth from the
URL), for a process that only talks JSON-RPC to one node: ``tracer index evm``. Importing aiohttp costs
more CPU than the rest of that command's start-up (0.18 s of ~0.4 s, measured on the bench machine); the
standard library's client costs ~0.04 s, and reads a whole response in a few ``recv_into`` calls without
holding the GIL, so the parse thread and the writer go on meanwhile.

Connections are kept alive and reused, one per exchange in flight. A reused connection that the node closed
while it was idle fails before any answer: it is replaced and the request sent once more at once. The
timeout bounds each socket operation (connecting, each read), where aiohttp's bounds the whole exchange.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import Self

from chains.errors import NodeUnavailable, RpcTimeout
from chains.transport import DEFAULT_TIMEOUT_S, basic_auth_header, rpc_answer

MAX_IN_FLIGHT = 8  # exchanges at once (threads and connections); the indexer has ~4 batches' requests out
# What a reused connection raises when the node dropped it while idle: a fresh connection answers.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class StdlibHttpTransport:
    """``StdlibHttpTransport("http://user:pass@127.0.0.1:8545")``: ``await send(payload) -> body``."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Content-Type": "application/json"}
        if parts.username:
            user, password = urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or "")
            self._headers["Authorization"] = basic_auth_header(user, password)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        self._name = f"{type(self).__name__}('{parts.scheme}://{netloc}{self._path}')"  # no credentials
        self._timeout = timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="rpc-http")

    def __repr__(self) -> str:
        return self._name

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    async def send(self, payload: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        status, content_type, body = await loop.run_in_executor(self._pool, self._exchange, payload)
        return rpc_answer(self._name, status, content_type, body)

    def _exchange(self, payload: bytes) -> tuple[int, str, bytes]:
        """One POST (runs in a pool thread) -> (status, content type, body); errors mapped here only."""
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        try:
            if conn is not None:
                try:
                    return self._post(conn, payload)
                except _STALE:
                    conn.close()
            conn = self._connect()
            return self._post(conn, payload)
        except TimeoutError as exc:
            raise RpcTimeout(f"{self._name}: no answer within {self._timeout} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise NodeUnavailable(f"{self._name}: {type(exc).__name__}: {exc}") from exc

    def _post(self, conn: http.client.HTTPConnection, payload: bytes) -> tuple[int, str, bytes]:
        try:
            conn.request("POST", self._path, body=payload, headers=self._headers)
            response = conn.getresponse()
            body = response.read()
        except BaseException:
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            with self._lock:
                self._idle.append(conn)
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        return response.status, content_type, body

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
