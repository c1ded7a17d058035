"""EVM addresses: 20 bytes as 0x-hex; normalised to the EIP-55 checksum form.

An all-lower or all-upper hex address carries no checksum and is accepted; a mixed-case one must pass
EIP-55 (https://eips.ethereum.org/EIPS/eip-55), which catches most typos.
"""

from __future__ import annotations

import re

from eth_utils.address import to_checksum_address

from chains.errors import AddressError

_HEX40 = re.compile(r"^0x[0-9a-fA-F]{40}$")


def normalize_address(text: str) -> str:
    stripped = text.strip()
    if not _HEX40.match(stripped):
        raise AddressError(f"not an EVM address (0x and 40 hex digits): {stripped[:60]!r}")
    checksummed = str(to_checksum_address(stripped.lower()))
    body = stripped[2:]
    if body != body.lower() and body != body.upper() and checksummed != stripped:
        raise AddressError(f"EIP-55 checksum mismatch: {stripped}")
    return checksummed
