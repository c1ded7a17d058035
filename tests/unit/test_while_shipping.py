"""Rows built while a COPY is in flight (tracer.store.chaindata._while_shipping): the work's steps and the
operation take turns on the event loop, and a failing step cancels the operation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tracer.store.chaindata import _while_shipping


async def test_the_operation_runs_between_the_steps_of_the_work() -> None:
    events: list[str] = []

    async def shipping() -> None:
        for n in range(3):
            events.append(f"ship {n}")
            await asyncio.sleep(0)

    def work() -> Iterator[None]:
        for n in range(3):
            events.append(f"build {n}")
            yield

    await _while_shipping(shipping(), work())
    assert events.index("ship 0") < events.index("build 1")  # shipping started before the work ended
    assert sorted(events) == sorted([*(f"ship {n}" for n in range(3)), *(f"build {n}" for n in range(3))])


async def test_a_failing_step_cancels_the_operation_and_raises() -> None:
    cancelled = asyncio.Event()

    async def shipping() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def work() -> Iterator[None]:
        yield
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        await _while_shipping(shipping(), work())
    assert cancelled.is_set()


async def test_a_failing_operation_raises_after_the_work() -> None:
    async def shipping() -> None:
        raise RuntimeError("copy failed")

    built: list[int] = []

    def work() -> Iterator[None]:
        for n in range(2):
            built.append(n)
            yield

    with pytest.raises(RuntimeError, match="copy failed"):
        await _while_shipping(shipping(), work())
    assert built == [0, 1]
