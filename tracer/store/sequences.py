"""Ids drawn from a table's identity sequence in bulk: a writer numbers its rows before COPY."""

from __future__ import annotations

import asyncpg

# The sequence is looked up once (OFFSET 0 keeps the sub-select from being inlined): looked up per row, as
# nextval(pg_get_serial_sequence(...)) does, 20k ids took 184 ms instead of 16.
_DRAW = """SELECT array_agg(nextval(s.seq)) FROM
           (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq OFFSET 0) AS s, generate_series(1, $2)"""


async def draw_ids(conn: asyncpg.Connection, table: str, count: int) -> list[int]:
    """``count`` fresh values of ``table``'s ``id`` sequence (a rolled-back batch leaves a gap, as always)."""
    if count == 0:
        return []
    ids: list[int] = await conn.fetchval(_DRAW, table, count)
    return ids
