"""Columnar reads for the clustering job: the inputs and outputs of a span of transactions as integer
arrays through PostgreSQL binary COPY, without a Python object per row (tracer.clustering.columnar)."""

from __future__ import annotations

import asyncpg
import numpy as np
import numpy.typing as npt

from tracer.store.bincopy import copy_pairs_out

Ids = npt.NDArray[np.int64]

# COPY from a query takes no parameters on every server version: the bounds are integers, the chain a literal.
_SPAN = """tx_id > {after} AND tx_id <= {upto}
    AND tx_id IN (SELECT id FROM transactions WHERE chain = {chain} AND id > {after} AND id <= {upto})"""
_INPUTS = "SELECT tx_id, COALESCE(address_id, -1) FROM tx_inputs WHERE " + _SPAN
_OUTPUTS = "SELECT tx_id, value FROM tx_outputs WHERE " + _SPAN
_HEADERS = """SELECT id, txid, block_height, position FROM transactions
              WHERE id = ANY($1::bigint[]) ORDER BY id"""


async def input_columns(conn: asyncpg.Connection, chain: str, after: int, upto: int) -> tuple[Ids, Ids]:
    """(tx id, address id or -1 when unknown) of every input of ``chain``'s transactions in (after, upto]."""
    return await copy_pairs_out(conn, _INPUTS.format(**_bounds(chain, after, upto)))


async def output_columns(conn: asyncpg.Connection, chain: str, after: int, upto: int) -> tuple[Ids, Ids]:
    """(tx id, value in base units) of every output of ``chain``'s transactions in (after, upto]."""
    return await copy_pairs_out(conn, _OUTPUTS.format(**_bounds(chain, after, upto)))


async def tx_headers(conn: asyncpg.Connection, tx_ids: Ids) -> list[asyncpg.Record]:
    """(id, txid bytes, block height, position) of ``tx_ids``, in id order."""
    rows: list[asyncpg.Record] = await conn.fetch(_HEADERS, tx_ids.tolist())
    return rows


def _bounds(chain: str, after: int, upto: int) -> dict[str, str]:
    return {"after": str(int(after)), "upto": str(int(upto)), "chain": "'" + chain.replace("'", "''") + "'"}
