"""An in-process cache of unspent outputs, so inputs get their address and value before they are written.

Most inputs spend recent outputs (on mainnet about half spend an output less than a day old), so an
indexer that remembers the outputs it wrote resolves most inputs from memory; the rest cost one set-based
lookup per batch. Entries change only when the transaction that wrote them committed (``commit``); a reorg
or an aborted batch empties or discards them (``clear`` / ``abort``), so the cache never claims an output
the database does not hold.

A writer may apply a commit in steps (``commit_steps``) while it waits on the database for the next batch;
whatever reads or changes the cache next finishes those steps first, so no caller sees a half commit.
"""

from __future__ import annotations

from collections.abc import Iterator

from tracer.store.chainrows import Outputs, Spent, SpentRef, add_outputs, mark_spent, unspent

DEFAULT_CACHE_OUTPUTS = 3_000_000  # outputs; ~120 bytes each in CPython, so ~360 MB at most
COMMIT_STEP_ITEMS = 2_000  # spends or transactions applied between two steps of ``commit_steps``

__all__ = ["DEFAULT_CACHE_OUTPUTS", "Outputs", "Spent", "SpentRef", "UtxoCache"]


class UtxoCache:
    """``txid (32 bytes) -> [output by vout, None once spent]``; oldest transactions evicted first.

    A batch finds outputs in ``transactions`` and stages the lists and vouts it spent (``stage``): the
    commit then marks them without looking a txid up again (a second random probe of a dict of millions)."""

    def __init__(self, max_outputs: int = DEFAULT_CACHE_OUTPUTS) -> None:
        self.max_outputs = max_outputs
        self._txs: dict[bytes, Outputs] = {}
        self._size = 0
        self._new: dict[bytes, Outputs] = {}
        self._spent: list[SpentRef] = []
        self._spent_new: list[SpentRef] = []
        self._committing: _Commit | None = None  # a commit not applied in full yet (``commit_steps``)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        self.settle()
        return self._size

    @property
    def transactions(self) -> dict[bytes, Outputs]:
        """``txid -> its outputs list``: for a batch's inputs to read (``chainrows.input_rows``)."""
        self.settle()
        return self._txs

    def get(self, txid: bytes, vout: int) -> Spent | None:
        self.settle()
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
        self.commit_steps()
        self.settle()

    def commit_steps(self) -> Iterator[None]:
        """``commit`` in steps of ``COMMIT_STEP_ITEMS`` (a generator), for a writer to run while it waits on
        the database; the batch staged next does not mix in. Steps left when the cache is next used run then
        (``settle``); ``clear`` drops them with the rest. The cache holds the commit, not the generator (no
        reference cycle keeping millions of entries alive after a run)."""
        self.settle()
        self._committing = _Commit(self._new, self._spent, self._spent_new)
        self.abort()
        return _stepped(self)

    def settle(self) -> None:
        """Finish a commit still in steps (``commit_steps``)."""
        while self.step():
            pass

    def step(self) -> bool:
        """Apply the next ``COMMIT_STEP_ITEMS`` of the commit in steps; False once it is applied in full."""
        commit = self._committing
        if commit is None:
            return False
        start = commit.spent_at
        if start < len(commit.spent):
            self._size -= mark_spent(commit.spent, start, start + COMMIT_STEP_ITEMS)
            commit.spent_at += COMMIT_STEP_ITEMS
            return True
        mark_spent(commit.spent_new, 0, len(commit.spent_new))  # never in the cache: no size to take off
        commit.spent_new = []
        start = commit.new_at
        if start < len(commit.new):
            self._size += add_outputs(self._txs, commit.new, start, start + COMMIT_STEP_ITEMS)
            commit.new_at += COMMIT_STEP_ITEMS
            return True
        self._committing = None
        if self._size > self.max_outputs:
            self._evict()
        return False

    def abort(self) -> None:
        self._new, self._spent, self._spent_new = {}, [], []

    def clear(self) -> None:
        self._committing = None  # whatever it would still add goes too
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
            self._size -= unspent(outputs)
        for txid in drop:
            del self._txs[txid]


class _Commit:
    """A batch's staged changes being applied in steps (``UtxoCache.step``)."""

    __slots__ = ("new", "new_at", "spent", "spent_at", "spent_new")

    def __init__(self, new: dict[bytes, Outputs], spent: list[SpentRef], spent_new: list[SpentRef]) -> None:
        self.new, self.new_at = list(new.items()), 0
        self.spent, self.spent_at = spent, 0
        self.spent_new = spent_new


def _stepped(cache: UtxoCache) -> Iterator[None]:
    """The generator ``commit_steps`` returns: steps whatever commit the cache is applying."""
    while cache.step():
        yield
