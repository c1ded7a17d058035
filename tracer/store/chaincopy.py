"""The Bitcoin tables' rows as binary COPY columns (``tracer.store.bincopy``): taken column-wise from the
parse workers' flat rows (``zip(*rows)`` once, then numpy from each column's tuple, no tuple per row) and
encoded without asyncpg's per-record work.

Each builder returns None when a row does not fit the fixed layout (a hash that is not 32 bytes, which only
a malformed JSON block could carry): the caller then COPYs that table's records through asyncpg as before.
The record path is also the reference the tests compare these columns with, row for row, in PostgreSQL.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import chain as concat
from itertools import compress, count, repeat
from operator import is_
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
    txid, position, version, locktime, size, vsize, coinbase, inputs, outputs, value = zip(*txs, strict=True)
    hashes = _hash_column(txid)
    if hashes is None:
        return None
    heights = np.repeat(np.array([b.height for b in blocks], np.int64), [len(b.txs) for b in blocks])
    return [
        Text([chain.encode()], np.zeros(len(txs), np.int8)),
        Fixed(">i4", heights),
        hashes,
        Fixed(">i4", _ints(position)),
        Fixed(">i8", _ints(version)),
        Fixed(">i8", _ints(locktime)),
        Fixed(">i4", _ints(size)),
        Fixed(">i4", _ints(vsize)),
        Fixed("u1", np.fromiter(coinbase, np.bool_, len(coinbase))),
        Fixed(">i4", _ints(inputs)),
        Fixed(">i4", _ints(outputs)),
        Fixed(">i8", _ints(value)),
    ]


def output_columns(
    blocks: Sequence[Any], tx_ids: Sequence[int], address_ids: Sequence[int | None]
) -> list[Column] | None:
    """``tx_outputs`` (``_OUTPUT_COLUMNS``) of the blocks' outputs in order, ``address_ids`` theirs."""
    outputs = list(concat.from_iterable(b.outputs for b in blocks))
    if not outputs:
        return None
    position, vout, _, value, script_type = zip(*outputs, strict=True)
    first_tx = np.cumsum([0] + [len(b.txs) for b in blocks[:-1]])  # each block's first index in tx_ids
    tx_index = np.repeat(first_tx, [len(b.outputs) for b in blocks]) + _ints(position)
    return [
        Fixed(">i8", _ids(tx_ids)[tx_index]),
        Fixed(">i4", _ints(vout)),
        _int_column(">i8", address_ids),
        Fixed(">i8", _ints(value)),
        _text_column(script_type),
    ]


def input_columns(rows: Sequence[Sequence[Any]]) -> list[Column] | None:
    """``tx_inputs`` (``_INPUT_COLUMNS``) of chaindata's finished input rows."""
    if not rows:
        return None
    tx_id, vin, prev_txid, prev_vout, sequence, address_id, value, script_type, source = zip(
        *rows, strict=True
    )
    hashes = _hash_column(prev_txid)
    if hashes is None:
        return None
    return [
        Fixed(">i8", _ints(tx_id)),
        Fixed(">i4", _ints(vin)),
        hashes,
        _int_column(">i8", prev_vout),
        Fixed(">i8", _ints(sequence)),
        _int_column(">i8", address_id),
        _int_column(">i8", value),
        _text_column(script_type),
        _text_column(source),
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
    return b"".join([HEADER, *parts, TRAILER])


def _ints(values: Sequence[int]) -> npt.NDArray[np.int64]:
    """A column without NULLs (``np.fromiter`` with its length: no look at each value's shape, as
    ``np.array`` takes)."""
    return np.fromiter(values, np.int64, len(values))


def _ids(ids: Sequence[int]) -> npt.NDArray[np.int64]:
    if isinstance(ids, range):
        return np.arange(ids.start, ids.stop, ids.step, dtype=np.int64)
    return np.array(ids, np.int64)


def _int_column(fmt: str, values: Sequence[int | None]) -> Fixed:
    """Integers, some of them None (NULL)."""
    try:
        return Fixed(fmt, _ints(values))  # type: ignore[arg-type]  # the common case: no NULL to look for
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
    """32-byte hashes, some None (NULL: a coinbase's prev_txid, one in a block); None when one is another
    length."""
    where = list(compress(count(), map(is_, values, repeat(None))))  # the NULLs, by identity (no __eq__)
    items: list[bytes] | Sequence[bytes] = values  # type: ignore[assignment]  # no None: checked
    null = None
    if where:
        items = list(values)  # type: ignore[arg-type]  # its None replaced now
        for at in where:
            items[at] = _NO_HASH
        null = np.zeros(len(values), np.bool_)
        null[where] = True
    joined = b"".join(items)
    # 32 bytes each: the total, and none shorter (a 31- and a 33-byte value must not pass as two hashes).
    if len(joined) != HASH_BYTES * len(values) or min(map(len, items)) != HASH_BYTES:
        return None
    return Fixed(f"V{HASH_BYTES}", np.frombuffer(joined, f"V{HASH_BYTES}"), null)


def _nulls(objects: npt.NDArray[np.object_]) -> npt.NDArray[np.bool_]:
    found: npt.NDArray[np.bool_] = objects == None  # noqa: E711  # elementwise, in C
    return found
