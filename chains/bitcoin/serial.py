"""Bitcoin serialization primitives shared by the parsers, the block-file reader and the replay node.

Pure functions over bytes: CompactSize integers, double SHA-256, merkle roots, BIP141 virtual size, and
finding a block's coinbase scriptSig without parsing the block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from chains.bitcoin import params
from chains.errors import ParseError

__all__ = [
    "block_bip34_height",
    "coinbase_height",
    "coinbase_script_sig",
    "double_sha256",
    "merkle_root",
    "read_varint",
    "read_witness",
    "varint_bytes",
    "virtual_size",
]

# CompactSize: marker byte -> bytes of the LE integer after it. Final: mypyc compiles such constants in (a
# plain module global is a dict lookup per use).
_VARINT_WIDTH: Final = {0xFD: 2, 0xFE: 4, 0xFF: 8}
_sha256: Final = hashlib.sha256
_MAX_COMPACT_SIZE: Final = params.MAX_COMPACT_SIZE


def double_sha256(data: bytes) -> bytes:
    """SHA256(SHA256(data)): txids, block hashes and merkle nodes (internal byte order)."""
    return _sha256(_sha256(data).digest()).digest()


def merkle_root(txids: Sequence[bytes]) -> bytes:
    """Merkle root (internal byte order) of txids in internal byte order; Bitcoin Core ComputeMerkleRoot."""
    level = list(txids)
    if not level:
        raise ParseError("a block has at least one transaction")
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [double_sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def virtual_size(base_size: int, total_size: int) -> int:
    """BIP141 vsize from the size without witness data and the full size."""
    weight = base_size * (params.WITNESS_SCALE_FACTOR - 1) + total_size  # BIP141
    return -(-weight // params.WITNESS_SCALE_FACTOR)


def read_varint(raw: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it) of the CompactSize integer at ``pos``.

    Values above Core's MAX_SIZE are refused as Core refuses them: every count and length read with this is
    bounded by it, and a forged 8-byte length would otherwise push positions past what a compiled int holds.
    """
    first = raw[pos]
    if first < 0xFD:
        return first, pos + 1
    size = _VARINT_WIDTH[first]
    value = int.from_bytes(raw[pos + 1 : pos + 1 + size], "little")
    if value > _MAX_COMPACT_SIZE:
        raise ParseError(
            f"CompactSize {value} at byte {pos} is above {_MAX_COMPACT_SIZE}, Bitcoin Core's MAX_SIZE"
        )
    return value, pos + 1 + size


def read_witness(raw: bytes, pos: int) -> tuple[list[bytes], int]:
    """(items, position after it) of the witness stack (BIP144) at ``pos``."""
    n_items, pos = read_varint(raw, pos)
    stack = []
    for _ in range(n_items):
        size, pos = read_varint(raw, pos)
        stack.append(raw[pos : pos + size])
        pos += size
    return stack, pos


def varint_bytes(n: int) -> bytes:
    """Bitcoin CompactSize encoding of n."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def coinbase_script_sig(raw_block: bytes) -> bytes:
    """The first transaction's scriptSig, found by offsets alone (for its BIP34 height).

    Raises IndexError/KeyError on a block too short to hold it, ParseError on a forged length; callers treat
    either as "no height".
    """
    _, pos = read_varint(raw_block, params.HEADER_BYTES)  # tx count
    pos += 4  # version
    if raw_block[pos] == params.SEGWIT_MARKER:
        pos += 2
    _, pos = read_varint(raw_block, pos)  # input count
    size, pos = read_varint(raw_block, pos + 36)  # after the null outpoint
    if pos + size > len(raw_block):
        raise IndexError("coinbase scriptSig runs past the block")
    return raw_block[pos : pos + size]


def coinbase_height(script_sig: bytes, block_version: int, block_time: int) -> int | None:
    """Height a coinbase scriptSig commits to under BIP34, or None where BIP34 does not make it reliable.

    Accepted only for block version >= 2, a minimal 3-byte push at the start of the scriptSig (heights
    up to 8,388,607, ~ year 2160), a value >= the BIP34 enforcement height (below it a coinbase may begin
    with anything, so a smaller value proves nothing), and a value the header time can account for (see
    ``params.MIN_MEAN_BLOCK_INTERVAL_S``): a version-2 block mined before enforcement may start its
    coinbase with another number.
    """
    if block_version < params.BIP34_MIN_BLOCK_VERSION or len(script_sig) < 4 or script_sig[0] != 3:
        return None
    height = int.from_bytes(script_sig[1:4], "little")
    if script_sig[3] & 0x80 or height < params.BIP34_HEIGHT:  # sign bit set: a negative CScriptNum
        return None
    if block_time < params.GENESIS_TIME + height * params.MIN_MEAN_BLOCK_INTERVAL_S:
        return None
    return height


def block_bip34_height(raw_block: bytes) -> int | None:
    """``coinbase_height`` of a serialized block, or None (also when the block is too short to tell)."""
    try:
        script_sig = coinbase_script_sig(raw_block)
    except (IndexError, KeyError, ParseError):
        return None
    version = int.from_bytes(raw_block[:4], "little", signed=True)
    return coinbase_height(script_sig, version, int.from_bytes(raw_block[68:72], "little"))
