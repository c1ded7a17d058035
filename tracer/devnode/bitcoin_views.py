"""What the replay node answers, rendered from the store's raw blocks the way Bitcoin Core does.

``ChainViews`` wraps a ``ReplayStore`` with Core's derived data: per-block decoded transactions (decoded
lazily, a bounded number of blocks kept), a transaction index (txid -> block and offset, as ``-txindex=1``,
built the first time a lookup misses), the spent outputs of a block's inputs (Core's undo data: fees and
verbosity 3), chainwork and median time past. Serialized answers are cached (an LRU of whole responses),
so a client reading the chain once and its inputs' transactions again costs one render per block.

Chainwork and mediantime are exact when the store holds every ancestor (a chain from genesis, or the
generated chain); for a block whose ancestors are missing, chainwork counts the missing ones at the
block's own difficulty and mediantime uses the ancestors held.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from chains.bitcoin import params
from chains.bitcoin.blkfiles import block_work
from chains.bitcoin.serial import read_varint
from tracer.devnode.bitcoin_render import (
    Prevout,
    RawTx,
    decode_tx,
    difficulty,
    dumps,
    iter_block_txs,
    tx_json,
)
from tracer.devnode.bitcoin_store import ReplayBlock, ReplayStore

__all__ = ["ChainViews", "NotFound"]

MEDIAN_TIME_SPAN = 11  # blocks; Core CBlockIndex::nMedianTimeSpan
_DECODED_BLOCKS = 64
_RENDERED = 64
_TX_CACHE = 50_000


class NotFound(LookupError):
    """No such block or transaction (the node answers RPC_INVALID_ADDRESS_OR_KEY)."""


class _Lru(OrderedDict[Any, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value

    def hit(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class ChainViews:
    """Core-shaped answers over a ``ReplayStore`` (its ``by_height`` is the active chain)."""

    def __init__(self, store: ReplayStore) -> None:
        self.store = store
        self._decoded = _Lru(_DECODED_BLOCKS)
        self._rendered = _Lru(_RENDERED)
        self._txs = _Lru(_TX_CACHE)
        self._tx_index: dict[str, tuple[str, int]] = {}  # txid -> (block hash, offset in the raw block)
        self._indexed: set[str] = set()
        self._work: dict[str, int] = {}

    def invalidate(self) -> None:
        """Forget answers that depend on the active chain (after a reorg)."""
        self._rendered.clear()

    # --- blocks -------------------------------------------------------------------------------------------
    def in_active_chain(self, block: ReplayBlock) -> bool:
        return block.height is not None and self.store.by_height.get(block.height) == block.hash

    def txs(self, block: ReplayBlock) -> list[RawTx]:
        cached = self._decoded.hit(block.hash)
        if cached is None:
            assert block.raw is not None
            cached = self._decoded.put(block.hash, list(iter_block_txs(block.raw)))
            self._index_block(block, cached)
        return list(cached)

    def header(self, block: ReplayBlock) -> dict[str, Any]:
        """``getblockheader <hash> true`` (Core blockheaderToJSON)."""
        raw = block.raw
        assert raw is not None and block.height is not None
        store, height = self.store, block.height
        version = int.from_bytes(raw[0:4], "little", signed=True)
        bits = int.from_bytes(raw[72:76], "little")
        active = self.in_active_chain(block)
        out: dict[str, Any] = {
            "hash": block.hash,
            "confirmations": store.tip - height + 1 if active else -1,
            "height": height,
            "version": version,
            "versionHex": f"{version & 0xFFFF_FFFF:08x}",
            "merkleroot": raw[36:68][::-1].hex(),
            "time": int.from_bytes(raw[68:72], "little"),
            "mediantime": self._median_time(block),
            "nonce": int.from_bytes(raw[76:80], "little"),
            "bits": f"{bits:08x}",
            "difficulty": difficulty(bits),
            "chainwork": f"{self._chainwork(block):064x}",
            "nTx": read_varint(raw, params.HEADER_BYTES)[0],
        }
        if block.prev_hash != params.NULL_HASH:
            out["previousblockhash"] = block.prev_hash
        following = store.by_height.get(height + 1) if active else None
        if following is not None:
            out["nextblockhash"] = following
        return out

    def getblock(self, block: ReplayBlock, verbosity: int) -> str:
        """JSON text of ``getblock <hash> <verbosity>`` for verbosity 1, 2 or 3."""
        key = (block.hash, verbosity)
        cached = self._rendered.hit(key)
        if cached is None:
            cached = self._rendered.put(key, dumps(self._block_json(block, verbosity)))
        return str(cached)

    def _block_json(self, block: ReplayBlock, verbosity: int) -> dict[str, Any]:
        assert block.raw is not None
        txs = self.txs(block)
        out = self.header(block)
        stripped = len(block.raw) - sum(tx.size - tx.base_size for tx in txs)
        out.update(strippedsize=stripped, size=len(block.raw), weight=stripped * 3 + len(block.raw))
        if verbosity == 1:
            out["tx"] = [tx.txid for tx in txs]
            return out
        show_prevout = verbosity >= 3
        out["tx"] = [
            tx_json(tx, None if tx.is_coinbase else self.prevouts(tx), show_prevout=show_prevout)
            for tx in txs
        ]
        return out

    # --- transactions -------------------------------------------------------------------------------------
    def _index_block(self, block: ReplayBlock, txs: list[RawTx]) -> None:
        if block.hash in self._indexed:
            return
        assert block.raw is not None
        _, pos = read_varint(block.raw, params.HEADER_BYTES)
        for tx in txs:
            self._tx_index.setdefault(tx.txid, (block.hash, pos))
            pos += tx.size
        self._indexed.add(block.hash)

    def _index_all(self) -> None:
        for block in self.store.by_hash.values():
            if block.raw is not None and block.hash not in self._indexed:
                self._index_block(block, list(iter_block_txs(block.raw)))

    def find_tx(self, txid: str, block_hash: str | None = None) -> tuple[RawTx, ReplayBlock]:
        """The transaction and its block; NotFound when no held block has it (or not ``block_hash``)."""
        if block_hash is not None:
            block = self.store.get(block_hash)
            if block is None or block.raw is None:
                raise NotFound("Block hash not found")
            for tx in self.txs(block):
                if tx.txid == txid:
                    return tx, block
            raise NotFound("No such transaction found in the provided block")
        where = self._tx_index.get(txid)
        if where is None:
            self._index_all()
            where = self._tx_index.get(txid)
        if where is None:
            raise NotFound("No such mempool or blockchain transaction")
        return self._tx_at(*where)

    def _tx_at(self, block_hash: str, offset: int) -> tuple[RawTx, ReplayBlock]:
        block = self.store.by_hash[block_hash]
        cached = self._txs.hit((block_hash, offset))
        if cached is None:
            assert block.raw is not None
            cached = self._txs.put((block_hash, offset), decode_tx(block.raw, offset)[0])
        return cached, block

    def prevouts(self, tx: RawTx) -> list[Prevout] | None:
        """The outputs ``tx`` spends, as Core's undo data gives them; None if any is not held."""
        spent: list[Prevout] = []
        for prev, vout, _, _ in tx.inputs:
            try:
                parent, block = self.find_tx(prev[::-1].hex())
            except NotFound:
                return None
            if vout >= len(parent.outputs):
                return None
            value, script = parent.outputs[vout]
            assert block.height is not None
            spent.append((value, script, block.height, parent.is_coinbase))
        return spent

    def rawtransaction(self, txid: str, verbose: int, block_hash: str | None = None) -> str:
        """JSON text of ``getrawtransaction <txid> <verbose> [blockhash]`` (txindex on)."""
        key = ("tx", txid, verbose, block_hash)
        cached = self._rendered.hit(key)
        if cached is not None:
            return str(cached)
        try:
            tx, block = self.find_tx(txid, block_hash)
        except NotFound:
            recorded = self.store.loose_txs.get(txid)
            if recorded is None or block_hash not in (None, recorded.get("blockhash")):
                raise
            return str(self._rendered.put(key, self._recorded_tx(recorded, verbose)))
        if not verbose:
            return str(self._rendered.put(key, dumps(tx.raw.hex())))
        prevouts = self.prevouts(tx) if verbose >= 2 and not tx.is_coinbase else None
        out = tx_json(tx, prevouts, show_prevout=True)
        if block_hash is not None:
            out["in_active_chain"] = self.in_active_chain(block)
        header = self.header(block)
        out.update(blockhash=block.hash, confirmations=header["confirmations"], time=header["time"],
                   blocktime=header["time"])  # fmt: skip
        return str(self._rendered.put(key, dumps(out)))

    def _recorded_tx(self, recorded: dict[str, Any], verbose: int) -> str:
        """A tx known only from a recorded ``getrawtransaction``: rendered from its hex, block fields kept."""
        raw = bytes.fromhex(recorded["hex"])
        if not verbose:
            return dumps(raw.hex())
        out = tx_json(decode_tx(raw)[0])
        out.update(
            {k: recorded[k] for k in ("blockhash", "confirmations", "time", "blocktime") if k in recorded}
        )
        return dumps(out)

    # --- derived header data ------------------------------------------------------------------------------
    def _chainwork(self, block: ReplayBlock) -> int:
        pending = []
        node: ReplayBlock | None = block
        while node is not None and node.hash not in self._work:
            pending.append(node)
            node = self.store.get(node.prev_hash)
        if node is not None:
            total = self._work[node.hash]
        else:  # history not held: count the missing blocks at the oldest held block's difficulty
            oldest = pending[-1]
            assert oldest.raw is not None and oldest.height is not None
            total = oldest.height * block_work(int.from_bytes(oldest.raw[72:76], "little"))
        for n in reversed(pending):
            assert n.raw is not None
            total += block_work(int.from_bytes(n.raw[72:76], "little"))
            self._work[n.hash] = total
        return self._work[block.hash]

    def _median_time(self, block: ReplayBlock) -> int:
        times: list[int] = []
        node: ReplayBlock | None = block
        while node is not None and node.raw is not None and len(times) < MEDIAN_TIME_SPAN:
            times.append(int.from_bytes(node.raw[68:72], "little"))
            node = self.store.get(node.prev_hash)
        return sorted(times)[len(times) // 2]  # Core GetMedianTimePast: the upper median
