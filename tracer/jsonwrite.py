"""JSON as orjson writes it, with integers beyond 64 bits written exactly.

Amounts are integers in base units, and uint256 ones (wei: 2^64 wei is only 18.4 ether; 18-decimal tokens)
outgrow what orjson writes, which is 64-bit integers. Only when an answer holds such an integer is it walked:
each one becomes a marked string, and the marks are replaced by the digits in the written JSON. The mark
carries a fresh random nonce, so no string of the answer can pass for one. ``orjson.Fragment``s (JSON
written already) pass through unchanged.
"""

from __future__ import annotations

import dataclasses
import re
import secrets

import orjson

_INT64_MIN, _UINT64_MAX = -(2**63), 2**64 - 1


def dumps(value: object, option: int = 0) -> bytes:
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    nonce = secrets.token_hex(8)
    written = orjson.dumps(_marked(value, f"\x00{nonce}:"), option=option)
    # orjson writes the mark's NUL as \u0000: a string can never hold a raw NUL in JSON.
    mark = re.escape(f'"\\u0000{nonce}:'.encode())
    return re.sub(mark + rb'(-?\d+)"', rb"\1", written)


def _marked(value: object, mark: str) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return f"{mark}{value}" if not _INT64_MIN <= value <= _UINT64_MAX else value
    if isinstance(value, dict):
        return {key: _marked(item, mark) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_marked(item, mark) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _marked(getattr(value, f.name), mark) for f in dataclasses.fields(value)}
    return value
