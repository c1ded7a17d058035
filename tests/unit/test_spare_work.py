"""Spare work (tracer.store.spare.SpareWork): queued generators are stepped while a database operation is in
flight and no longer once it ended; the rest waits for the next operation, or for whoever needs it."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from tracer.store.chaindata import BlockRows, ChainWriter
from tracer.store.spare import SpareWork


def steps(name: str, count: int, done: list[str]) -> Iterator[None]:
    for n in range(count):
        done.append(f"{name} {n}")
        yield


async def test_work_is_stepped_only_while_the_operation_runs() -> None:
    spare, done = SpareWork(), list[str]()
    answered = asyncio.Event()

    def answering() -> Iterator[None]:  # the server answers while the third step runs
        for n in range(100):
            done.append(f"b {n}")
            if n == 2:
                answered.set()
            yield

    async def operation() -> str:
        await answered.wait()
        return "rows"

    spare.add(steps("a", 2, done))
    spare.add(answering())
    assert await spare.wait(operation()) == "rows"
    assert done[:5] == ["a 0", "a 1", "b 0", "b 1", "b 2"]  # first come first served
    assert len(done) <= 6  # and no longer than the operation ran
    left = len(done)
    assert await spare.wait(asyncio.sleep(0, "more")) == "more"
    assert len(done) > left  # the next operation goes on with what was left


async def test_work_taken_over_by_its_owner_is_not_stepped_again() -> None:
    spare, done = SpareWork(), list[str]()
    work = steps("a", 3, done)
    spare.add(work)
    for _ in work:  # its owner needs the result now
        pass
    assert await spare.wait(asyncio.sleep(0.01, "ok")) == "ok"
    assert done == ["a 0", "a 1", "a 2"]


async def test_a_failing_step_cancels_the_operation_and_raises() -> None:
    cancelled = asyncio.Event()

    async def operation() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def failing() -> Iterator[None]:
        yield
        raise ValueError("bad row")

    spare = SpareWork()
    spare.add(failing())
    with pytest.raises(ValueError, match="bad row"):
        await spare.wait(operation())
    assert cancelled.is_set()


async def test_without_work_the_operation_is_simply_awaited() -> None:
    spare = SpareWork()
    spare.add(steps("a", 1, []))
    spare.drop()
    with pytest.raises(RuntimeError, match="copy failed"):
        await spare.wait(_fails())


async def _fails() -> None:
    raise RuntimeError("copy failed")


async def test_a_writer_preparing_ahead_goes_without_a_collection() -> None:
    """A chain writer holds the next batch's preparation (and the cache commit's steps) as spare work; when
    a run ends before they ran, the writer and its caches must still be freed at once, not kept by a
    reference cycle until a full collection walks them."""
    writer = ChainWriter("bitcoin", "rpc")
    parsed: asyncio.Future[list[BlockRows | None]] = asyncio.get_running_loop().create_future()
    parsed.set_result([BlockRows(1, b"h" * 32, b"p" * 32, 0, [], [], [])])
    writer.upcoming(parsed)
    writer._plan_ahead()
    writer.utxos.stage({b"t" * 32: [(1, 5, "p2pkh")]}, [], [])
    writer.commit()
    gone = weakref.ref(writer.utxos), weakref.ref(writer.addresses), weakref.ref(writer)
    gc.disable()
    try:
        del writer
        assert [ref() for ref in gone] == [None, None, None]
    finally:
        gc.enable()
