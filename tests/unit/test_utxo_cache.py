"""The indexer's unspent-output cache (tracer.store.utxo): a batch's spends and new outputs apply only on
commit, marked through the lists the batch found (no second lookup), and the size counts unspent outputs."""

from __future__ import annotations

import gc
import weakref

from tracer.store.utxo import Outputs, UtxoCache

A, B = b"a" * 32, b"b" * 32


def test_spends_and_new_outputs_apply_on_commit_only() -> None:
    cache = UtxoCache()
    first: Outputs = [(1, 50, "p2pkh"), (2, 25, "p2wpkh")]
    cache.stage({A: first}, [], [])
    cache.commit()
    assert len(cache) == 2
    found = cache.transactions.get(A)
    assert found is first
    second: Outputs = [(3, 70, "p2tr")]
    cache.stage({B: second}, [(first, 0)], [(second, 0)])  # spends A:0, and B:0 written in the same batch
    assert cache.get(A, 0) == (1, 50, "p2pkh")  # not before the commit
    cache.commit()
    assert cache.get(A, 0) is None
    assert cache.get(A, 1) == (2, 25, "p2wpkh")
    assert cache.get(B, 0) is None
    assert len(cache) == 1


def test_an_aborted_batch_changes_nothing() -> None:
    cache = UtxoCache()
    first: Outputs = [(1, 50, "p2pkh")]
    cache.stage({A: first}, [], [])
    cache.commit()
    cache.stage({B: [(2, 1, "p2pkh")]}, [(first, 0)], [])
    cache.abort()
    cache.commit()  # nothing staged any more
    assert cache.get(A, 0) == (1, 50, "p2pkh")
    assert cache.transactions.get(B) is None
    assert len(cache) == 1


def test_eviction_keeps_the_newest_within_the_limit() -> None:
    cache = UtxoCache(max_outputs=10)
    for n in range(6):
        cache.stage({bytes([n]) * 32: [(n, 1, "p2pkh"), (n, 2, "p2pkh")]}, [], [])
        cache.commit()
    assert len(cache) <= 10
    assert cache.transactions.get(bytes([5]) * 32) is not None
    assert cache.transactions.get(bytes([0]) * 32) is None


def test_a_repeated_txid_overwrites_the_earlier_outputs() -> None:
    """BIP30's repeated coinbases (migration 029): the later copy replaces the earlier, unspent one, as in
    Bitcoin Core's UTXO set, and the size counts it once."""
    cache = UtxoCache()
    earlier: Outputs = [(1, 50, "p2pkh")]
    cache.stage({A: earlier}, [], [])
    cache.commit()
    later: Outputs = [(1, 50, "p2pkh")]
    cache.stage({A: later}, [], [])
    cache.commit()
    assert cache.transactions.get(A) is later
    assert len(cache) == 1


def test_a_commit_in_steps_is_finished_by_the_next_reader() -> None:
    """A writer steps a commit while it waits on the database (``commit_steps``); whatever reads the cache
    before the steps ran out finishes them, and the batch staged next is not part of that commit."""
    cache = UtxoCache()
    first: Outputs = [(1, 50, "p2pkh"), (2, 25, "p2wpkh")]
    cache.stage({A: first}, [], [])
    steps = cache.commit_steps()
    cache.stage({B: [(3, 70, "p2tr")]}, [(first, 0)], [])  # the next batch, not committed
    assert cache.transactions.get(A) is first  # finished here
    assert list(steps) == []  # nothing left for the writer
    assert cache.get(A, 0) == (1, 50, "p2pkh")
    assert cache.transactions.get(B) is None
    assert len(cache) == 2


def test_clear_drops_a_commit_still_in_steps() -> None:
    """A reorg empties the cache while the commit before it was still in steps: the outputs it would add
    must not come back when the writer steps it later."""
    cache = UtxoCache()
    many: dict[bytes, Outputs] = {bytes([n]) * 32: [(n, 1, "p2pkh")] for n in range(5)}
    cache.stage(many, [], [])
    steps = cache.commit_steps()
    cache.clear()
    for _ in steps:  # the writer steps it later
        pass
    assert len(cache) == 0
    assert all(cache.transactions.get(txid) is None for txid in many)


def test_a_commit_in_steps_does_not_keep_the_cache_alive() -> None:
    """The writer drops its cache when a run ends, with the last commit's steps maybe not run: the cache
    must go with it at once (a reference cycle would keep millions of entries until a full collection)."""
    cache = UtxoCache()
    cache.stage({A: [(1, 50, "p2pkh")]}, [], [])
    steps = cache.commit_steps()
    gone = weakref.ref(cache)
    gc.disable()
    try:
        del cache, steps
        assert gone() is None
    finally:
        gc.enable()
