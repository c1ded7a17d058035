"""PostgreSQL binary COPY of integer pairs to and from numpy arrays: millions of rows without a Python
object per row (the format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
import numpy as np
import numpy.typing as npt

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = _SIGNATURE + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")  # a binary COPY stream's start
TRAILER = b"\xff\xff"  # and end
_PAIR = np.dtype([("n", ">i2"), ("la", ">i4"), ("a", ">i8"), ("lb", ">i4"), ("b", ">i8")])
# Bytes handed to asyncpg at a time by ``copy_columns_in`` (its own chunk when it reads a file).
_CHUNK_BYTES = 524_288


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
    payload = HEADER + rows.tobytes() + TRAILER
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
    body = data[19 + extension : len(data) - len(TRAILER)]
    rows = np.frombuffer(body, dtype=_PAIR)
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


# --- rows of several typed columns ------------------------------------------------------------------------
# Encoding a batch's rows here instead of through ``copy_records_to_table`` (asyncpg encodes record by record,
# field by field: ~1 us a row, ~6.5 s of the main process at 1M transactions): rows that share a layout (the
# same columns NULL, the same text in each text column) have a fixed width, so each such group is one numpy
# structured array filled column by column. Rows come out grouped by layout, not in their given order: COPY
# inserts a set of rows, and nothing reads a table's physical order.


@dataclass(frozen=True, slots=True)
class Fixed:
    """A fixed-width column: ``values`` (anything numpy casts to ``fmt``) and which rows are NULL."""

    fmt: str  # big-endian numpy dtype of the binary value: ">i4" integer, ">i8" bigint, "u1" boolean, "V32"
    values: npt.NDArray[Any]
    null: npt.NDArray[np.bool_] | None = None


@dataclass(frozen=True, slots=True)
class Text:
    """A text column of few distinct values: ``codes[i]`` indexes ``labels``, -1 is NULL."""

    labels: Sequence[bytes]  # UTF-8
    codes: npt.NDArray[np.integer]


Column: TypeAlias = Fixed | Text


def encode_rows(columns: Sequence[Column]) -> bytes:
    """The rows' binary COPY tuples, grouped by layout (see above)."""
    return b"".join(_encoded_groups(columns))


def _encoded_groups(columns: Sequence[Column]) -> Iterator[memoryview]:
    """The rows' tuples, one group of a layout at a time, as the bytes of its array (no copy)."""
    n = len(columns[0].codes) if isinstance(columns[0], Text) else len(columns[0].values)
    if n == 0:
        return
    states = [_states(c) for c in columns]
    key, radix = np.zeros(n, np.int64), 1
    for s, count in states:
        if s is not None:
            key += s.astype(np.int64) * radix
            radix *= count
    if radix == 1:
        yield _encode_group(columns, None, [0] * len(columns))
        return
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], n]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        group_key, layout = int(ordered[start]), []
        for s, count in states:
            layout.append(group_key % count if s is not None else 0)
            group_key //= count if s is not None else 1
        yield _encode_group(columns, order[start:end], layout)


def _states(column: Column) -> tuple[npt.NDArray[Any] | None, int]:
    """Each row's layout state in this column (None: one state for all) and how many states there are:
    a fixed column NULL (1) or not (0); a text column NULL (0) or label k (k + 1)."""
    if isinstance(column, Text):
        return column.codes + 1, len(column.labels) + 1
    if column.null is None or not column.null.any():
        return None, 1
    return column.null, 2


def _encode_group(
    columns: Sequence[Column], rows: npt.NDArray[np.intp] | None, layout: list[int]
) -> memoryview:
    """Rows ``rows`` (None: all), which share ``layout`` (their state in each column), as one structured
    array: a field count, then each column's length (-1: NULL) and value."""
    fields: list[tuple[str, str]] = [("n", ">i2")]
    for k, (column, state) in enumerate(zip(columns, layout, strict=True)):
        fields.append((f"l{k}", ">i4"))
        if isinstance(column, Text) and state and column.labels[state - 1]:  # "" has no bytes
            fields.append((f"v{k}", f"S{len(column.labels[state - 1])}"))
        elif isinstance(column, Fixed) and not state:
            fields.append((f"v{k}", column.fmt))
    size = len(rows) if rows is not None else len(_any_values(columns[0]))
    out = np.empty(size, dtype=np.dtype(fields))
    out["n"] = len(columns)
    for k, (column, state) in enumerate(zip(columns, layout, strict=True)):
        if isinstance(column, Text):
            label = column.labels[state - 1] if state else None
            out[f"l{k}"] = -1 if label is None else len(label)
            if label:
                out[f"v{k}"] = label
        elif state:
            out[f"l{k}"] = -1
        else:
            out[f"l{k}"] = np.dtype(column.fmt).itemsize
            out[f"v{k}"] = column.values if rows is None else column.values[rows]
    return memoryview(out.view(np.uint8))  # type: ignore[arg-type]  # numpy arrays have the buffer protocol


def _any_values(column: Column) -> npt.NDArray[Any]:
    return column.codes if isinstance(column, Text) else column.values


async def copy_columns_in(
    conn: asyncpg.Connection, table: str, names: Sequence[str], columns: Sequence[Column]
) -> None:
    """COPY ``columns`` (named ``names``) into ``table`` in PostgreSQL's binary format.

    The rows go to asyncpg as they are encoded, a group's array in slices, not as one payload read from a
    file object: that took five copies of every byte before asyncpg's own (the group's bytes, their join,
    the header and trailer added, the file's reads) and a hop to a thread per 512 kB read (bench chain,
    1M txs: 746 MB of transactions, outputs and inputs)."""
    await conn.copy_to_table(table, source=_stream(columns), columns=list(names), format="binary")


async def _stream(columns: Sequence[Column]) -> AsyncIterator[bytes | memoryview]:
    yield HEADER
    for group in _encoded_groups(columns):
        for start in range(0, len(group), _CHUNK_BYTES):
            yield group[start : start + _CHUNK_BYTES]
    yield TRAILER
