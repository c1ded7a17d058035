"""An in-process cache of unspent outputs, so inputs get their address and value before they are written.

Most inputs spend recent outputs (on mainnet about half spend an output less than a day old), so an
indexer that remembers the outputs it wrote resolves most inputs from memory; the rest cost one set-based
lookup per batch. Entries change only when the transaction that wrote them committed (``commit``); a reorg
or an aborted batch empties or discards them (``clear`` / ``abort``), so the cache never claims an output
the database does not hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

DEFAULT_CACHE_OUTPUTS = 3_000_000  # outputs; ~120 bytes each in CPython, so ~360 MB at most

Spent: TypeAlias = tuple[int | None, int, str]  # the spent output's address id, value (sat), script type
Outputs: TypeAlias = list[Spent | None]  # one transaction's outputs by vout, None once spent
SpentRef: TypeAlias = tuple[Outputs, int]  # an output spent: its transaction's list and its vout


class UtxoCache:
    """``txid (32 bytes) -> [output by vout, None once spent]``; oldest transactions evicted first.

    A batch finds outputs with ``outputs_of`` and stages the lists and vouts it spent (``stage``): the
    commit then marks them without looking a txid up again (a second random probe of a dict of millions)."""

    def __init__(self, max_outputs: int = DEFAULT_CACHE_OUTPUTS) -> None:
        self.max_outputs = max_outputs
        self._txs: dict[bytes, Outputs] = {}
        self._size = 0
        self._new: dict[bytes, Outputs] = {}
        self._spent: list[SpentRef] = []
        self._spent_new: list[SpentRef] = []
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return self._size

    @property
    def outputs_of(self) -> Callable[[bytes], Outputs | None]:
        """``txid -> its outputs list`` or None (the dict's own ``get``: no call of ours per input)."""
        return self._txs.get

    def get(self, txid: bytes, vout: int) -> Spent | None:
        outputs = self._txs.get(txid)
        if outputs is not None and vout < len(outputs):
            found = outputs[vout]
            if found is not None:
                self.hits += 1
                return found
        self.misses += 1
        return None

    def stage(self, new: dict[bytes, Outputs], spent: list[SpentRef], spent_new: list[SpentRef]) -> None:
        """What the batch being written did, applied on ``commit``: the outputs it wrote (``new``), and the
        outputs it spent, found in this cache (``spent``) or among its own (``spent_new``)."""
        self._new = new
        self._spent = spent
        self._spent_new = spent_new
        self.hits += len(spent) + len(spent_new)

    def commit(self) -> None:
        for outputs, vout in self._spent:
            if outputs[vout] is not None:
                outputs[vout] = None
                self._size -= 1
        for outputs, vout in self._spent_new:
            outputs[vout] = None
        txs = self._txs
        for txid, outputs in self._new.items():
            replaced = txs.get(txid)  # a repeated txid (BIP30, migration 029): the new copy overwrites it,
            if replaced is not None:  # as in Bitcoin Core's UTXO set
                self._size -= _unspent(replaced)
            txs[txid] = outputs
            self._size += _unspent(outputs)
        self.abort()
        if self._size > self.max_outputs:
            self._evict()

    def abort(self) -> None:
        self._new, self._spent, self._spent_new = {}, [], []

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
            self._size -= _unspent(outputs)
        for txid in drop:
            del self._txs[txid]


def _unspent(outputs: Outputs) -> int:
    """How many of a transaction's outputs the cache still holds (a spent one is None)."""
    return len(outputs) - outputs.count(None)
