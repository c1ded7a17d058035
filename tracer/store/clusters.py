"""Reading transactions for the clustering engine and writing its result (clusters + evidence)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from chains.model import InputSource, OutPoint, ScriptType, Tx, TxIn, TxOut

# Transactions the common-input heuristic can act on: two or more distinct known input addresses.
_CANDIDATES = """
SELECT i.tx_id FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
WHERE t.chain = $1 AND i.address_id IS NOT NULL
GROUP BY i.tx_id HAVING count(DISTINCT i.address_id) >= 2
ORDER BY i.tx_id
"""
_TXS = """
SELECT id, encode(txid, 'hex') AS txid, block_height, position, version, locktime, size, vsize
FROM transactions WHERE id = ANY($1::bigint[])
"""
_INPUTS = """
SELECT i.tx_id, i.vin, encode(i.prev_txid, 'hex') AS prev_txid, i.prev_vout, i.sequence, i.address_id,
       a.address, i.value, i.script_type, i.source
FROM tx_inputs i LEFT JOIN addresses a ON a.id = i.address_id
WHERE i.tx_id = ANY($1::bigint[]) ORDER BY i.tx_id, i.vin
"""
_OUTPUTS = """
SELECT o.tx_id, o.vout, o.address_id, a.address, o.value, o.script_type
FROM tx_outputs o LEFT JOIN addresses a ON a.id = o.address_id
WHERE o.tx_id = ANY($1::bigint[]) ORDER BY o.tx_id, o.vout
"""


@dataclass(frozen=True, slots=True)
class StoredTx:
    """A transaction rebuilt as a chains.model record, with the ids the store needs to write evidence."""

    tx_id: int
    block_height: int
    tx: Tx
    address_ids: dict[str, int]


async def iter_candidate_txs(
    conn: asyncpg.Connection, chain: str, *, chunk_size: int = 2000
) -> AsyncIterator[list[StoredTx]]:
    """Yield candidate transactions in chunks; run inside a REPEATABLE READ transaction for one snapshot."""
    ids = [row[0] for row in await conn.fetch(_CANDIDATES, chain)]
    for start in range(0, len(ids), chunk_size):
        yield await load_txs(conn, ids[start : start + chunk_size])


async def load_txs(conn: asyncpg.Connection, tx_ids: Sequence[int]) -> list[StoredTx]:
    headers = await conn.fetch(_TXS, tx_ids)
    inputs: dict[int, list[asyncpg.Record]] = defaultdict(list)
    outputs: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in await conn.fetch(_INPUTS, tx_ids):
        inputs[row["tx_id"]].append(row)
    for row in await conn.fetch(_OUTPUTS, tx_ids):
        outputs[row["tx_id"]].append(row)
    return [_rebuild(h, inputs[h["id"]], outputs[h["id"]]) for h in headers]


def _rebuild(header: asyncpg.Record, inputs: list[asyncpg.Record], outputs: list[asyncpg.Record]) -> StoredTx:
    address_ids = {r["address"]: r["address_id"] for r in (*inputs, *outputs) if r["address"] is not None}
    tx = Tx(
        txid=header["txid"],
        index=header["position"],
        version=header["version"],
        locktime=header["locktime"],
        size=header["size"],
        vsize=header["vsize"],
        inputs=tuple(
            TxIn(
                index=r["vin"],
                prevout=OutPoint(r["prev_txid"], r["prev_vout"]) if r["prev_txid"] is not None else None,
                sequence=r["sequence"],
                source=InputSource(r["source"]),
                address=r["address"],
                value=r["value"],
                script_type=ScriptType(r["script_type"]) if r["script_type"] else None,
            )
            for r in inputs
        ),
        outputs=tuple(
            TxOut(
                index=r["vout"],
                value=r["value"],
                script_type=ScriptType(r["script_type"]),
                address=r["address"],
            )
            for r in outputs
        ),
    )
    return StoredTx(tx_id=header["id"], block_height=header["block_height"], tx=tx, address_ids=address_ids)


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    cluster_id: int
    heuristic: str
    tx_id: int
    block_height: int | None
    address_ids: list[int]
    confidence: str
    conditions: list[str]
    parameters: dict[str, int | str]


@dataclass(frozen=True, slots=True)
class VetoRow:
    tx_id: int
    heuristic: str
    reason: str
    block_height: int | None
    detail: str
    parameters: dict[str, int | str]


@dataclass(frozen=True, slots=True)
class ClusteringResult:
    chain: str
    clusters: dict[int, list[int]]  # cluster id -> members (two or more)
    evidence: list[EvidenceRow]
    vetoes: list[VetoRow]
    txs_examined: int
    started_at: datetime
    finished_at: datetime


CLUSTER_TABLES = ("clusters", "address_clusters", "merge_evidence", "heuristic_vetoes")
_LOCK_KEY = 7_310_043  # pg_advisory_xact_lock key: one clustering write per database at a time


async def replace_clustering(conn: asyncpg.Connection, result: ClusteringResult) -> None:
    """Swap the stored clustering of one chain for ``result`` in one transaction."""
    chain = result.chain
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute("DELETE FROM merge_evidence WHERE chain = $1", chain)
        await conn.execute("DELETE FROM heuristic_vetoes WHERE chain = $1", chain)
        await conn.execute("DELETE FROM clusters WHERE chain = $1", chain)  # cascades address_clusters
        await conn.copy_records_to_table(
            "clusters",
            records=[(cid, chain, len(members)) for cid, members in result.clusters.items()],
            columns=("id", "chain", "size"),
        )
        await conn.copy_records_to_table(
            "address_clusters",
            records=[(member, cid) for cid, members in result.clusters.items() for member in members],
            columns=("address_id", "cluster_id"),
        )
        await conn.copy_records_to_table(
            "merge_evidence",
            records=[
                (
                    chain,
                    e.cluster_id,
                    e.heuristic,
                    e.tx_id,
                    e.block_height,
                    e.address_ids,
                    e.confidence,
                    e.conditions,
                    e.parameters,
                )
                for e in result.evidence
            ],
            columns=(
                "chain",
                "cluster_id",
                "heuristic",
                "tx_id",
                "block_height",
                "address_ids",
                "confidence",
                "conditions",
                "parameters",
            ),
        )
        await conn.copy_records_to_table(
            "heuristic_vetoes",
            records=[
                (v.tx_id, chain, v.heuristic, v.reason, v.block_height, v.detail, v.parameters)
                for v in result.vetoes
            ],
            columns=("tx_id", "chain", "heuristic", "reason", "block_height", "detail", "parameters"),
        )
        await conn.execute(
            """INSERT INTO cluster_runs (chain, started_at, finished_at, txs_examined, merges, vetoes,
                                         clusters,
                                         clustered_addresses)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            chain,
            result.started_at,
            result.finished_at,
            result.txs_examined,
            len(result.evidence),
            len(result.vetoes),
            len(result.clusters),
            sum(len(m) for m in result.clusters.values()),
        )
