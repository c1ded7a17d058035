"""Writing blocks, transactions, outputs and inputs: one transaction per batch, bulk COPY.

A block already stored with the same hash is skipped, so running the same import twice changes nothing (and
keeps the transaction ids that clustering evidence points to). A different block at a stored height (a
reorg), or any block when ``reindex=True``, replaces what was there: delete and rewrite in the same
transaction, so a batch is either fully there or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from chains.model import Block
from tracer.store.addresses import ensure_address_ids

_TX_COLUMNS = (
    "id",
    "chain",
    "txid",
    "block_height",
    "position",
    "version",
    "locktime",
    "size",
    "vsize",
    "is_coinbase",
    "input_count",
    "output_count",
    "output_value",
)
_OUTPUT_COLUMNS = ("tx_id", "vout", "address_id", "value", "script_type")
_INPUT_COLUMNS = (
    "tx_id",
    "vin",
    "prev_txid",
    "prev_vout",
    "sequence",
    "address_id",
    "value",
    "script_type",
    "source",
)
CHAIN_TABLES = ("addresses", "blocks", "transactions", "tx_outputs", "tx_inputs")
_BLOCK_COLUMNS = ("chain", "height", "hash", "prev_hash", "time", "tx_count", "source")

# Fill inputs' address and value from stored outputs they spend. Two directions: inputs of this batch
# spending older outputs, and older inputs spending outputs of this batch (blocks indexed out of order).
_RESOLVE_NEW_INPUTS = """
UPDATE tx_inputs i
SET value = o.value, address_id = o.address_id, script_type = o.script_type, source = 'stored'
FROM transactions t JOIN tx_outputs o ON o.tx_id = t.id
WHERE i.tx_id = ANY($1::bigint[]) AND i.value IS NULL AND i.prev_txid IS NOT NULL
  AND t.chain = $2 AND t.txid = i.prev_txid AND o.vout = i.prev_vout
"""
_RESOLVE_OLD_INPUTS = """
UPDATE tx_inputs i
SET value = o.value, address_id = o.address_id, script_type = o.script_type, source = 'stored'
FROM transactions t JOIN tx_outputs o ON o.tx_id = t.id
WHERE t.id = ANY($1::bigint[]) AND i.value IS NULL AND i.prev_txid = t.txid AND i.prev_vout = o.vout
"""


@dataclass(frozen=True, slots=True)
class WriteStats:
    blocks: int
    txs: int
    outputs: int
    inputs: int
    inputs_resolved: int
    unchanged: int = 0  # blocks skipped: already stored with the same hash


async def write_blocks(
    conn: asyncpg.Connection,
    blocks: Sequence[Block],
    *,
    source: str,
    cursor: tuple[str, int] | None = None,
    reindex: bool = False,
) -> WriteStats:
    """Store ``blocks`` (one chain) in one transaction, and move cursor (name, next_height) with them."""
    if not blocks:
        return WriteStats(0, 0, 0, 0, 0)
    by_height = {block.height: block for block in blocks}  # the same height twice: the last one wins
    chain = blocks[0].chain.value
    async with conn.transaction():
        stored = {
            row["height"]: row["hash"]
            for row in await conn.fetch(
                "SELECT height, encode(hash, 'hex') AS hash FROM blocks"
                " WHERE chain = $1 AND height = ANY($2::integer[])",
                chain,
                list(by_height),
            )
        }
        blocks = [b for h, b in sorted(by_height.items()) if reindex or stored.get(h) != b.hash]
        unchanged = len(by_height) - len(blocks)
        if cursor is not None:
            await move_cursor(conn, chain, cursor[0], cursor[1])
        if not blocks:
            return WriteStats(0, 0, 0, 0, 0, unchanged)
        await conn.execute(
            "DELETE FROM blocks WHERE chain = $1 AND height = ANY($2::integer[])",
            chain,
            [b.height for b in blocks],
        )
        address_ids = await ensure_address_ids(conn, chain, _addresses_of(blocks))
        tx_count = sum(len(block.txs) for block in blocks)
        tx_ids = [
            row[0]
            for row in await conn.fetch(
                "SELECT nextval(pg_get_serial_sequence('transactions', 'id')) FROM generate_series(1, $1)",
                tx_count,
            )
        ]
        tx_rows, output_rows, input_rows = _rows(blocks, tx_ids, address_ids)
        await conn.copy_records_to_table(
            "blocks", records=_block_rows(blocks, source), columns=_BLOCK_COLUMNS
        )
        await conn.copy_records_to_table("transactions", records=tx_rows, columns=_TX_COLUMNS)
        await conn.copy_records_to_table("tx_outputs", records=output_rows, columns=_OUTPUT_COLUMNS)
        await conn.copy_records_to_table("tx_inputs", records=input_rows, columns=_INPUT_COLUMNS)
        resolved = _count(await conn.execute(_RESOLVE_NEW_INPUTS, tx_ids, chain))
        resolved += _count(await conn.execute(_RESOLVE_OLD_INPUTS, tx_ids))
    return WriteStats(len(blocks), tx_count, len(output_rows), len(input_rows), resolved, unchanged)


async def move_cursor(conn: asyncpg.Connection, chain: str, source: str, next_height: int) -> None:
    await conn.execute(
        """INSERT INTO index_cursors (chain, source, next_height) VALUES ($1, $2, $3)
           ON CONFLICT (chain, source)
           DO UPDATE SET next_height = EXCLUDED.next_height, updated_at = now()""",
        chain,
        source,
        next_height,
    )


async def read_cursor(conn: asyncpg.Connection | asyncpg.Pool, chain: str, source: str) -> int | None:
    value = await conn.fetchval(
        "SELECT next_height FROM index_cursors WHERE chain = $1 AND source = $2", chain, source
    )
    return int(value) if value is not None else None


async def delete_from_height(conn: asyncpg.Connection, chain: str, height: int) -> int:
    """Drop blocks at ``height`` and above (a reorg); returns how many blocks went."""
    return _count(await conn.execute("DELETE FROM blocks WHERE chain = $1 AND height >= $2", chain, height))


def _addresses_of(blocks: Sequence[Block]) -> set[str]:
    found: set[str] = set()
    for block in blocks:
        for tx in block.txs:
            found.update(out.address for out in tx.outputs if out.address is not None)
            found.update(txin.address for txin in tx.inputs if txin.address is not None)
    return found


def _block_rows(blocks: Sequence[Block], source: str) -> list[tuple[object, ...]]:
    return [
        (
            b.chain.value,
            b.height,
            bytes.fromhex(b.hash),
            bytes.fromhex(b.prev_hash),
            datetime.fromtimestamp(b.time, UTC),
            len(b.txs),
            source,
        )
        for b in blocks
    ]


def _rows(
    blocks: Sequence[Block], tx_ids: Sequence[int], address_ids: dict[str, int]
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]]]:
    tx_rows: list[tuple[object, ...]] = []
    output_rows: list[tuple[object, ...]] = []
    input_rows: list[tuple[object, ...]] = []
    ids = iter(tx_ids)
    for block in blocks:
        chain = block.chain.value
        for tx in block.txs:
            tx_id = next(ids)
            tx_rows.append(
                (
                    tx_id,
                    chain,
                    bytes.fromhex(tx.txid),
                    block.height,
                    tx.index,
                    tx.version,
                    tx.locktime,
                    tx.size,
                    tx.vsize,
                    tx.is_coinbase,
                    len(tx.inputs),
                    len(tx.outputs),
                    tx.output_value,
                )
            )
            for out in tx.outputs:
                address_id = address_ids[out.address] if out.address is not None else None
                output_rows.append((tx_id, out.index, address_id, out.value, out.script_type.value))
            for txin in tx.inputs:
                prev = txin.prevout
                input_rows.append(
                    (
                        tx_id,
                        txin.index,
                        bytes.fromhex(prev.txid) if prev else None,
                        prev.vout if prev else None,
                        txin.sequence,
                        address_ids[txin.address] if txin.address is not None else None,
                        txin.value,
                        txin.script_type.value if txin.script_type else None,
                        txin.source.value,
                    )
                )
    return tx_rows, output_rows, input_rows


def _count(status: str) -> int:
    """Row count from a command tag such as 'UPDATE 12'."""
    return int(status.rsplit(" ", 1)[-1])
