"""The Bitcoin tables' rows as binary COPY columns (``tracer.store.bincopy``): taken column-wise from the
parse workers' flat rows (``zip(*rows)`` and numpy, no tuple per row) and encoded without asyncpg's
per-record work.

Each builder returns None when a row does not fit the fixed layout (a hash that is not 32 bytes, which only
a malformed JSON block could carry): the caller then COPYs that table's records through asyncpg as before.
The record path is also the reference the tests compare these columns with, row for row, in PostgreSQL.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import chain as concat
from operator import itemgetter
from typing import Any

import numpy as np
import numpy.typing as npt

from tracer.store.bincopy import HEADER, TRAILER, Column, Fixed, Text, encode_rows

HASH_BYTES = 32
_NO_HASH = bytes(HASH_BYTES)  # the stand-in for a NULL hash (its row's length says NULL)


def tx_columns(chain: str, blocks: Sequence[Any], tx_ids: Sequence[int]) -> list[Column] | None:
    """``transactions`` (chaindata's ``_TX_COLUMNS``): ids ``tx_ids`` in block order."""
    columns = tx_columns_but_ids(chain, blocks)
    return None if columns is None else with_ids(tx_ids, columns)


def with_ids(ids: Sequence[int], columns: list[Column]) -> list[Column]:
    """``columns`` behind an id column: the rows' ids are drawn only once the batch holds the write lock,
    its other columns may be built before."""
    return [Fixed(">i8", _ids(ids)), *columns]


def tx_columns_but_ids(chain: str, blocks: Sequence[Any]) -> list[Column] | None:
    """``tx_columns`` without the id column (``with_ids``)."""
    txs = list(concat.from_iterable(b.txs for b in blocks))
    if not txs:
        return None
    hashes = _hash_column(_column(txs, 0))
    if hashes is None:
        return None
    heights = np.repeat(np.array([b.height for b in blocks], np.int64), [len(b.txs) for b in blocks])
    return [
        Text([chain.encode()], np.zeros(len(txs), np.int8)),
        Fixed(">i4", heights),
        hashes,
        Fixed(">i4", _ints(txs, 1)),  # position
        Fixed(">i8", _ints(txs, 2)),  # version
        Fixed(">i8", _ints(txs, 3)),  # locktime
        Fixed(">i4", _ints(txs, 4)),  # size
        Fixed(">i4", _ints(txs, 5)),  # vsize
        Fixed("u1", np.array(_column(txs, 6), np.bool_)),  # is_coinbase
        Fixed(">i4", _ints(txs, 7)),  # input_count
        Fixed(">i4", _ints(txs, 8)),  # output_count
        Fixed(">i8", _ints(txs, 9)),  # output_value
    ]


def output_columns(
    blocks: Sequence[Any], tx_ids: Sequence[int], address_ids: Sequence[int | None]
) -> list[Column] | None:
    """``tx_outputs`` (``_OUTPUT_COLUMNS``) of the blocks' outputs in order, ``address_ids`` theirs."""
    outputs = list(concat.from_iterable(b.outputs for b in blocks))
    if not outputs:
        return None
    first_tx = np.cumsum([0] + [len(b.txs) for b in blocks[:-1]])  # each block's first index in tx_ids
    tx_index = np.repeat(first_tx, [len(b.outputs) for b in blocks]) + _ints(outputs, 0)
    return [
        Fixed(">i8", _ids(tx_ids)[tx_index]),
        Fixed(">i4", _ints(outputs, 1)),  # vout
        _int_column(">i8", address_ids),
        Fixed(">i8", _ints(outputs, 3)),  # value
        _text_column(_column(outputs, 4)),  # script_type
    ]


def input_columns(rows: Sequence[Sequence[Any]]) -> list[Column] | None:
    """``tx_inputs`` (``_INPUT_COLUMNS``) of chaindata's finished input rows."""
    if not rows:
        return None
    hashes = _hash_column(_column(rows, 2))  # prev_txid
    if hashes is None:
        return None
    return [
        Fixed(">i8", _ints(rows, 0)),  # tx_id
        Fixed(">i4", _ints(rows, 1)),  # vin
        hashes,
        _int_column(">i8", _column(rows, 3)),  # prev_vout
        Fixed(">i8", _ints(rows, 4)),  # sequence
        _int_column(">i8", _column(rows, 5)),  # address_id
        _int_column(">i8", _column(rows, 6)),  # value
        _text_column(_column(rows, 7)),  # script_type
        _text_column(_column(rows, 8)),  # source
    ]


def address_payload(chain: str, ids: Sequence[int], addresses: Sequence[str]) -> bytes | None:
    """The ``addresses`` rows (id, chain, address) as one binary COPY stream, or None when an address is
    not ASCII. ``addresses`` sorted by length (``sorted(..., key=len)``): each run of one length is one
    fixed-width group, its text joined and encoded in one call, not one per address."""
    id_column, parts, start = _ids(ids), [], 0
    while start < len(addresses):
        length = len(addresses[start])
        end = bisect_right(addresses, length, lo=start, key=len)
        text = "".join(addresses[start:end]).encode()
        if len(text) != length * (end - start) or not length:  # a multi-byte character, or ""
            return None
        chain_column = Text([chain.encode()], np.zeros(end - start, np.int8))
        address_column = Fixed(f"S{length}", np.frombuffer(text, f"S{length}"))
        parts.append(encode_rows([Fixed(">i8", id_column[start:end]), chain_column, address_column]))
        start = end
    return HEADER + b"".join(parts) + TRAILER


def _column(rows: Sequence[Sequence[Any]], k: int) -> list[Any]:
    """Field ``k`` of every row (``zip(*rows)`` costs ~10x more with thousands of rows)."""
    return list(map(itemgetter(k), rows))


def _ints(rows: Sequence[Sequence[Any]], k: int) -> npt.NDArray[np.int64]:
    return np.array(_column(rows, k), np.int64)


def _ids(ids: Sequence[int]) -> npt.NDArray[np.int64]:
    if isinstance(ids, range):
        return np.arange(ids.start, ids.stop, ids.step, dtype=np.int64)
    return np.array(ids, np.int64)


def _int_column(fmt: str, values: Sequence[int | None]) -> Fixed:
    """Integers, some of them None (NULL)."""
    try:
        return Fixed(fmt, np.array(values, np.int64))  # the common case: no NULL, no per-value check
    except TypeError:
        pass
    objects = np.array(values, dtype=object)
    null = _nulls(objects)
    objects[null] = 0
    return Fixed(fmt, objects.astype(np.int64), null)


def _text_column(values: Sequence[str | None]) -> Text:
    labels = sorted(v for v in set(values) if v is not None)
    codes: dict[str | None, int] = {label: k for k, label in enumerate(labels)}
    codes[None] = -1  # NULL
    return Text(
        [v.encode() for v in labels], np.fromiter(map(codes.__getitem__, values), np.int16, len(values))
    )


def _hash_column(values: Sequence[bytes | None]) -> Fixed | None:
    """32-byte hashes, some None (NULL); None when one is another length."""
    null = _nulls(np.array(values, dtype=object))
    nulls = bool(null.any())
    items: Sequence[bytes] = [v if v is not None else _NO_HASH for v in values] if nulls else values  # type: ignore[assignment]
    joined = b"".join(items)
    # 32 bytes each: the total, and none shorter (a 31- and a 33-byte value must not pass as two hashes).
    if len(joined) != HASH_BYTES * len(values) or min(map(len, items)) != HASH_BYTES:
        return None
    return Fixed(f"V{HASH_BYTES}", np.frombuffer(joined, f"V{HASH_BYTES}"), null if nulls else None)


def _nulls(objects: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    found: npt.NDArray[np.bool_] = objects == None  # noqa: E711  # elementwise, in C
    return found
