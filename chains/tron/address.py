"""TRON addresses: base58check of 0x41 followed by the 20-byte account id (starts with "T")."""

from __future__ import annotations

from chains.bitcoin.address import b58check_decode
from chains.errors import AddressError

TRON_VERSION = 0x41  # TRON protocol: mainnet address prefix byte
_PAYLOAD_BYTES = 21


def normalize_address(text: str) -> str:
    stripped = text.strip()
    payload = b58check_decode(stripped)
    if len(payload) != _PAYLOAD_BYTES or payload[0] != TRON_VERSION:
        raise AddressError(f"not a TRON address (version 0x41, 20 bytes): {stripped[:60]!r}")
    return stripped
