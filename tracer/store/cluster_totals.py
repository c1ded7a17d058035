"""Bitcoin cluster aggregates of a full run over columns: received, sent, first and last block of every
cluster from the outputs and inputs of its members, streamed a span of transactions at a time through
binary COPY and summed in integer arrays (exact: int64 holds 9.2e18 sat). The same figures as the set-based
SQL in tracer.store.cluster_aggregates, which a test holds it to, without one join of every member against
the whole chain; memory is the arrays per cluster plus one span."""

from __future__ import annotations

import io

import asyncpg
import numpy as np
import numpy.typing as npt

from tracer.store.cluster_aggregates import NATIVE_ASSET

Ids = npt.NDArray[np.int64]
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_TRIPLE = np.dtype(
    [("n", ">i2"), ("la", ">i4"), ("a", ">i8"), ("lb", ">i4"), ("b", ">i8"), ("lc", ">i4"), ("c", ">i8")]
)
SPAN = 200_000  # transaction ids per read
# (address, value or 0 when unknown, block height) of a span's outputs and of its inputs with a known address.
_ROWS = """SELECT x.address_id, COALESCE(x.value, 0), t.block_height::bigint
FROM {table} x JOIN transactions t ON t.id = x.tx_id
WHERE t.chain = {chain} AND t.id > {low} AND t.id <= {high} AND x.address_id IS NOT NULL"""


class Totals:
    """Running totals per cluster; clusters are given as (member ids, their cluster ids)."""

    def __init__(self, members: Ids, cluster_ids: Ids, capacity: int) -> None:
        self.clusters, position = np.unique(cluster_ids, return_inverse=True)
        self._slot = np.full(capacity, -1, dtype=np.int64)
        self._slot[members] = position
        k = self.clusters.size
        self.received, self.sent = np.zeros(k, np.int64), np.zeros(k, np.int64)
        self.first = np.full(k, np.iinfo(np.int64).max, np.int64)
        self.last = np.full(k, -1, np.int64)
        self.seen = np.zeros(k, dtype=bool)

    def add(self, rows: npt.NDArray[np.void], into: npt.NDArray[np.int64]) -> None:
        address, value, height = (
            rows["a"].astype(np.int64),
            rows["b"].astype(np.int64),
            rows["c"].astype(np.int64),
        )
        inside = address < self._slot.size
        slot = np.full(address.size, -1, dtype=np.int64)
        slot[inside] = self._slot[address[inside]]
        keep = slot >= 0
        slot, value, height = slot[keep], value[keep], height[keep]
        np.add.at(into, slot, value)
        np.minimum.at(self.first, slot, height)
        np.maximum.at(self.last, slot, height)
        self.seen[slot] = True


async def bitcoin_totals(
    conn: asyncpg.Connection, chain: str, membership: tuple[Ids, Ids, int], upto: int
) -> Totals:
    """Totals of every cluster of ``chain`` over transactions with ids up to ``upto``."""
    totals = Totals(*membership)
    literal = "'" + chain.replace("'", "''") + "'"
    for low in range(0, upto, SPAN):
        bounds = {"chain": literal, "low": low, "high": min(low + SPAN, upto)}
        totals.add(await _copy_triples(conn, _ROWS.format(table="tx_outputs", **bounds)), totals.received)
        totals.add(await _copy_triples(conn, _ROWS.format(table="tx_inputs", **bounds)), totals.sent)
    return totals


async def write_bitcoin_totals(conn: asyncpg.Connection, totals: Totals) -> None:
    """Store the totals: one cluster_assets row per cluster with activity, and first/last block."""
    seen = np.flatnonzero(totals.seen)
    ids = totals.clusters[seen].tolist()
    await conn.copy_records_to_table(
        "cluster_assets",
        records=zip(
            ids,
            [NATIVE_ASSET] * len(ids),
            totals.received[seen].tolist(),
            totals.sent[seen].tolist(),
            strict=True,
        ),
        columns=("cluster_id", "asset", "received", "sent"),
    )
    await conn.execute("CREATE TEMP TABLE _heights (id bigint, lo integer, hi integer) ON COMMIT DROP")
    await conn.copy_records_to_table(
        "_heights",
        records=zip(ids, totals.first[seen].tolist(), totals.last[seen].tolist(), strict=True),
    )
    await conn.execute(
        "UPDATE clusters c SET first_height = h.lo, last_height = h.hi FROM _heights h WHERE c.id = h.id"
    )
    await conn.execute("DROP TABLE _heights")


async def _copy_triples(conn: asyncpg.Connection, query: str) -> npt.NDArray[np.void]:
    buffer = io.BytesIO()
    await conn.copy_from_query(query, output=buffer, format="binary")
    data = buffer.getvalue()
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(data[15:19], "big")
    return np.frombuffer(data[19 + extension : len(data) - 2], dtype=_TRIPLE)
