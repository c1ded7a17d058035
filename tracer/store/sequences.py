"""Ids drawn from a table's identity sequence in bulk: a writer numbers its rows before COPY."""

from __future__ import annotations

import asyncpg

# One nextval and one setval, whatever the count (drawn one by one, as array_agg(nextval(...)) over
# generate_series did, ~20k ids cost a round trip of ~20-50 ms; 3-4.7 s of a 1M-tx first pass). The values
# are consecutive only because no one else draws from the sequence in between, which the caller guarantees
# (a lock that every drawer takes). A rolled-back batch leaves a gap, as always.
_RESERVE = """SELECT setval(s.seq, nextval(s.seq) + $2 - 1) - $2 + 1 FROM
              (SELECT pg_get_serial_sequence($1, 'id')::regclass AS seq) AS s"""


async def draw_range(conn: asyncpg.Connection, table: str, count: int) -> range:
    """``count`` consecutive fresh values of ``table``'s ``id`` sequence. Only while every other drawer of
    that sequence is locked out (the caller's lock): a nextval in between would take a value of the range."""
    if count == 0:
        return range(0)
    first: int = await conn.fetchval(_RESERVE, table, count)
    return range(first, first + count)
