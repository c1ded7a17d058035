"""The chain tables' binary COPY columns (``tracer.store.chaincopy`` encoded by ``tracer.store.bincopy``)
store exactly the rows the record path (asyncpg's ``copy_records_to_table``, the reference) stores: on real
bundled blocks and on a generated chain, NULLs included; and the encoder's bytes are, row for row, those
of a plain ``struct`` encoder."""

from __future__ import annotations

import io
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest

from chains.bitcoin.files import read_raw_blocks
from chains.bitcoin.parse import parse_block_rows
from tracer.devnode.chaingen import generate_blocks
from tracer.store import bincopy
from tracer.store.bincopy import Column, Fixed, Text, copy_columns_in, encode_rows
from tracer.store.chaincopy import address_payload, input_columns, output_columns, tx_columns
from tracer.store.chaindata import (
    _INPUT_COLUMNS,
    _OUTPUT_COLUMNS,
    _TX_COLUMNS,
    BlockRows,
    block_rows,
    output_records,
    tx_records,
)

FIXTURES = Path(__file__).parents[1] / "fixtures/bitcoin/raw"
REAL = [FIXTURES / "btcd/277647.dat.bz2", FIXTURES / "rsksmart/block-696394-mainnet.txt.gz"]


def real_blocks() -> list[BlockRows]:
    return [block_rows(b) for path in REAL for b in read_raw_blocks(path)]


def generated_blocks() -> list[BlockRows]:
    return [BlockRows(*parse_block_rows(raw, h)) for h, raw in enumerate(generate_blocks(3_000, 7, 500))]


def address_ids(blocks: Sequence[BlockRows]) -> tuple[list[int | None], dict[str, int]]:
    ids: dict[str, int] = {}
    out = [
        ids.setdefault(o[2], len(ids) + 1) if o[2] is not None else None for b in blocks for o in b.outputs
    ]
    return out, ids


def input_rows(blocks: Sequence[BlockRows], tx_ids: range, ids: dict[str, int]) -> list[list[object]]:
    """Rows as chaindata builds them: every third input resolved (address id, value, type, 'stored')."""
    rows: list[list[object]] = []
    base = 0
    for b in blocks:
        for pos, vin, prev, vout, seq, address, value, script, source in b.inputs:
            address_id = ids.setdefault(address, len(ids) + 1) if address is not None else None
            row: list[object] = [tx_ids[base + pos], vin, prev, vout, seq, address_id, value, script, source]
            if prev is not None and len(rows) % 3 == 0:
                row[5:] = [None if len(rows) % 2 else 7, 1_000 + vin, "p2wpkh", "stored"]
            rows.append(row)
        base += len(b.txs)
    return rows


async def same_rows(
    conn: asyncpg.Connection, table: str, names: Sequence[str], columns: Any, records: list[Any]
) -> None:
    await conn.execute(f"CREATE TEMP TABLE ours (LIKE {table}); CREATE TEMP TABLE theirs (LIKE {table})")
    await copy_columns_in(conn, "ours", names, columns)
    await conn.copy_records_to_table("theirs", records=records, columns=list(names))
    order = ", ".join(names[:2])
    ours = await conn.fetch(f"SELECT {', '.join(names)} FROM ours ORDER BY {order}")
    theirs = await conn.fetch(f"SELECT {', '.join(names)} FROM theirs ORDER BY {order}")
    assert len(ours) == len(records) and [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    await conn.execute("DROP TABLE ours; DROP TABLE theirs")


@pytest.mark.parametrize("source", [real_blocks, generated_blocks], ids=["real", "generated"])
async def test_columns_store_the_rows_records_store(pool: asyncpg.Pool, source: Any) -> None:
    blocks = source()
    tx_ids = range(10, 10 + sum(len(b.txs) for b in blocks))
    out_ids, ids = address_ids(blocks)
    inputs = input_rows(blocks, tx_ids, ids)
    assert any(r[2] is None for r in inputs) and any(r[5] is None for r in inputs)  # NULLs are exercised
    assert None in out_ids or source is generated_blocks
    async with pool.acquire() as conn:
        txs = tx_columns("bitcoin", blocks, tx_ids)
        await same_rows(conn, "transactions", _TX_COLUMNS, txs, tx_records("bitcoin", blocks, tx_ids))
        outs = output_columns(blocks, tx_ids, out_ids)
        await same_rows(conn, "tx_outputs", _OUTPUT_COLUMNS, outs, output_records(blocks, tx_ids, out_ids))
        await same_rows(conn, "tx_inputs", _INPUT_COLUMNS, input_columns(inputs), inputs)


def test_a_hash_of_another_length_falls_back_to_records() -> None:
    blocks = generated_blocks()[:2]
    short = blocks[1]._replace(txs=[(b"\x01" * 31, *blocks[1].txs[0][1:])])
    assert tx_columns("bitcoin", [blocks[0], short], range(1, 100)) is None
    row: list[object] = [1, 0, b"\x02" * 33, 0, 0, None, None, None, "unresolved"]
    assert input_columns([row]) is None
    # A 31- and a 33-byte hash total 64 bytes, as two hashes would.
    uneven = [[1, k, b"\x02" * size, 0, 0, None, None, None, "unresolved"] for k, size in enumerate((31, 33))]
    assert input_columns(uneven) is None


async def test_rows_cut_anywhere_between_copy_messages_store_the_same_rows(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``copy_columns_in`` hands asyncpg each group's bytes in slices (one CopyData message each): cut
    every 7 bytes, through tuples and values, the server still stores the record path's rows."""
    monkeypatch.setattr(bincopy, "_CHUNK_BYTES", 7)
    blocks = real_blocks()
    tx_ids = range(10, 10 + sum(len(b.txs) for b in blocks))
    out_ids, ids = address_ids(blocks)
    inputs = input_rows(blocks, tx_ids, ids)
    async with pool.acquire() as conn:
        outs = output_columns(blocks, tx_ids, out_ids)
        await same_rows(conn, "tx_outputs", _OUTPUT_COLUMNS, outs, output_records(blocks, tx_ids, out_ids))
        await same_rows(conn, "tx_inputs", _INPUT_COLUMNS, input_columns(inputs), inputs)


def test_a_null_hash_does_not_hide_one_of_another_length() -> None:
    """A NULL prev_txid (a coinbase's) stands for 32 bytes of zeros in the joined hashes: a 31-byte hash
    beside a 33-byte one still sends the rows to the record path, wherever the NULLs are."""
    sizes = (None, 31, None, 33, None)
    rows = [
        [1, k, None if s is None else b"\x02" * s, 0, 0, None, None, None, "unresolved"]
        for k, s in enumerate(sizes)
    ]
    assert input_columns(rows) is None
    rows[1][2] = rows[3][2] = b"\x02" * 32
    assert input_columns(rows) is not None


def reference_row(fields: Sequence[bytes | None]) -> bytes:
    """One binary COPY tuple, the way the format's documentation spells it."""
    out = struct.pack(">h", len(fields))
    for f in fields:
        out += struct.pack(">i", -1) if f is None else struct.pack(">i", len(f)) + f
    return out


def split_rows(body: bytes, n_columns: int) -> list[bytes]:
    rows, at = [], 0
    while at < len(body):
        start, at = at, at + 2
        for _ in range(n_columns):
            (length,) = struct.unpack_from(">i", body, at)
            at += 4 + max(length, 0)
        rows.append(body[start:at])
    return rows


def test_encoded_rows_are_the_struct_encoders_rows() -> None:
    rng = np.random.default_rng(3)
    n = 500
    ints = rng.integers(-(2**40), 2**40, n)
    small = rng.integers(0, 2**31, n)
    null = rng.random(n) < 0.3
    codes = rng.integers(-1, 3, n)
    labels = [b"p2pkh", b"", b"witness_v0_keyhash"]
    flags = rng.random(n) < 0.5
    hashes = rng.bytes(32 * n)
    columns: list[Column] = [
        Fixed(">i8", ints, null),
        Fixed(">i4", small),
        Text(labels, codes),
        Fixed("u1", flags),
        Fixed("V32", np.frombuffer(hashes, "V32")),
    ]
    expected = [
        reference_row(
            [
                None if null[i] else struct.pack(">q", ints[i]),
                struct.pack(">i", small[i]),
                None if codes[i] < 0 else labels[codes[i]],
                bytes([int(flags[i])]),
                hashes[32 * i : 32 * i + 32],
            ]
        )
        for i in range(n)
    ]
    assert sorted(split_rows(encode_rows(columns), 5)) == sorted(expected)


async def test_address_rows_are_the_records_rows(pool: asyncpg.Pool) -> None:
    blocks = real_blocks()
    addresses = sorted({o[2] for b in blocks for o in b.outputs if o[2] is not None}, key=len)
    assert len({len(a) for a in addresses}) > 2  # several runs of one length
    ids = range(5, 5 + len(addresses))
    payload = address_payload("bitcoin", ids, addresses)
    assert payload is not None
    names = ["id", "chain", "address"]
    async with pool.acquire() as conn:
        await conn.execute(
            "CREATE TEMP TABLE ours (LIKE addresses); CREATE TEMP TABLE theirs (LIKE addresses)"
        )
        await conn.copy_to_table("ours", source=io.BytesIO(payload), columns=names, format="binary")
        records = list(zip(ids, ["bitcoin"] * len(ids), addresses, strict=True))
        await conn.copy_records_to_table("theirs", records=records, columns=names)
        ours = await conn.fetch("SELECT id, chain, address FROM ours ORDER BY id")
        assert [tuple(r) for r in ours] == records
        assert ours == await conn.fetch("SELECT id, chain, address FROM theirs ORDER BY id")
    assert address_payload("bitcoin", range(2), ["ab", "bé"]) is None  # not ASCII: the record path
