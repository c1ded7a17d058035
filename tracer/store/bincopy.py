"""PostgreSQL binary COPY of integer pairs to and from numpy arrays: millions of rows without a Python
object per row (the format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4)."""

from __future__ import annotations

import io

import asyncpg
import numpy as np
import numpy.typing as npt

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = _SIGNATURE + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = b"\xff\xff"
_PAIR = np.dtype([("n", ">i2"), ("la", ">i4"), ("a", ">i8"), ("lb", ">i4"), ("b", ">i8")])


async def copy_pairs_in(
    conn: asyncpg.Connection,
    table: str,
    columns: tuple[str, str],
    a: npt.NDArray[np.integer],
    b: npt.NDArray[np.integer],
) -> None:
    """COPY rows (a[i], b[i]) of two bigint columns into ``table``."""
    rows = np.empty(a.shape[0], dtype=_PAIR)
    rows["n"], rows["la"], rows["lb"] = 2, 8, 8
    rows["a"], rows["b"] = a, b
    payload = _HEADER + rows.tobytes() + _TRAILER
    await conn.copy_to_table(table, source=io.BytesIO(payload), columns=list(columns), format="binary")


async def copy_pairs_out(
    conn: asyncpg.Connection, query: str, *args: object
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Run ``query`` (two non-NULL bigint columns) through COPY and return its columns as arrays."""
    buffer = io.BytesIO()
    await conn.copy_from_query(query, *args, output=buffer, format="binary")
    data = buffer.getvalue()
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension : len(data) - len(_TRAILER)]
    rows = np.frombuffer(body, dtype=_PAIR)
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)
