"""JSON answers: one shape for every success and every error."""

from __future__ import annotations

import orjson
from aiohttp import web

from tracer.jsonwrite import dumps

_SHARED_MAX = 64  # distinct shared objects remembered (the coverage cache holds one per pooled connection)


def error_response(status: int, code: str, message: str, **details: object) -> web.Response:
    body: dict[str, object] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return json_response({"error": body}, status=status)


def json_response(data: object, status: int = 200) -> web.Response:
    return web.Response(body=encode(data), status=status, content_type="application/json")


def encode(data: object) -> bytes:
    try:
        return dumps(data)
    except orjson.JSONEncodeError:  # a dict keyed by non-strings (e.g. ids): rendered by the slower option
        return dumps(data, orjson.OPT_NON_STR_KEYS)


class SharedJson:
    """The JSON of an object many answers carry unchanged (a screen's coverage block, cached for a moment
    and never mutated), encoded once per object instead of once per answer."""

    def __init__(self) -> None:
        self._encoded: dict[int, tuple[object, orjson.Fragment]] = {}  # id -> (the object, kept alive; JSON)

    def fragment(self, value: object) -> orjson.Fragment:
        hit = self._encoded.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        if len(self._encoded) >= _SHARED_MAX:
            self._encoded.clear()
        fragment = orjson.Fragment(encode(value))
        self._encoded[id(value)] = (value, fragment)
        return fragment
