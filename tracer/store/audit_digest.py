"""An audit row's digest computed in Python, byte for byte as ``audit_digest`` (migration 009) computes it
in PostgreSQL, so the writer can chain a whole batch itself instead of a trigger per row.

There is one canonical encoding: the text PostgreSQL gives ``jsonb_build_object(...)::text`` for the row,
and ``tracer audit verify`` keeps recomputing it in the database. This module renders the same text:

- objects: keys ordered by UTF-8 length, then bytewise (jsonb's order), ``{"k": v, "k2": v2}``;
- strings: escaped as PostgreSQL's ``escape_json`` does (``\\" \\\\ \\b \\f \\n \\r \\t``, other control
  characters as lowercase ``\\u00xx``, everything else as is), which is exactly orjson's escaping;
- numbers: as ``numeric`` prints the text the row was sent with (our jsonb codec sends orjson's text):
  positional notation, no exponent, and no negative zero; floats orjson cannot send (NaN, infinities) are
  sent, and so rendered, as null;
- ``at`` as microseconds since the epoch; ``duration_ms`` (a ``real`` column) as ``round(x::numeric, 3)``:
  the float4 value printed with 6 significant digits, then rounded half away from zero.

tests/api/test_audit_digest.py checks it against the database's ``audit_digest`` on generated rows, and the
strings on every code point. It renders a screen's row in ~12 us (a trigger per row cost the database more).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import orjson

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MILLI = Decimal("0.001")
_KEY_ORDERS: dict[tuple[str, ...], list[tuple[str, str]]] = {}  # an object's keys -> in jsonb order, rendered
_KEY_ORDERS_MAX = 1024  # distinct key sets remembered (requests' bodies could bring any number)
_ROW_KEYS = {"seq", "id", "at", "key_id", "tenant", "client", "method", "path", "query", "status"}
_ROW_KEYS |= {"duration_ms", "answer"}
_FLOAT4 = struct.Struct("f")


def row_digest(prev: bytes, fields: Mapping[str, object]) -> bytes:
    """SHA-256 over the previous row's hash and the row's canonical text. ``fields``: seq, id, at, key_id,
    tenant, client, method, path, query, status, duration_ms, answer, as the row is inserted."""
    return hashlib.sha256(prev + canonical_row(fields).encode()).digest()


def canonical_row(fields: Mapping[str, object]) -> str:
    at = fields["at"]
    duration = fields["duration_ms"]
    assert isinstance(at, datetime) and isinstance(duration, float | int)
    if fields.keys() != _ROW_KEYS:
        content = dict(fields)
        content["at"] = (at - _EPOCH) // _MICROSECOND
        content["duration_ms"] = _Number(_real_rounded(float(duration)))
        return jsonb_text(content)
    # The row's own keys, in jsonb's order, written out: what _object_text renders, without sorting
    # or dispatching on them (about a third of a row's rendering).
    return (
        f'{{"at": {(at - _EPOCH) // _MICROSECOND}, "id": {jsonb_text(fields["id"])}, '
        f'"seq": {jsonb_text(fields["seq"])}, "path": {jsonb_text(fields["path"])}, '
        f'"query": {jsonb_text(fields["query"])}, "answer": {jsonb_text(fields["answer"])}, '
        f'"client": {jsonb_text(fields["client"])}, "key_id": {jsonb_text(fields["key_id"])}, '
        f'"method": {jsonb_text(fields["method"])}, "status": {jsonb_text(fields["status"])}, '
        f'"tenant": {jsonb_text(fields["tenant"])}, "duration_ms": {_real_rounded(float(duration))}}}'
    )


def jsonb_text(value: object) -> str:
    """``value`` (as our jsonb codec would send it) the way PostgreSQL prints it back as jsonb text."""
    kind = type(value)
    if kind is str:
        return orjson.dumps(value).decode()  # orjson escapes exactly as escape_json (tested on every char)
    if kind is dict:
        return _object_text(value)  # type: ignore[arg-type]
    if value is None or kind is bool:
        return "null" if value is None else ("true" if value else "false")
    if kind is int:
        return str(value)
    if kind is float:
        return _numeric_text(orjson.dumps(value).decode())
    if isinstance(value, _Number):
        return value.text
    if kind is list or kind is tuple:
        return "[" + ", ".join([jsonb_text(v) for v in value]) + "]"  # type: ignore[attr-defined]
    return _other_text(value)


def _object_text(value: dict[str, object]) -> str:
    keys = tuple(value)
    order = _KEY_ORDERS.get(keys)
    if order is None:
        if len(_KEY_ORDERS) >= _KEY_ORDERS_MAX:
            _KEY_ORDERS.clear()
        order = _KEY_ORDERS[keys] = [(k, jsonb_text(k) + ": ") for k in sorted(keys, key=_jsonb_key_order)]
    return "{" + ", ".join([key + jsonb_text(value[k]) for k, key in order]) + "}"


def _other_text(value: object) -> str:
    """Subclasses and other mappings and sequences, rendered as what they are."""
    if isinstance(value, str):
        return jsonb_text(str(value))
    if isinstance(value, bool):
        return jsonb_text(bool(value))
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return jsonb_text(float(value))
    if isinstance(value, Mapping):
        return _object_text({str(k): v for k, v in value.items()})
    if isinstance(value, list | tuple):
        return jsonb_text(list(value))
    raise TypeError(f"no jsonb rendering for {type(value).__name__}")


class _Number:
    """A number already in numeric's printed form."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _jsonb_key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _numeric_text(sent: str) -> str:
    """numeric_out(numeric_in(sent)): orjson's float text (maybe 'null') in positional notation."""
    if sent == "null":
        return sent
    text = format(Decimal(sent), "f")
    return text[1:] if text.startswith("-") and not Decimal(text) else text  # numeric has no -0


def _real_rounded(value: float) -> str:
    """round(x::numeric, 3) for x stored in a ``real`` column: float4, printed with 6 digits, rounded."""
    single = _FLOAT4.unpack(_FLOAT4.pack(value))[0]
    printed = f"{single:.6g}"
    whole, point, decimals = printed.partition(".")
    if len(decimals) <= 3 and whole.isdigit() and (point or whole == printed):
        return f"{whole}.{decimals:0<3}"  # nothing to round (durations in microseconds): padded to 3 places
    text = format(Decimal(printed).quantize(_MILLI, rounding=ROUND_HALF_UP), "f")
    return text[1:] if text.startswith("-") and not Decimal(text) else text
