"""Work ahead in a thread while the event loop writes: ``async for result in ahead(fn, items)``.

A label import is Python parsing (CPU, holds the GIL) then PostgreSQL inserting (CPU in the server
process). Parsing file n+1 in a thread while the server inserts file n keeps both cores busy; results
come back in input order, one at a time. An exception in ``fn`` is raised to the consumer; if the
consumer stops early (an error, a refused import), the thread stops after the item it is on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


async def ahead(fn: Callable[[T], R | None], items: Iterable[T]) -> AsyncGenerator[R, None]:
    """``fn(item)`` for each item, computed in one worker thread; None results are dropped."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                result = fn(item)
                if result is not None:
                    loop.call_soon_threadsafe(queue.put_nowait, (result,))
        except BaseException as exc:  # handed to the consumer, raised there
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    worker = asyncio.create_task(asyncio.to_thread(produce))
    try:
        while (got := await queue.get()) is not _DONE:
            if isinstance(got, BaseException):
                raise got
            yield cast("tuple[R]", got)[0]
    finally:
        stop.set()
        await worker
