"""CPU work a writer does while it waits on the database, so that the two run at once.

A batch writer spends part of each batch waiting for PostgreSQL (a COPY's inserts, a commit, round trips),
and PostgreSQL waits for the writer while it builds rows. Work that does not have to happen at one exact
point (the previous batch's cache commit, the next batch's preparation) is queued here as generators that
yield every few thousand rows, and ``SpareWork.wait`` steps them while a database operation is in flight:
at each yield the event loop looks at the socket, so the operation's answer is taken as soon as it comes
and the rest of the queue waits for the next operation. Whoever needs a queued result runs what is left of
that generator itself (it is the same generator: the queue then finds it exhausted).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Iterator
from typing import Any, TypeVar

_T = TypeVar("_T")


class SpareWork:
    """A queue of generators stepped, first come first served, while database operations are in flight."""

    def __init__(self) -> None:
        self._queue: deque[Iterator[None]] = deque()

    def add(self, work: Iterator[None]) -> None:
        self._queue.append(work)

    def drop(self) -> None:
        """Forget what is queued (its owners finish or discard it themselves)."""
        self._queue.clear()

    async def wait(self, operation: Awaitable[_T]) -> _T:
        """Await ``operation`` (one database operation of the writer's connection), stepping queued work
        until it ended. An error of the work cancels the operation, waits until it ended, and propagates."""
        if not self._queue:
            return await operation
        task = asyncio.ensure_future(operation)
        try:
            while not task.done() and self._queue:
                if next(self._queue[0], StopIteration) is StopIteration:
                    self._queue.popleft()
                await asyncio.sleep(0)
        except BaseException:
            await cancel(task)
            raise
        return await task


async def cancel(task: asyncio.Future[Any]) -> None:
    """Stop a database operation in flight whose rows could not all be built, and wait until it ended (the
    connection is then free for the rollback)."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
