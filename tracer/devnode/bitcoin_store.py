"""Recorded Bitcoin blocks for the replay node, read at header level: the node serves the recorded bytes
as they are, and leaves transaction parsing to the clients it tests (only framing and hashing are shared).

Loads serialized blocks (``.blk.gz``: one gzip block; ``.txt.gz``/``.hex``: one hex line; ``.dat``/``.bz2``:
blk*.dat framing, many blocks) and recorded ``getblock <hash> 2`` results
(``rpc_response_getblock_<hash>_2.json``, whose tx ``hex`` fields rebuild the raw block, checked against the
hash). Heights come from, in order: the caller's ``heights`` mapping, the recorded JSON, the genesis hash
(0), the BIP34 coinbase height (trusted only from block 227931 on), then by following ``prev_hash`` forward
from a block of known height (so ``blocks1-256.bz2`` gets 1..n from genesis).
"""

from __future__ import annotations

import bz2
import gzip
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from chains.bitcoin import params
from chains.bitcoin.parse import iter_blk_frames
from chains.bitcoin.serial import block_bip34_height, double_sha256, read_varint, varint_bytes

log = logging.getLogger(__name__)

GETBLOCK_JSON_RE: Final = re.compile(r"rpc_response_getblock_([0-9a-f]{64})_2\.json$")
GETRAWTX_JSON_RE: Final = re.compile(r"rpc_response_getrawtransaction_([0-9a-f]{64})\.json$")


def header_info(raw: bytes) -> dict[str, Any]:
    """Header fields as Bitcoin Core's ``getblockheader`` names them (no chainwork/difficulty/mediantime)."""
    header = raw[: params.HEADER_BYTES]
    n_tx, _ = read_varint(raw, params.HEADER_BYTES)
    return {
        "hash": double_sha256(header)[::-1].hex(),
        "version": int.from_bytes(header[0:4], "little", signed=True),
        "previousblockhash": header[4:36][::-1].hex(),
        "merkleroot": header[36:68][::-1].hex(),
        "time": int.from_bytes(header[68:72], "little"),
        "bits": header[72:76][::-1].hex(),
        "nonce": int.from_bytes(header[76:80], "little"),
        "nTx": n_tx,
        "size": len(raw),
    }


def _raw_from_getblock(obj: Mapping[str, Any]) -> bytes | None:
    """Rebuilds the serialized block from a verbosity-2 result (header fields + each tx's ``hex``)."""
    txs = obj.get("tx", [])
    if not txs or not all(isinstance(tx, dict) and "hex" in tx for tx in txs):
        return None
    header = (
        int(obj["version"]).to_bytes(4, "little", signed=True)
        + bytes.fromhex(obj.get("previousblockhash", params.NULL_HASH))[::-1]
        + bytes.fromhex(obj["merkleroot"])[::-1]
        + int(obj["time"]).to_bytes(4, "little")
        + bytes.fromhex(obj["bits"])[::-1]
        + int(obj["nonce"]).to_bytes(4, "little")
    )
    if double_sha256(header)[::-1].hex() != obj["hash"]:
        log.warning("recorded getblock %s does not rebuild to its hash; serving JSON only", obj["hash"])
        return None
    return header + varint_bytes(len(txs)) + b"".join(bytes.fromhex(tx["hex"]) for tx in txs)


# --- the store ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReplayBlock:
    hash: str
    prev_hash: str
    raw: bytes | None = None
    getblock_json: str | None = None  # the recorded ``getblock <hash> 2`` result, byte for byte
    height: int | None = None
    source: str = ""


@dataclass(slots=True)
class ReplayStore:
    """Blocks by hash and by height; what the replay server answers from."""

    by_hash: dict[str, ReplayBlock] = field(default_factory=dict)
    by_height: dict[int, str] = field(default_factory=dict)
    # recorded verbose ``getrawtransaction`` results of txs in blocks the store does not hold, by txid
    loose_txs: dict[str, dict[str, Any]] = field(default_factory=dict)
    _hex_cache: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_paths(cls, paths: Iterable[str | Path], heights: Mapping[str, int] | None = None) -> ReplayStore:
        """Loads files (or every known file under a directory); ``heights`` maps block hash → height."""
        store = cls()
        for path in _expand(paths):
            store._load(path)
        store._assign_heights(dict(heights or {}))
        return store

    @classmethod
    def from_raw_blocks(cls, blocks: Iterable[bytes], source: str = "generated") -> ReplayStore:
        """A store of serialized blocks (e.g. ``bench.chaingen.generate_blocks``), heights found as above."""
        store = cls()
        for raw in blocks:
            store.add_raw(raw, source)
        store._assign_heights({})
        return store

    def make_stale_branch(self, depth: int) -> list[ReplayBlock]:
        """Siblings of the top ``depth`` blocks (another nonce, re-linked: new hashes, the same txs), added
        to the store but not active; ``activate`` them to serve them as the chain."""
        if not 1 <= depth < len(self.by_height):
            raise ValueError(f"reorg depth {depth} needs more than {len(self.by_height)} blocks")
        first = self.tip - depth + 1
        prev = self.by_height[first - 1]
        branch = []
        for height in range(first, self.tip + 1):
            real = self.by_hash[self.by_height[height]].raw
            if real is None:
                raise ValueError(f"block {height} has no raw data to fork from")
            nonce = (int.from_bytes(real[76:80], "little") + 1) % 2**32
            raw = real[:4] + bytes.fromhex(prev)[::-1] + real[36:76] + nonce.to_bytes(4, "little") + real[80:]
            block = ReplayBlock(double_sha256(raw[:80])[::-1].hex(), prev, raw, None, height, "stale branch")
            self.by_hash[block.hash] = block
            branch.append(block)
            prev = block.hash
        return branch

    def activate(self, blocks: Iterable[ReplayBlock]) -> list[ReplayBlock]:
        """Make ``blocks`` the active chain at their heights; returns the blocks they replace."""
        replaced = []
        for block in blocks:
            assert block.height is not None
            replaced.append(self.by_hash[self.by_height[block.height]])
            self.by_height[block.height] = block.hash
        return replaced

    @property
    def tip(self) -> int:
        if not self.by_height:
            raise ValueError("replay store holds no blocks")
        return max(self.by_height)

    def get(self, block_hash: str) -> ReplayBlock | None:
        return self.by_hash.get(block_hash.lower())

    def header(self, block: ReplayBlock) -> dict[str, Any]:
        """``getblockheader <hash> true`` as Core answers it (less chainwork, difficulty, mediantime)."""
        assert block.height is not None
        if block.raw is not None:
            info = header_info(block.raw)
        else:
            info = {k: v for k, v in json.loads(block.getblock_json or "{}").items() if k != "tx"}
        info.update(height=block.height, confirmations=self.tip - block.height + 1)
        if block.height == 0:
            info.pop("previousblockhash", None)
        if block.height + 1 in self.by_height:
            info["nextblockhash"] = self.by_height[block.height + 1]
        return info

    def raw_hex(self, block: ReplayBlock) -> str | None:
        if block.raw is None:
            return None
        if block.hash not in self._hex_cache:
            self._hex_cache[block.hash] = block.raw.hex()
        return self._hex_cache[block.hash]

    def add_raw(self, raw: bytes, source: str) -> None:
        info = header_info(raw)
        block = self.by_hash.setdefault(info["hash"], ReplayBlock(info["hash"], info["previousblockhash"]))
        block.raw, block.source = raw, block.source or source

    def add_getblock_json(self, text: str, source: str) -> None:
        obj = json.loads(text)
        if not isinstance(obj, dict) or not {"hash", "height", "tx"} <= obj.keys():
            raise ValueError(f"{source}: not a getblock verbosity-2 result")
        prev = obj.get("previousblockhash", params.NULL_HASH)
        block = self.by_hash.setdefault(obj["hash"], ReplayBlock(obj["hash"], prev))
        block.getblock_json, block.height = text.strip(), int(obj["height"])
        block.source = block.source or source
        if block.raw is None:
            block.raw = _raw_from_getblock(obj)

    def _load(self, path: Path) -> None:
        name = path.name
        data = path.read_bytes()
        if GETRAWTX_JSON_RE.search(name):
            obj = json.loads(data)
            self.loose_txs[obj["txid"]] = obj
            return
        if name.endswith(".json"):
            self.add_getblock_json(data.decode(), name)
            return
        if name.endswith(".gz"):
            data, name = gzip.decompress(data), name[:-3]
        elif name.endswith(".bz2"):
            data, name = bz2.decompress(data), name[:-4]
        if name.endswith((".txt", ".hex")):
            self.add_raw(bytes.fromhex(data.decode().strip()), path.name)
        elif data[:4] == params.MAINNET_MAGIC:
            frames = list(iter_blk_frames(data))
            for raw in frames:
                self.add_raw(raw, path.name)
            log.info("loaded %d framed blocks from %s", len(frames), path)
        else:  # a single serialized block with no framing (.blk)
            self.add_raw(data, path.name)

    def _assign_heights(self, given: dict[str, int]) -> None:
        known: dict[str, int] = {params.GENESIS_HASH: 0}
        for block in self.by_hash.values():
            bip34 = block_bip34_height(block.raw) if block.raw is not None else None
            if block.hash in given:
                known[block.hash] = given[block.hash]
            elif block.height is not None:
                known[block.hash] = block.height
            elif bip34 is not None:
                known[block.hash] = bip34
        children: dict[str, list[ReplayBlock]] = {}
        for block in self.by_hash.values():
            children.setdefault(block.prev_hash, []).append(block)
        todo = list(known)
        while todo:  # walk forward from every block of known height
            parent = todo.pop()
            for child in children.get(parent, []):
                if child.hash not in known:
                    known[child.hash] = known[parent] + 1
                    todo.append(child.hash)
        for block in self.by_hash.values():
            if block.hash not in known:
                raise ValueError(
                    f"cannot tell the height of block {block.hash} from {block.source}: "
                    "pass heights={hash: height}"
                )
            block.height = known[block.hash]
            if self.by_height.setdefault(block.height, block.hash) != block.hash:
                raise ValueError(
                    f"two blocks at height {block.height}: {self.by_height[block.height]}, {block.hash}"
                )


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; directories expand to the block files and getblock-2 recordings under them."""
    out: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir():
            out.append(path)
            continue
        for child in sorted(path.rglob("*")):
            name = child.name
            framed = name.endswith((".dat", ".dat.bz2")) or (
                name.startswith("blocks") and name.endswith(".bz2")
            )
            recorded = GETBLOCK_JSON_RE.search(name) or GETRAWTX_JSON_RE.search(name)
            if framed or recorded or name.endswith((".blk.gz", ".txt.gz")):
                out.append(child)
    return out
