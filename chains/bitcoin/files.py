"""Reading Bitcoin block files from disk: raw serialized blocks and recorded JSON.

Raw: a single serialized block (binary, or one hex line), or ``blk*.dat`` framing (magic, length, block),
optionally gzip or bzip2 compressed. Heights of pre-BIP34 blocks are found by following prev-hash links
from the genesis block or from a block whose height is known in the same file.
JSON: Bitcoin Core ``getblock`` verbosity 2/3 (bare or in a JSON-RPC envelope) or the raito format.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import string
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from chains.bitcoin import params
from chains.bitcoin.blkfiles import scan_file
from chains.bitcoin.parse import detect_and_parse_json, iter_blk_frames, parse_block_bytes, parse_hex_block
from chains.errors import ParseError
from chains.model import Block

_HEX_DIGITS = frozenset(string.hexdigits.encode() + b"\r\n ")


def read_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    try:
        if path.suffix == ".gz":
            return gzip.decompress(data)
        if path.suffix == ".bz2":
            return bz2.decompress(data)
    except (OSError, EOFError, ValueError) as exc:
        raise ParseError(f"{path}: not a valid {path.suffix[1:]} file: {exc}") from exc
    return data


def iter_raw_blocks(path: Path) -> Iterator[Block]:
    """The blocks of a raw file one at a time. An uncompressed ``blk*.dat`` is streamed (frame headers
    first, then one block read and parsed at a time: a 128 MiB file is never held whole); compressed and
    hex files are read at once. Heights as ``read_raw_blocks``."""
    if path.suffix in (".gz", ".bz2") or not _starts_with_magic(path):
        yield from read_raw_blocks(path)
        return
    heights: dict[str, int] = {params.GENESIS_HASH: 0}
    for located in scan_file(path):
        block = parse_block_bytes(
            located.read(), _known_height(located.hash[::-1].hex(), located.prev_hash[::-1].hex(), heights)
        )
        heights[block.hash] = block.height
        yield block


def _starts_with_magic(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == params.MAINNET_MAGIC


def _known_height(block_hash: str, prev_hash: str, heights: dict[str, int]) -> int | None:
    """0 for genesis, parent + 1 when the parent was seen, else None (the parser reads BIP34)."""
    if block_hash == params.GENESIS_HASH:
        return 0
    if prev_hash in heights:
        return heights[prev_hash] + 1
    return None


def read_raw_blocks(path: Path) -> list[Block]:
    data = read_bytes(path)
    if data.startswith(params.MAINNET_MAGIC):
        return _parse_frames(list(iter_blk_frames(data)))
    if data[:200] and set(data[:200]) <= _HEX_DIGITS:
        return [parse_hex_block(data.decode("ascii"))]
    return _parse_frames([data])


def read_json_blocks(path: Path) -> list[Block]:
    try:
        document = json.loads(read_bytes(path), parse_float=Decimal)  # BTC amounts: never through float
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"{path}: not JSON: {exc}") from exc
    return detect_and_parse_json(document)


def _parse_frames(frames: list[bytes]) -> list[Block]:
    heights: dict[str, int] = {params.GENESIS_HASH: 0}
    blocks = []
    for raw in frames:
        block = parse_block_bytes(raw, _known_height(*_header_hashes(raw), heights))
        heights[block.hash] = block.height
        blocks.append(block)
    return blocks


def _header_hashes(raw: bytes) -> tuple[str, str]:
    if len(raw) < params.HEADER_BYTES:
        raise ParseError(f"block shorter than its {params.HEADER_BYTES}-byte header")
    header = raw[: params.HEADER_BYTES]
    block_hash = hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex()
    return block_hash, header[4:36][::-1].hex()
