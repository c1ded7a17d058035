"""Work ahead in a thread while the event loop writes: ``async for result in ahead(fn, items)``.

A label import is Python parsing (CPU, holds the GIL) then PostgreSQL inserting (CPU in the server
process). Parsing file n+1 in a thread while the server inserts file n keeps both cores busy; results
come back in input order, one at a time. An exception in ``fn`` is raised to the consumer; if the
consumer stops early (an error, a refused import), the thread stops after the item it is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable, Iterable
from typing import TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


async def ahead(fn: Callable[[T], R | None], items: Iterable[T]) -> AsyncGenerator[R, None]:
    """``fn(item)`` for each item, computed in one worker thread; None results are dropped."""
    async with contextlib.aclosing(ahead_ready(fn, items)) as ready:
        async for results in ready:
            for result in results:
                yield result


async def ahead_ready(fn: Callable[[T], R | None], items: Iterable[T]) -> AsyncGenerator[list[R], None]:
    """As ``ahead``, each step yielding every result the worker has finished (at least one): a consumer
    slower than the worker takes what piled up while it was busy in one go."""
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
        while True:
            got = [await queue.get()]
            while isinstance(got[-1], tuple) and not queue.empty():
                got.append(queue.get_nowait())
            results = [cast("tuple[R]", g)[0] for g in got if isinstance(g, tuple)]
            if results:
                yield results
            if isinstance(got[-1], BaseException):
                raise got[-1]
            if got[-1] is _DONE:
                return
    finally:
        stop.set()
        await worker
