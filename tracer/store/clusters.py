"""The clustering engine's reads and writes: candidate transactions, evidence as it is produced, cluster
membership (whole or as a diff), and where incremental clustering stands."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import asyncpg
import numpy as np
import numpy.typing as npt

from chains.model import InputSource, OutPoint, ScriptType, Tx, TxIn, TxOut
from heuristics.evidence import Veto
from tracer.clustering.engine import Outcome
from tracer.store.bincopy import copy_pairs_in, copy_pairs_out

CLUSTER_TABLES = (
    "clusters",
    "address_clusters",
    "merge_evidence",
    "refused_merges",
    "heuristic_vetoes",
    "cluster_assets",
    "cluster_labelled_members",
)
LOCK_KEY = 7_310_043  # advisory lock key: one clustering write per database at a time

# Transactions in an id range with two or more distinct known input addresses (common input), or, when a
# change heuristic runs, every non-coinbase transaction with a known input address.
_MULTI_INPUT = """
SELECT i.tx_id FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
WHERE t.chain = $1 AND i.tx_id > $2 AND i.tx_id <= $3 AND i.address_id IS NOT NULL
GROUP BY i.tx_id HAVING count(DISTINCT i.address_id) >= 2 ORDER BY i.tx_id
"""
_ANY_INPUT = """
SELECT t.id FROM transactions t
WHERE t.chain = $1 AND t.id > $2 AND t.id <= $3 AND NOT t.is_coinbase
  AND EXISTS (SELECT 1 FROM tx_inputs i WHERE i.tx_id = t.id AND i.address_id IS NOT NULL)
ORDER BY t.id
"""
_TXS = """
SELECT id, encode(txid, 'hex') AS txid, block_height, position, version, locktime, size, vsize
FROM transactions WHERE id = ANY($1::bigint[]) ORDER BY id
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
# For each output address of some transactions: the first transaction that paid it (fresh-address change).
_FIRST_PAID = """
SELECT o.address_id, min(o.tx_id) FROM tx_outputs o WHERE o.address_id = ANY($1::bigint[]) GROUP BY 1
"""


@dataclass(frozen=True, slots=True)
class StoredTx:
    """A transaction rebuilt as a chains.model record, with the ids the store needs to write evidence."""

    tx_id: int
    block_height: int
    tx: Tx
    address_ids: dict[str, int]


@dataclass(frozen=True, slots=True)
class ClusterState:
    heuristics: tuple[str, ...]
    last_tx_id: int
    last_height: int
    evidence_count: int
    refused_count: int
    last_hash: bytes | None = None


async def iter_candidate_txs(
    conn: asyncpg.Connection, chain: str, after: int, upto: int, *, every_spend: bool, id_span: int = 20_000
) -> AsyncIterator[list[StoredTx]]:
    """Candidate transactions with ids in (after, upto], in id order, a span of ids at a time."""
    query = _ANY_INPUT if every_spend else _MULTI_INPUT
    for low in range(after, upto, id_span):
        ids = [row[0] for row in await conn.fetch(query, chain, low, min(low + id_span, upto))]
        if ids:
            yield await load_txs(conn, ids)


async def load_txs(conn: asyncpg.Connection, tx_ids: Sequence[int]) -> list[StoredTx]:
    headers = await conn.fetch(_TXS, tx_ids)
    inputs: dict[int, list[asyncpg.Record]] = defaultdict(list)
    outputs: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in await conn.fetch(_INPUTS, tx_ids):
        inputs[row["tx_id"]].append(row)
    for row in await conn.fetch(_OUTPUTS, tx_ids):
        outputs[row["tx_id"]].append(row)
    return [_rebuild(h, inputs[h["id"]], outputs[h["id"]]) for h in headers]


# A txid in two blocks (BIP30's repeated coinbases, migration 029): the latest one, as Bitcoin Core's UTXO
# set keeps it (its coinbase overwrote the earlier, unspent copy).
_LATEST_BY_TXID = """
SELECT DISTINCT ON (txid) id FROM transactions WHERE chain = $1 AND txid = ANY($2::bytea[])
ORDER BY txid, block_height DESC
"""


async def load_txs_by_txid(conn: asyncpg.Connection, chain: str, txids: Sequence[str]) -> list[StoredTx]:
    rows = await conn.fetch(
        _LATEST_BY_TXID,
        chain,
        [bytes.fromhex(t) for t in txids],
    )
    return await load_txs(conn, [r[0] for r in rows]) if rows else []


async def first_paid(conn: asyncpg.Connection, address_ids: Sequence[int]) -> dict[int, int]:
    """{address id: id of the first transaction that paid it}."""
    return {r[0]: r[1] for r in await conn.fetch(_FIRST_PAID, list(address_ids))}


_SCRIPT_TYPES = {t.value: t for t in ScriptType}  # a dict lookup: Enum(value) is ~20x slower on this path
_SOURCES = {s.value: s for s in InputSource}


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
                source=_SOURCES[r["source"]],
                address=r["address"],
                value=r["value"],
                script_type=_SCRIPT_TYPES[r["script_type"]] if r["script_type"] else None,
            )
            for r in inputs
        ),
        outputs=tuple(
            TxOut(
                index=r["vout"],
                value=r["value"],
                script_type=_SCRIPT_TYPES[r["script_type"]],
                address=r["address"],
            )
            for r in outputs
        ),
    )
    return StoredTx(tx_id=header["id"], block_height=header["block_height"], tx=tx, address_ids=address_ids)


# --- state --------------------------------------------------------------------------------------------------
async def load_state(conn: asyncpg.Connection, chain: str) -> ClusterState | None:
    row = await conn.fetchrow(
        """SELECT heuristics, last_tx_id, last_height, evidence_count, refused_count, last_hash
           FROM cluster_state WHERE chain = $1""",
        chain,
    )
    if row is None:
        return None
    return ClusterState(tuple(row["heuristics"]), row[1], row[2], row[3], row[4], row[5])


async def stored_counts(conn: asyncpg.Connection, chain: str) -> tuple[int, int]:
    """(merges, refused merges) stored for ``chain``: fewer than the state recorded means a reorg or a
    re-index deleted some (their blocks cascade), and the clusters must be recomputed."""
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM merge_evidence WHERE chain = $1),
                  (SELECT count(*) FROM refused_merges WHERE chain = $1)""",
        chain,
    )
    return (row[0], row[1]) if row else (0, 0)


async def still_valid(conn: asyncpg.Connection, chain: str, state: ClusterState) -> bool:
    """Whether the stored clustering still describes the stored chain: no evidence deleted (a reorg or a
    re-index cascades it away) and the last block clustered still there with the same hash."""
    if await stored_counts(conn, chain) != (state.evidence_count, state.refused_count):
        return False
    if state.last_hash is None:
        return True
    current = await conn.fetchval(
        "SELECT hash FROM blocks WHERE chain = $1 AND height = $2", chain, state.last_height
    )
    return bool(current == state.last_hash)


async def save_state(conn: asyncpg.Connection, chain: str, state: ClusterState) -> None:
    await conn.execute(
        """INSERT INTO cluster_state
               (chain, heuristics, last_tx_id, last_height, evidence_count, refused_count, last_hash)
           VALUES ($1, $2, $3, $4, $5, $6,
                   (SELECT hash FROM blocks WHERE chain = $1 AND height = $4))
           ON CONFLICT (chain) DO UPDATE SET heuristics = $2, last_tx_id = $3, last_height = $4,
                evidence_count = $5, refused_count = $6, last_hash = EXCLUDED.last_hash,
                updated_at = now()""",
        chain,
        list(state.heuristics),
        state.last_tx_id,
        state.last_height,
        state.evidence_count,
        state.refused_count,
    )


async def chain_extent(conn: asyncpg.Connection, chain: str) -> tuple[int, int, int]:
    """(largest transaction id of the chain, its highest block, largest address id of any chain).

    Every transaction below the largest id is committed already: writers draw ids under a lock they hold
    until they commit (tracer.store.chaindata), so ids follow commit order."""
    row = await conn.fetchrow(
        """SELECT (SELECT COALESCE(max(id), 0) FROM transactions WHERE chain = $1),
                  (SELECT COALESCE(max(height), -1) FROM blocks WHERE chain = $1),
                  (SELECT COALESCE(max(id), 0) FROM addresses)""",
        chain,
    )
    return (row[0], row[1], row[2]) if row else (0, -1, 0)


async def reset_chain(conn: asyncpg.Connection, chain: str) -> None:
    """Forget the clustering of ``chain`` (its evidence, refusals, vetoes, clusters and state)."""
    tables = (
        "merge_evidence",
        "refused_merges",
        "heuristic_vetoes",
        "clusters",
        "cluster_state",
        "deposit_customers",
        "cluster_late_inputs",
    )
    for table in tables:
        await conn.execute(f"DELETE FROM {table} WHERE chain = $1", chain)  # clusters cascade membership


# The owner a label names, as the collapse guards and the quality measure compare owners: its actor by id
# (labels.actor_id, migration 010) -- so "Binance" and "Binance.com" linked to one actor are one owner, and
# two actors that share a name are two -- else, for a label linked to no actor, its own text, lower-case.
# The actor's name is in the key only so that a refusal can say who; the id decides. Needs ``labels l``
# and ``LEFT JOIN actors ac ON ac.id = l.actor_id`` in the query.
OWNER_OF_LABEL = """CASE WHEN ac.id IS NOT NULL THEN ac.name || ' [actor ' || ac.id || ']'
    ELSE lower(COALESCE(NULLIF(l.actor, ''), l.label)) END"""


async def late_inputs(conn: asyncpg.Connection, chain: str, upto: int) -> list[int]:
    """Transactions up to id ``upto`` with inputs the indexer resolved after they were written."""
    rows = await conn.fetch(
        "SELECT DISTINCT tx_id FROM cluster_late_inputs WHERE chain = $1 AND tx_id <= $2 ORDER BY 1",
        chain,
        upto,
    )
    return [r[0] for r in rows]


async def forget_late_inputs(conn: asyncpg.Connection, chain: str, upto: int) -> None:
    """The run has read every transaction up to id ``upto`` with its inputs as they are in its snapshot
    (inputs resolved by a batch that committed since stay queued: the run did not see them)."""
    await conn.execute("DELETE FROM cluster_late_inputs WHERE chain = $1 AND tx_id <= $2", chain, upto)


async def forget_decisions(conn: asyncpg.Connection, chain: str, tx_ids: Sequence[int]) -> None:
    """Delete the merges, refusals and vetoes stored for ``tx_ids`` (they are about to be decided again)."""
    for table in ("merge_evidence", "refused_merges", "heuristic_vetoes"):
        await conn.execute(
            f"DELETE FROM {table} WHERE chain = $1 AND tx_id = ANY($2::bigint[])", chain, tx_ids
        )


async def owner_labels(conn: asyncpg.Connection, chain: str) -> dict[int, list[str]]:
    """{address id: owners its labels name} (OWNER_OF_LABEL) for the collapse guards."""
    rows = await conn.fetch(
        f"""SELECT l.address_id, array_agg(DISTINCT {OWNER_OF_LABEL}) AS owners
            FROM labels l JOIN addresses a ON a.id = l.address_id LEFT JOIN actors ac ON ac.id = l.actor_id
            WHERE a.chain = $1 GROUP BY l.address_id ORDER BY l.address_id""",
        chain,
    )
    return {r["address_id"]: list(r["owners"]) for r in rows}


# --- evidence, written as it is produced --------------------------------------------------------------------
EVIDENCE_COLUMNS = (
    "chain", "heuristic", "block_height", "position", "txid", "tx_id", "address_ids", "anchor_id",
    "confidence", "conditions", "parameters",
)  # fmt: skip
_REFUSED_COLUMNS = (
    "chain", "heuristic", "block_height", "position", "txid", "tx_id", "address_ids", "reason", "detail",
    "parameters",
)  # fmt: skip


async def write_outcomes(conn: asyncpg.Connection, chain: str, outcomes: Sequence[Outcome]) -> None:
    merged, refused = [], []
    for outcome in outcomes:
        p, ev = outcome.proposal, outcome.proposal.evidence
        head = (chain, ev.heuristic.value, ev.block_height, p.position, bytes.fromhex(_hex(ev.txid)), p.tx_id)
        ids = list(p.address_ids)
        if outcome.refusal is None:
            merged.append((*head, ids, ids[0], ev.confidence.value, list(ev.conditions), dict(ev.parameters)))
        else:
            r = outcome.refusal
            refused.append((*head, ids, r.reason.value, r.detail, {**ev.parameters, **r.parameters}))
    if merged:
        await conn.copy_records_to_table("merge_evidence", records=merged, columns=EVIDENCE_COLUMNS)
    if refused:
        await conn.copy_records_to_table("refused_merges", records=refused, columns=_REFUSED_COLUMNS)


async def write_evidence_rows(conn: asyncpg.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """merge_evidence rows in EVIDENCE_COLUMNS order (tracer.clustering.columnar builds them)."""
    if rows:
        await conn.copy_records_to_table("merge_evidence", records=rows, columns=EVIDENCE_COLUMNS)


async def write_vetoes(conn: asyncpg.Connection, chain: str, vetoes: Sequence[tuple[int, Veto]]) -> None:
    if vetoes:
        await conn.copy_records_to_table(
            "heuristic_vetoes",
            records=[
                (
                    tx_id,
                    chain,
                    v.heuristic.value,
                    v.reason.value,
                    v.block_height,
                    v.detail,
                    dict(v.parameters),
                )
                for tx_id, v in vetoes
            ],
            columns=("tx_id", "chain", "heuristic", "reason", "block_height", "detail", "parameters"),
        )


def _hex(txid: str) -> str:
    return txid[2:] if txid.startswith("0x") else txid


# --- membership -----------------------------------------------------------------------------------------
async def load_membership(
    conn: asyncpg.Connection, chain: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(member ids, their cluster ids) of every stored cluster of ``chain``."""
    return await copy_pairs_out(
        conn,
        f"""SELECT ac.address_id, ac.cluster_id FROM address_clusters ac
            JOIN clusters c ON c.id = ac.cluster_id WHERE c.chain = {_literal(chain)}""",
    )


@dataclass(frozen=True, slots=True)
class MembershipChange:
    members: npt.NDArray[np.int64]  # addresses whose row is (re)written
    cluster_ids: npt.NDArray[np.int64]  # parallel to members
    sizes: npt.NDArray[np.int64]  # of np.unique(cluster_ids), in that order
    retired: npt.NDArray[np.int64]  # clusters merged into others


async def write_membership(conn: asyncpg.Connection, chain: str, change: MembershipChange) -> None:
    """Upsert clusters (``unique(cluster_ids)`` with ``sizes``) and the membership of ``members``; delete
    ``retired`` clusters (merged into others). Rows of members not given stay as they are."""
    members, cluster_ids, sizes, retired = change.members, change.cluster_ids, change.sizes, change.retired
    roots = np.unique(cluster_ids)
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _cluster_sizes (id bigint, size bigint) ON COMMIT DROP"
    )
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS _membership (a bigint, c bigint) ON COMMIT DROP")
    await conn.execute("TRUNCATE _cluster_sizes, _membership")
    await copy_pairs_in(conn, "_cluster_sizes", ("id", "size"), roots, sizes)
    await copy_pairs_in(conn, "_membership", ("a", "c"), members, cluster_ids)
    await conn.execute(
        """INSERT INTO clusters (id, chain, size) SELECT id, $1, size FROM _cluster_sizes
           ON CONFLICT (id) DO UPDATE SET size = EXCLUDED.size""",
        chain,
    )
    await conn.execute("DELETE FROM clusters WHERE id = ANY($1::bigint[])", retired.tolist())
    await conn.execute(
        """INSERT INTO address_clusters (address_id, cluster_id) SELECT a, c FROM _membership
           ON CONFLICT (address_id) DO UPDATE SET cluster_id = EXCLUDED.cluster_id"""
    )


def _literal(text: str) -> str:
    """A SQL string literal (COPY from a query takes no parameters on every server version)."""
    return "'" + text.replace("'", "''") + "'"
