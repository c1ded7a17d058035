"""Where an indexer run records how far it got, in the same transaction as the rows it wrote.

``CursorPosition``: one indexer per (chain, source); ``index_cursors.next_height`` says where to resume.
``tracer.indexer.leases.LeasePosition``: one of several workers sharing a height range; progress lives on
its lease row, and every commit is conditional on still holding the lease.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

from tracer.store.chaindata import move_cursor


class Position(Protocol):
    async def advance(self, conn: asyncpg.Connection, next_height: int) -> None:
        """Record that every height below ``next_height`` of this run is stored (inside the batch's
        transaction). Raise to roll the batch back (e.g. ``LeaseLost``)."""
        ...

    async def rewind(self, conn: asyncpg.Connection, height: int) -> None:
        """A reorg dropped our blocks from ``height`` up: resume there. Raise if this position may not
        drop blocks (a shared range must not delete what other workers own)."""
        ...


class CursorPosition:
    """The per-(chain, source) cursor in ``index_cursors``."""

    def __init__(self, chain: str, source: str) -> None:
        self.chain = chain
        self.source = source

    async def advance(self, conn: asyncpg.Connection, next_height: int) -> None:
        await move_cursor(conn, self.chain, self.source, next_height)

    async def rewind(self, conn: asyncpg.Connection, height: int) -> None:
        await move_cursor(conn, self.chain, self.source, height)
