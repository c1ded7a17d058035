"""What taint tracing reads: transactions with their ordered inputs and outputs, found by the coins they
spend or create. One interface (``TxSource``), one implementation per storage model.

A coin is a transaction output, named by (txid, vout). ``UtxoTxs`` reads tx_inputs / tx_outputs (Bitcoin);
``tracer.store.account_trace_reads.AccountTxs`` reads the ``transfers`` of one asset (EVM, TRON) as coins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import asyncpg

Coin = tuple[bytes, int]  # (txid, vout)


@dataclass(frozen=True, slots=True)
class TxIn:
    prev: Coin | None  # None for a coinbase input
    address: str | None  # None: not known (non-standard script, or not derivable)
    value: int | None  # None: the spent output is not indexed


@dataclass(frozen=True, slots=True)
class TxOut:
    address: str | None  # None: no address (OP_RETURN, non-standard)
    value: int | None  # None: not known (an account's balance after value no transfer brought in)


@dataclass(frozen=True, slots=True)
class TxFlow:
    txid: bytes
    height: int
    time: datetime
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]


class TxSource(Protocol):
    @property
    def truncated_by(self) -> set[str]:
        """Reads the source itself cut short (a bound of its own, not the trace's), named for the answer."""
        ...

    async def spending(self, coins: Sequence[Coin]) -> list[TxFlow]: ...

    async def creating(self, coins: Sequence[Coin]) -> list[TxFlow]: ...

    async def coins_of(self, address_ids: Sequence[int], limit: int) -> list[tuple[Coin, int]]: ...

    async def coins_of_transaction(self, txid: bytes) -> list[tuple[Coin, int]] | None:
        """What a transaction paid out (the trace's start), None if it is not indexed."""
        ...


_SPENDERS = """
SELECT DISTINCT i.tx_id FROM unnest($1::bytea[], $2::bigint[]) c (txid, vout)
JOIN tx_inputs i ON i.prev_txid = c.txid AND i.prev_vout = c.vout
"""
# A txid in two blocks (BIP30's repeated coinbases, migration 029): the latest one, whose outputs a later
# spend takes (Bitcoin Core's UTXO set overwrites the earlier, unspent copy).
_CREATORS = """
SELECT DISTINCT ON (txid) id FROM transactions WHERE chain = $1 AND txid = ANY($2::bytea[])
ORDER BY txid, block_height DESC
"""
_TXS = """
SELECT t.id, t.txid, t.block_height, b.time FROM transactions t
JOIN blocks b ON b.chain = t.chain AND b.height = t.block_height
WHERE t.id = ANY($1::bigint[]) ORDER BY t.block_height, t.position
"""
_INPUTS = """
SELECT i.tx_id, i.prev_txid, i.prev_vout, i.value, a.address FROM tx_inputs i
LEFT JOIN addresses a ON a.id = i.address_id WHERE i.tx_id = ANY($1::bigint[]) ORDER BY i.tx_id, i.vin
"""
_OUTPUTS = """
SELECT o.tx_id, o.value, a.address FROM tx_outputs o
LEFT JOIN addresses a ON a.id = o.address_id WHERE o.tx_id = ANY($1::bigint[]) ORDER BY o.tx_id, o.vout
"""
_COINS_OF = """
SELECT t.txid, o.vout, o.value FROM tx_outputs o JOIN transactions t ON t.id = o.tx_id
WHERE o.address_id = ANY($1::bigint[]) ORDER BY t.block_height, t.position, o.vout LIMIT $2
"""


@dataclass(frozen=True, slots=True)
class UtxoTxs:
    conn: asyncpg.Connection
    chain: str
    truncated_by: set[str] = field(default_factory=set)  # none: every read here is complete

    async def spending(self, coins: Sequence[Coin]) -> list[TxFlow]:
        rows = await self.conn.fetch(_SPENDERS, [c[0] for c in coins], [c[1] for c in coins])
        return await self._load([r["tx_id"] for r in rows])

    async def creating(self, coins: Sequence[Coin]) -> list[TxFlow]:
        rows = await self.conn.fetch(_CREATORS, self.chain, sorted({c[0] for c in coins}))
        return await self._load([r["id"] for r in rows])

    async def coins_of(self, address_ids: Sequence[int], limit: int) -> list[tuple[Coin, int]]:
        rows = await self.conn.fetch(_COINS_OF, list(address_ids), limit)
        return [((bytes(r["txid"]), r["vout"]), r["value"]) for r in rows]

    async def coins_of_transaction(self, txid: bytes) -> list[tuple[Coin, int]] | None:
        found = await self.creating([(txid, 0)])
        if not found:
            return None
        return [((found[0].txid, n), o.value) for n, o in enumerate(found[0].outputs) if o.value is not None]

    async def _load(self, tx_ids: list[int]) -> list[TxFlow]:
        if not tx_ids:
            return []
        inputs: dict[int, list[TxIn]] = {i: [] for i in tx_ids}
        outputs: dict[int, list[TxOut]] = {i: [] for i in tx_ids}
        for r in await self.conn.fetch(_INPUTS, tx_ids):
            prev = (bytes(r["prev_txid"]), r["prev_vout"]) if r["prev_txid"] is not None else None
            inputs[r["tx_id"]].append(TxIn(prev, r["address"], r["value"]))
        for r in await self.conn.fetch(_OUTPUTS, tx_ids):
            outputs[r["tx_id"]].append(TxOut(r["address"], r["value"]))
        return [
            TxFlow(
                bytes(r["txid"]),
                r["block_height"],
                r["time"],
                tuple(inputs[r["id"]]),
                tuple(outputs[r["id"]]),
            )
            for r in await self.conn.fetch(_TXS, tx_ids)
        ]


async def address_ids(conn: asyncpg.Connection, chain: str, address: str) -> list[int]:
    found = await conn.fetchval("SELECT id FROM addresses WHERE chain = $1 AND address = $2", chain, address)
    return [found] if found is not None else []


async def cluster_address_ids(conn: asyncpg.Connection, chain: str, cluster_id: int, limit: int) -> list[int]:
    """A cluster's members (the cluster id is its smallest member; a singleton is the address itself)."""
    rows = await conn.fetch(
        """SELECT id FROM addresses WHERE chain = $1 AND id = $2
           UNION SELECT address_id FROM address_clusters WHERE cluster_id = $2
           ORDER BY 1 LIMIT $3""",
        chain,
        cluster_id,
        limit,
    )
    return [r["id"] for r in rows]
