"""A small hand-made Bitcoin-shaped chain written into the store's tables, for tests whose expected amounts
are worked out by hand (exposure, taint tracing). Real PostgreSQL, real schema; only the blocks are made up.

Addresses are valid P2PKH encodings of hash160(name), so they pass the API's address validation. One
transaction per block, heights from 1, block time 2020-01-01 + 10 minutes per height.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from chains.bitcoin.address import hash160, p2pkh_address

GENESIS_TIME = datetime(2020, 1, 1, tzinfo=UTC)


def addr(name: str) -> str:
    return p2pkh_address(hash160(name.encode()))


@dataclass(frozen=True, slots=True)
class Spend:
    """An input spending output ``vout`` of the graph's transaction ``tx``."""

    tx: str
    vout: int


@dataclass(frozen=True, slots=True)
class Unknown:
    """An input of ``owner`` spending an output that is not indexed: its value is unknown."""

    owner: str


@dataclass(slots=True)
class FlowGraph:
    conn: asyncpg.Connection
    ids: dict[str, int] = field(default_factory=dict)  # name -> address id
    txs: dict[str, int] = field(default_factory=dict)  # name -> transaction id
    outputs: dict[tuple[str, int], tuple[str | None, int]] = field(default_factory=dict)
    height: int = 0

    async def address_id(self, name: str) -> int:
        if name not in self.ids:
            self.ids[name] = await self.conn.fetchval(
                "INSERT INTO addresses (chain, address) VALUES ('bitcoin', $1) RETURNING id", addr(name)
            )
        return self.ids[name]

    async def tx(
        self, name: str, inputs: list[Spend | Unknown], outputs: list[tuple[str | None, int]]
    ) -> None:
        """A transaction (a coinbase when ``inputs`` is empty); an output owner None has no address."""
        self.height += 1
        txid = txid_of(name)
        await self.conn.execute(
            """INSERT INTO blocks (chain, height, hash, prev_hash, time, tx_count, source)
               VALUES ('bitcoin', $1, $2, $3, $4, 1, 'test')""",
            self.height,
            hashlib.sha256(b"block" + txid).digest(),
            bytes(32),
            GENESIS_TIME + timedelta(minutes=10 * self.height),
        )
        self.txs[name] = await self.conn.fetchval(
            """INSERT INTO transactions (chain, txid, block_height, position, version, locktime, size, vsize,
                   is_coinbase, input_count, output_count, output_value)
               VALUES ('bitcoin', $1, $2, 0, 2, 0, 200, 200, $3, $4, $5, $6) RETURNING id""",
            txid,
            self.height,
            not inputs,
            max(len(inputs), 1),
            len(outputs),
            sum(v for _, v in outputs),
        )
        for vout, (owner, value) in enumerate(outputs):
            await self._output(name, vout, owner, value)
        for vin, spend in enumerate(inputs):
            await self._input(name, vin, spend)
        if not inputs:  # a coinbase's input, as the indexer stores it: no previous output, no address
            await self.conn.execute(
                """INSERT INTO tx_inputs (tx_id, vin, sequence, script_type, source)
                   VALUES ($1, 0, 4294967295, 'coinbase', 'coinbase')""",
                self.txs[name],
            )

    async def _output(self, tx: str, vout: int, owner: str | None, value: int) -> None:
        self.outputs[(tx, vout)] = (owner, value)
        await self.conn.execute(
            """INSERT INTO tx_outputs (tx_id, vout, address_id, value, script_type)
               VALUES ($1, $2, $3, $4, $5)""",
            self.txs[tx],
            vout,
            await self.address_id(owner) if owner else None,
            value,
            "pubkeyhash" if owner else "nulldata",
        )

    async def _input(self, tx: str, vin: int, spend: Spend | Unknown) -> None:
        if isinstance(spend, Spend):
            owner, value = self.outputs[(spend.tx, spend.vout)]
            prev: tuple[bytes, int] = (txid_of(spend.tx), spend.vout)
            known: int | None = value
        else:
            owner, known, prev = spend.owner, None, (txid_of("not indexed " + tx), vin)
        await self.conn.execute(
            """INSERT INTO tx_inputs (tx_id, vin, prev_txid, prev_vout, sequence, address_id, value,
                   script_type, source)
               VALUES ($1, $2, $3, $4, 4294967295, $5, $6, 'pubkeyhash', 'test')""",
            self.txs[tx],
            vin,
            prev[0],
            prev[1],
            await self.address_id(owner) if owner else None,
            known,
        )

    async def label(self, name: str, category: str, *, source: str, actor: str | None = None) -> None:
        source_id = await self.conn.fetchval(
            """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
               VALUES ($1, $1, 'test', 'tests/flowgraph.py', '', 1, 0)
               ON CONFLICT (tenant, name) DO UPDATE SET entries = label_sources.entries + 1 RETURNING id""",
            source,
        )
        await self.conn.execute(
            """INSERT INTO labels (source_id, address_id, label, category, categories, actor)
               VALUES ($1, $2, $3, $4, ARRAY[$4], $5)""",
            source_id,
            await self.address_id(name),
            f"{name} ({category})",
            category,
            actor,
        )


def txid_of(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()
