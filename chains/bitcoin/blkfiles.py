"""Bitcoin Core's ``blocks/`` directory: ``blk*.dat`` files streamed header-first, XOR undone, best chain.

How to index a directory (what ``tracer index bitcoin --blocks-dir DIR`` does)::

    from chains.bitcoin.blkfiles import iter_best_chain
    for located in iter_best_chain(blocks_dir):        # LocatedBlock, in height order
        if located.hash in already_stored:              # known from the 80-byte header: no tx parsed
            continue
        block = located.parse()                         # reads this one block, then parse_block_bytes

- **One file** (``--raw FILE``): ``chains.bitcoin.files.iter_raw_blocks(path)`` streams its blocks in file
  order through ``scan_file``, parsed one at a time.
- **Streaming.** A file is never read whole: the scan reads each frame's 8-byte preamble and 80-byte
  header and seeks past the block (about 88 bytes read per block); ``LocatedBlock.read`` reads one block.
  Memory is one small record per block (~150 bytes; ~140 MB for all of mainnet's ~900k blocks).
- **XOR (Bitcoin Core 28+).** ``xor.dat`` holds an 8-byte key; byte ``i`` of every ``blk``/``rev`` file
  is stored XOR ``key[i % 8]`` (``i`` the offset in the file; Core src/node/blockstorage.cpp,
  ``-blocksxor``). No ``xor.dat`` (Core < 28) or an all-zero key means plain files.
- **Framing.** ``[f9beb4d9][LE u32 length][block]``; zero bytes where a magic should be end the file (Core
  pre-allocates files in 16 MiB chunks), and a last frame cut short (a node still writing) ends it with a
  warning. Anything else raises ``ParseError`` naming the file and offset.
- **Best chain.** Files are in arrival order, not height order (Core downloads blocks in parallel), and hold
  stale blocks. ``best_chain`` links headers by parent hash and picks the tip with the **most cumulative
  work** (the sum of ``2**256 // (target + 1)`` over its ancestors, Core's ``GetBlockProof``; ties go to
  the block seen first, as Core keeps the first-received tip). On equal difficulty that is the longest
  chain. Blocks off that chain are skipped (counted in the log).
- **Heights.** The chain's first block is height 0 when it is genesis (no parent), 1 when its parent is
  the genesis hash (a directory without genesis), else its BIP34 coinbase height, else ``start_height``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import BinaryIO

from chains.bitcoin import params
from chains.bitcoin.parse import parse_block_bytes
from chains.bitcoin.serial import block_bip34_height
from chains.errors import ParseError
from chains.model import Block

__all__ = [
    "HeaderLocation",
    "LocatedBlock",
    "best_chain",
    "blk_files",
    "iter_best_chain",
    "read_xor_key",
    "scan_file",
    "scan_headers",
]

log = logging.getLogger(__name__)

XOR_KEY_BYTES = 8  # Core 28 src/node/blockstorage.cpp: a random 8-byte key in blocks/xor.dat
_FRAME_PREAMBLE = 8  # magic + LE u32 length
_BLK_NAME = re.compile(r"blk(\d{5,})\.dat$")
_ZERO_MAGIC = bytes(4)
_NO_KEY = bytes(XOR_KEY_BYTES)


def read_xor_key(blocks_dir: Path) -> bytes:
    """The 8-byte obfuscation key from ``xor.dat``; all zeros (no obfuscation) when there is none."""
    path = blocks_dir / "xor.dat"
    if not path.exists():
        return _NO_KEY
    key = path.read_bytes()
    if len(key) != XOR_KEY_BYTES:
        raise ParseError(f"{path}: {len(key)} bytes, expected an {XOR_KEY_BYTES}-byte XOR key")
    return key


def xor_at(data: bytes, key: bytes, offset: int) -> bytes:
    """``data`` read at file ``offset`` with the key undone (XOR is its own inverse, so also applies it)."""
    if key == _NO_KEY or not data:
        return data
    shift = offset % XOR_KEY_BYTES
    stream = (key * (len(data) // XOR_KEY_BYTES + 2))[shift : shift + len(data)]
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")  # one C-speed XOR
    return mixed.to_bytes(len(data), "little")


def blk_files(blocks_dir: Path) -> list[Path]:
    """``blk*.dat`` files of a directory in file-number order."""
    if not blocks_dir.is_dir():
        raise ParseError(f"{blocks_dir} is not a directory")
    found = [(int(m.group(1)), p) for p in blocks_dir.iterdir() if (m := _BLK_NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


@dataclass(frozen=True, slots=True)
class HeaderLocation:
    """One block as found in a file: its header (hashes in internal byte order) and where it lies."""

    hash: bytes
    prev_hash: bytes
    bits: int
    path: Path
    offset: int  # of the block's first byte (after magic and length)
    size: int
    key: bytes = _NO_KEY

    def read(self) -> bytes:
        """The serialized block (one seek and one read)."""
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read(self.size)
        if len(data) != self.size:
            raise ParseError(f"{self.path}: block at offset {self.offset} cut short")
        return xor_at(data, self.key, self.offset)


@dataclass(frozen=True, slots=True)
class LocatedBlock:
    """A block of the best chain: hashes as hex (RPC order), its height and where to read it."""

    hash: str
    prev_hash: str
    height: int
    where: HeaderLocation

    def read(self) -> bytes:
        return self.where.read()

    def parse(self) -> Block:
        return parse_block_bytes(self.read(), self.height)


def _read(f: BinaryIO, offset: int, size: int, key: bytes) -> bytes:
    f.seek(offset)
    return xor_at(f.read(size), key, offset)


def scan_file(path: Path, key: bytes = _NO_KEY) -> Iterator[HeaderLocation]:
    """The blocks of one ``blk*.dat`` file in file order, header-first (``key``: its ``xor.dat``)."""
    with path.open("rb") as f:
        end = f.seek(0, 2)
        pos = 0
        while pos + _FRAME_PREAMBLE <= end:
            preamble = _read(f, pos, _FRAME_PREAMBLE, key)
            magic = preamble[:4]
            if magic == _ZERO_MAGIC:
                return  # pre-allocated space after the last block
            if magic != params.MAINNET_MAGIC:
                raise ParseError(f"{path}: no mainnet magic at offset {pos} ({magic.hex()}); wrong xor.dat?")
            size = int.from_bytes(preamble[4:], "little")
            start = pos + _FRAME_PREAMBLE
            if size < params.HEADER_BYTES + 1 or start + size > end:
                log.warning(
                    "%s: frame at offset %d cut short (%d bytes claimed); file ends here", path, pos, size
                )
                return
            header = _read(f, start, params.HEADER_BYTES, key)
            block_hash = sha256(sha256(header).digest()).digest()
            bits = int.from_bytes(header[72:76], "little")
            yield HeaderLocation(block_hash, header[4:36], bits, path, start, size, key)
            pos = start + size


def scan_headers(blocks_dir: Path) -> Iterator[HeaderLocation]:
    """Every block of every ``blk*.dat`` file, in file order, read header-first (XOR undone)."""
    key = read_xor_key(blocks_dir)
    for path in blk_files(blocks_dir):
        yield from scan_file(path, key)


def block_work(bits: int) -> int:
    """Expected hashes for a block at compact target ``bits``; Core chain.cpp GetBlockProof."""
    exponent, mantissa = bits >> 24, bits & 0x007F_FFFF
    target = mantissa << (8 * (exponent - 3)) if exponent > 3 else mantissa >> (8 * (3 - exponent))
    return (1 << 256) // (target + 1) if target > 0 else 0


def best_chain(headers: Iterable[HeaderLocation]) -> list[HeaderLocation]:
    """The chain ending at the tip with the most cumulative work (first seen on a tie), root first."""
    by_hash: dict[bytes, HeaderLocation] = {}
    for h in headers:
        by_hash.setdefault(h.hash, h)  # a block stored twice (re-download) counts once
    work: dict[bytes, int] = {}
    best: HeaderLocation | None = None
    for h in by_hash.values():  # dict order = file order, so the first-seen tip wins ties
        total = _chain_work(h, by_hash, work)
        if best is None or total > work[best.hash]:
            best = h
    chain = []
    node = best
    while node is not None:
        chain.append(node)
        node = by_hash.get(node.prev_hash)
    chain.reverse()
    return chain


def _chain_work(h: HeaderLocation, by_hash: dict[bytes, HeaderLocation], work: dict[bytes, int]) -> int:
    """Cumulative work up to ``h``, memoised; iterative (a chain is far deeper than Python's stack)."""
    pending = []
    node: HeaderLocation | None = h
    while node is not None and node.hash not in work:
        pending.append(node)
        node = by_hash.get(node.prev_hash)
    total = work[node.hash] if node is not None else 0
    for n in reversed(pending):
        total += block_work(n.bits)
        work[n.hash] = total
    return work[h.hash]


def _root_height(root: HeaderLocation, start_height: int | None) -> int:
    prev = root.prev_hash[::-1].hex()
    if prev == params.NULL_HASH:
        return 0
    if prev == params.GENESIS_HASH:
        return 1
    raw = root.read()
    height = block_bip34_height(raw)
    if height is not None:
        return height
    if start_height is not None:
        return start_height
    raise ParseError(
        f"cannot tell the height of block {root.hash[::-1].hex()} ({root.path}): its parent is not in the "
        "directory and its coinbase has no BIP34 height; pass start_height"
    )


def iter_best_chain(blocks_dir: Path, *, start_height: int | None = None) -> Iterator[LocatedBlock]:
    """Blocks of the best chain in a Core blocks directory, lowest height first, read header-first.

    Scans every file's headers before yielding (the best tip is only known then); nothing is parsed until
    the caller asks (``LocatedBlock.read`` / ``.parse``). Raises ``ParseError`` on a malformed file.
    """
    headers = list(scan_headers(blocks_dir))
    if not headers:
        return
    chain = best_chain(headers)
    log.info(
        "%s: %d blocks in %d files, best chain %d blocks, %d off it",
        blocks_dir, len(headers), len({h.path for h in headers}), len(chain), len(headers) - len(chain),
    )  # fmt: skip
    height = _root_height(chain[0], start_height)
    for offset, h in enumerate(chain):
        yield LocatedBlock(h.hash[::-1].hex(), h.prev_hash[::-1].hex(), height + offset, h)
