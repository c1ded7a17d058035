"""TRON addresses: base58check of 0x41 followed by the 20-byte account id (starts with "T").

TRON's HTTP API writes addresses as hex with the 41 prefix (``41a614f8...``), its Ethereum-compatible
JSON-RPC and its event logs as 20 bytes (``0xa614f8...``); both map to one base58check form here.
"""

from __future__ import annotations

import functools

from chains.bitcoin.address import b58check_decode, b58check_encode
from chains.errors import AddressError

TRON_VERSION = 0x41  # TRON protocol: mainnet address prefix byte
_PAYLOAD_BYTES = 21
_CACHE_SIZE = 1 << 18  # distinct addresses kept encoded (base58 of each is pure-Python big-int work)


def normalize_address(text: str) -> str:
    stripped = text.strip()
    if stripped.startswith(("0x", "41")) and len(stripped) in (42, 44):
        return from_hex(stripped)
    payload = b58check_decode(stripped)
    if len(payload) != _PAYLOAD_BYTES or payload[0] != TRON_VERSION:
        raise AddressError(f"not a TRON address (version 0x41, 20 bytes): {stripped[:60]!r}")
    return stripped


def from_hex(text: str) -> str:
    """base58check ``T...`` of ``41`` + 20 bytes, ``0x`` + 20 bytes, or a 32-byte log topic word."""
    body = text[2:] if text.startswith(("0x", "0X")) else text
    if len(body) == 42 and body[:2] == "41":
        body = body[2:]
    if len(body) not in (40, 64):
        raise AddressError(f"not a TRON hex address: {text[:70]!r}")
    try:
        return _encode(body[-40:].lower())
    except ValueError as exc:
        raise AddressError(f"not hex: {text[:70]!r}") from exc


def to_hex(address: str) -> str:
    """``41`` + 20 bytes as lower-case hex, the form TRON's HTTP API takes."""
    return b58check_decode(normalize_address(address)).hex()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _encode(hex40: str) -> str:
    return b58check_encode(bytes([TRON_VERSION]) + bytes.fromhex(hex40))
