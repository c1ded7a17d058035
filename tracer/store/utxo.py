"""An in-process cache of unspent outputs, so inputs get their address and value before they are written.

Most inputs spend recent outputs (on mainnet about half spend an output less than a day old), so an
indexer that remembers the outputs it wrote resolves most inputs from memory; the rest cost one set-based
lookup per batch. Entries change only when the transaction that wrote them committed (``commit``); a reorg
or an aborted batch empties or discards them (``clear`` / ``abort``), so the cache never claims an output
the database does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeAlias

DEFAULT_CACHE_OUTPUTS = 3_000_000  # outputs; ~120 bytes each in CPython, so ~360 MB at most

Spent: TypeAlias = tuple[int | None, int, str]  # the spent output's address id, value (sat), script type


class UtxoCache:
    """``txid (32 bytes) -> [output by vout, None once spent]``; oldest transactions evicted first."""

    def __init__(self, max_outputs: int = DEFAULT_CACHE_OUTPUTS) -> None:
        self.max_outputs = max_outputs
        self._txs: dict[bytes, list[Spent | None]] = {}
        self._size = 0
        self._new: dict[bytes, list[Spent | None]] = {}
        self._spent: list[tuple[bytes, int]] = []
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return self._size

    def get(self, txid: bytes, vout: int) -> Spent | None:
        outputs = self._txs.get(txid)
        if outputs is not None and vout < len(outputs):
            found = outputs[vout]
            if found is not None:
                self.hits += 1
                return found
        self.misses += 1
        return None

    def stage(self, new: dict[bytes, list[Spent | None]], spent: Iterable[tuple[bytes, int]]) -> None:
        """Outputs written and outpoints spent by the batch being written; applied on ``commit``."""
        self._new = new
        self._spent = list(spent)

    def commit(self) -> None:
        for txid, vout in self._spent:
            outputs = self._txs.get(txid)
            if outputs is not None and vout < len(outputs) and outputs[vout] is not None:
                outputs[vout] = None
                self._size -= 1
        for txid, outputs in self._new.items():
            self._txs[txid] = outputs
            self._size += sum(1 for o in outputs if o is not None)
        self._new, self._spent = {}, []
        if self._size > self.max_outputs:
            self._evict()

    def abort(self) -> None:
        self._new, self._spent = {}, []

    def clear(self) -> None:
        self._txs.clear()
        self._size = 0
        self.abort()

    def _evict(self) -> None:
        """Drop the oldest transactions until a tenth of the room is free again (one pass)."""
        target = self.max_outputs - self.max_outputs // 10
        drop = []
        for txid, outputs in self._txs.items():
            if self._size <= target:
                break
            drop.append(txid)
            self._size -= sum(1 for o in outputs if o is not None)
        for txid in drop:
            del self._txs[txid]
