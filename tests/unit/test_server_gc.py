"""`tracer serve` settles the garbage collector once started: start-up frozen, young generation less often."""

from __future__ import annotations

import gc

from tracer.api.server import GC_YOUNG_THRESHOLD, settle_garbage_collector


def test_settle_freezes_start_up_and_raises_the_young_threshold() -> None:
    before = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
