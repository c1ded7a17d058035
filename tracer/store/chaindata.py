"""Writing Bitcoin-model blocks (blocks, transactions, outputs, inputs): one transaction per batch, bulk COPY,
each row written once.

Inputs get their spent output's address and value *before* they are written: from the batch itself, from the
in-process ``UtxoCache``, then one set-based lookup for what is left. Only inputs whose spent output is not
stored yet (a lower range another worker has not written, blocks indexed out of order) are updated later,
by the batch that writes that output.

Batches of one chain take a per-chain advisory lock before they draw transaction ids and hold it until
they commit, so that concurrent writers (``--workers N``) are serialised from that point on:
- transaction ids follow commit order: once id X is visible, every id below it is committed (or was rolled
  back) -- the clustering job's watermark "clustered up to id X" misses nothing committed later;
- the lookup of spent outputs sees every batch committed before (READ COMMITTED: each statement takes a
  new snapshot, and the lock is only granted after the other transaction ended), and the batch's own
  outputs resolve the earlier inputs that spend them (queued for the clustering job).
What runs before the lock (address ids, deleting replaced blocks) still overlaps between workers.

Each COPY is in flight while the next table's rows are built (``_while_shipping``): the rows are built in
steps, and between two the event loop sends more of the COPY, which PostgreSQL inserts meanwhile. What the
writer would otherwise wait for alone (new addresses' insert, the last inputs' COPY) runs beside work that
can move (``tracer.store.spare``): the unspent-output cache's commit of the batch before, and the next
batch's preparation (its address lookup, outputs' slots and transaction columns: ``upcoming``).

A block already stored with the same hash is skipped by the caller (the indexer recognises it from its
header); ``replace`` deletes a stored block at the same height first (a reorg, or ``--reindex``).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

import asyncpg

from chains.bitcoin.parse import InRow, OutRow, TxRow
from chains.model import Block
from tracer.indexer.adapter import BatchStats
from tracer.store import bulkload, chainrows
from tracer.store.addresses import AddressIds, Lookup
from tracer.store.chainrows import STORED, InputRows, Outputs
from tracer.store.sequences import draw_range
from tracer.store.spare import SpareWork, cancel
from tracer.store.utxo import UtxoCache

if TYPE_CHECKING:
    from tracer.store.bincopy import Column

CHAIN_TABLES = ("addresses", "blocks", "transactions", "tx_outputs", "tx_inputs")
_BLOCK_COLUMNS = ("chain", "height", "hash", "prev_hash", "time", "tx_count", "source")
_TX_COLUMNS = (
    "id",
    "chain",
    "block_height",
    "txid",
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


class BlockRows(NamedTuple):
    """One parsed block as flat tuples: what a parse worker sends back (pickles ~5x faster than records)."""

    height: int
    hash: bytes  # display order, like the hex
    prev_hash: bytes
    time: int
    txs: list[TxRow]
    outputs: list[OutRow]
    inputs: list[InRow]


def block_rows(block: Block) -> BlockRows:
    """The mapper from a parsed ``Block`` to its rows."""
    txs: list[TxRow] = []
    outputs: list[OutRow] = []
    inputs: list[InRow] = []
    for pos, tx in enumerate(block.txs):
        txs.append(
            (
                bytes.fromhex(tx.txid),
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
        outputs.extend((pos, o.index, o.address, o.value, o.script_type.value) for o in tx.outputs)
        for txin in tx.inputs:
            prev = txin.prevout
            inputs.append(
                (
                    pos,
                    txin.index,
                    bytes.fromhex(prev.txid) if prev else None,
                    prev.vout if prev else None,
                    txin.sequence,
                    txin.address,
                    txin.value,
                    txin.script_type.value if txin.script_type else None,
                    txin.source.value,
                )
            )
    return BlockRows(
        block.height,
        bytes.fromhex(block.hash),
        bytes.fromhex(block.prev_hash),
        block.time,
        txs,
        outputs,
        inputs,
    )


# A txid in two blocks (BIP30's repeated coinbases, migration 029) matches both copies: their outputs are
# identical (the same txid is the same serialization), so either row gives the input the same address and
# value, the ones of the latest copy, which Bitcoin Core's UTXO set keeps.
_LOOKUP_SPENT = """
SELECT m.i, o.address_id, o.value, o.script_type
FROM unnest($2::bytea[], $3::integer[], $4::integer[]) AS m(txid, vout, i)
JOIN transactions t ON t.chain = $1 AND t.txid = m.txid
JOIN tx_outputs o ON o.tx_id = t.id AND o.vout = m.vout
"""
# Earlier batches' inputs that spend the outputs a batch just wrote (under the write lock), queued for the
# clustering job (cluster_late_inputs, migration 017): an incremental run may have passed their transactions.
_RESOLVE_OLD_INPUTS = """
WITH resolved AS (
    UPDATE tx_inputs i
    SET value = o.value, address_id = o.address_id, script_type = o.script_type, source = 'stored'
    FROM transactions t JOIN tx_outputs o ON o.tx_id = t.id
    WHERE t.id = ANY($1::bigint[]) AND i.value IS NULL AND i.prev_txid = t.txid AND i.prev_vout = o.vout
    RETURNING i.tx_id, i.vin),
queued AS (
    INSERT INTO cluster_late_inputs (chain, tx_id, vin) SELECT $2, tx_id, vin FROM resolved
    ON CONFLICT DO NOTHING)
SELECT count(*) FROM resolved
"""
# The keys ``_LOOKUP_SPENT`` and ``_RESOLVE_OLD_INPUTS`` read through, and those deleting a block's rows
# does: a first pass defers them while it reads none (``bulkload.BITCOIN``), so each reader asks first.
SPENT_LOOKUP_KEYS = ("transactions_chain_txid_height_key", "tx_outputs_pkey")
BLOCK_DELETE_KEYS = ("transactions_block", "tx_outputs_pkey", "tx_inputs_pkey")
_ANY_PENDING = "SELECT EXISTS (SELECT 1 FROM tx_inputs WHERE value IS NULL AND prev_txid IS NOT NULL)"
_WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('tracer.chain_write.' || $1))"  # see the module doc


class ChainWriter:
    """Writes batches of ``BlockRows`` for one chain, with the caches that make each row written once.

    Call ``commit`` after the transaction of ``write`` committed and ``abort`` after it rolled back."""

    def __init__(
        self,
        chain: str,
        source: str,
        *,
        addresses: AddressIds | None = None,
        utxos: UtxoCache | None = None,
    ) -> None:
        self.chain = chain
        self.source = source
        self.addresses = addresses or AddressIds(chain)
        self.utxos = utxos or UtxoCache()
        self._spare = SpareWork()  # stepped while a database operation is in flight (module doc)
        self._upcoming: asyncio.Future[list[BlockRows | None]] | None = None  # the next batch's parse
        self._awaited: asyncio.Future[list[BlockRows | None]] | None = None  # the same, once we may plan it
        self._ahead: _Prepared | None = None  # the next batch, prepared (or being prepared) ahead
        self._ahead_steps: Iterator[None] = iter(())  # its preparation, while it is spare work

    def upcoming(self, parsed: asyncio.Future[list[BlockRows | None]]) -> None:
        """The batch after the one ``write`` gets next (its parse may still run): prepared while that one
        waits on the database, and used if ``write`` then gets exactly its blocks (the non-None ones)."""
        self._upcoming = parsed

    async def write(
        self, conn: asyncpg.Connection, blocks: Sequence[BlockRows], *, replace: Sequence[int] = ()
    ) -> BatchStats:
        ahead = self._prepared(blocks)
        if not blocks:
            return BatchStats(0, 0)
        chain = self.chain
        if replace:
            await delete_blocks(conn, chain, "= ANY($2::integer[])", list(replace))
            self.utxos.clear()  # the cache may hold outputs of what was just deleted
        if ahead is None:
            ahead = _Prepared(list(blocks))
            for _ in _prepare(ahead, self.addresses, self.chain):
                pass
        await self._spare.wait(self.addresses.fill(conn, ahead.addresses))
        ids = ahead.addresses.found  # every address of the batch's, filled in
        self._plan_ahead()  # after ``fill``: the next batch's lookup must see the addresses it added
        await conn.execute(_WRITE_LOCK, chain)  # before drawing ids: ids follow commit order (module doc)
        tx_count = sum(len(b.txs) for b in blocks)
        tx_ids = await draw_range(conn, "transactions", tx_count)  # every drawer holds the write lock
        new_outputs, slots = ahead.new_outputs, ahead.slots
        # Each COPY is in flight while the next table's rows are built: PostgreSQL inserts while we build.
        address_ids: list[int | None] = []  # of the batch's outputs, in order
        shipping = self._copy_blocks_and_txs(conn, blocks, tx_ids, ahead.tx_columns)
        await _while_shipping(shipping, self._output_rows(blocks, ids, slots, address_ids))
        inputs = InputRows(ids, new_outputs, self.utxos.transactions)
        shipping = _copy_outputs(conn, blocks, tx_ids, address_ids)
        work = self._input_rows(blocks, tx_ids, inputs)
        await self._ship_inputs(conn, shipping, work, inputs)
        in_rows = inputs.rows
        resolved = _count_stored(in_rows)
        if await self._spare.wait(conn.fetchval(_ANY_PENDING)):  # earlier inputs spending what we wrote
            await bulkload.need(conn, SPENT_LOOKUP_KEYS)
            resolved += await conn.fetchval(_RESOLVE_OLD_INPUTS, list(tx_ids), chain)
        self.utxos.stage(new_outputs, inputs.spent, inputs.spent_new)
        return BatchStats(
            len(blocks),
            tx_count,
            {"outputs": len(address_ids), "inputs": len(in_rows), "inputs_resolved": resolved},
        )

    def commit(self) -> None:
        self.addresses.commit()
        self._spare.add(self.utxos.commit_steps())  # run while the next batch waits on the database

    def abort(self) -> None:
        self._ahead = self._awaited = None  # prepared against what was just rolled back
        self._spare.drop()  # a commit's steps left stay the cache's own (``UtxoCache.settle``)
        self.addresses.abort()
        self.utxos.abort()

    def _prepared(self, blocks: Sequence[BlockRows]) -> _Prepared | None:
        """The batch prepared ahead, finished now, if it is ``blocks``; forgets it either way."""
        ahead, steps = self._ahead, self._ahead_steps
        self._ahead, self._ahead_steps, self._awaited = None, iter(()), None
        if ahead is None or len(ahead.blocks) != len(blocks):
            return None
        if any(a is not b for a, b in zip(ahead.blocks, blocks, strict=True)):
            return None
        for _ in steps:  # what the spare time left undone
            pass
        return ahead

    def _plan_ahead(self) -> None:
        """Queue the next batch's preparation as spare work, now or once its parse is done."""
        parsed, self._upcoming = self._upcoming, None
        if parsed is None:
            return
        self._awaited = parsed
        if parsed.done():
            self._queue_ahead(parsed)
        else:
            parsed.add_done_callback(self._queue_ahead)

    def _queue_ahead(self, parsed: asyncio.Future[list[BlockRows | None]]) -> None:
        if parsed is not self._awaited or parsed.cancelled() or parsed.exception() is not None:
            return  # its batch's write began (or a rollback came) meanwhile; or it has nothing to prepare
        self._awaited = None
        self._ahead = ahead = _Prepared([b for b in parsed.result() if b is not None])
        self._ahead_steps = _prepare(ahead, self.addresses, self.chain)
        self._spare.add(self._ahead_steps)

    def _block_rows(self, blocks: Sequence[BlockRows]) -> list[tuple[object, ...]]:
        return [
            (
                self.chain,
                b.height,
                b.hash,
                b.prev_hash,
                datetime.fromtimestamp(b.time, UTC),
                len(b.txs),
                self.source,
            )
            for b in blocks
        ]

    async def _copy_blocks_and_txs(
        self,
        conn: asyncpg.Connection,
        blocks: Sequence[BlockRows],
        tx_ids: Sequence[int],
        but_ids: list[Column] | None,
    ) -> None:
        """``but_ids``: the transactions' columns but their ids (``_prepare``), None when a row does not
        fit them."""
        await conn.copy_records_to_table("blocks", records=self._block_rows(blocks), columns=_BLOCK_COLUMNS)
        from tracer.store.chaincopy import with_ids  # with numpy: see _copy_columns

        columns = with_ids(tx_ids, but_ids) if but_ids is not None else None
        await _copy_columns(
            conn, "transactions", _TX_COLUMNS, columns, lambda: tx_records(self.chain, blocks, tx_ids)
        )

    def _output_rows(
        self,
        blocks: Sequence[BlockRows],
        ids: dict[str, int | None],
        slots: list[list[Outputs]],
        address_ids: list[int | None],
    ) -> Iterator[None]:
        """Each output's address id into ``address_ids`` and the output into its transaction's list
        (``chainrows.output_rows``); yields every ``_STEP_ROWS`` rows (``_while_shipping``)."""
        for b, block_slots in zip(blocks, slots, strict=True):
            for start in _starts(b.outputs):
                end = start + _STEP_ROWS
                chainrows.output_rows(b.outputs, ids, block_slots, address_ids, start=start, end=end)
                yield

    def _input_rows(
        self, blocks: Sequence[BlockRows], tx_ids: Sequence[int], out: InputRows
    ) -> Iterator[None]:
        """Input rows, resolved from this batch's outputs and the cache, into ``out`` (``chainrows
        .input_rows``); yields every ``_STEP_ROWS`` rows (``_while_shipping``)."""
        base = 0
        for b in blocks:
            block_tx_ids: list[object] = list(tx_ids[base : base + len(b.txs)])  # an int object per tx
            base += len(b.txs)
            for start in _starts(b.inputs):
                yield
                chainrows.input_rows(out, b.inputs, block_tx_ids, start=start, end=start + _STEP_ROWS)

    async def _ship_inputs(
        self, conn: asyncpg.Connection, shipping: Awaitable[object], work: Iterable[None], inputs: InputRows
    ) -> None:
        """Build the input rows (``work``) while the outputs' COPY (``shipping``), then the inputs' own, are
        in flight: whenever the connection is free and ``_INPUT_PART_ROWS`` rows are built, they go in their
        own COPY (their misses looked up first), so that the server inserts inputs while we build the rest
        and only the last part's COPY is waited for. Measured on the bench chain (1M transactions, back to
        back on a machine loaded ~4): one COPY per batch after all its inputs were built 91.2 s, parts 86.9 s.
        """
        rows, shipped = inputs.rows, 0
        task: asyncio.Future[object] = asyncio.ensure_future(shipping)
        try:
            for _ in work:
                if task.done() and len(rows) - shipped >= _INPUT_PART_ROWS:
                    await task  # raises its error, if any
                    task = asyncio.ensure_future(self._ship_input_part(conn, inputs, shipped, len(rows)))
                    shipped = len(rows)
                await asyncio.sleep(0)
        except BaseException:
            await cancel(task)
            raise
        await self._spare.wait(task)  # the writer has nothing else to do: spare work does
        await self._spare.wait(self._ship_input_part(conn, inputs, shipped, len(rows)))

    async def _ship_input_part(
        self, conn: asyncpg.Connection, inputs: InputRows, start: int, end: int
    ) -> None:
        """Input rows ``start..end-1``: their missing spent outputs looked up, then COPied."""
        if start == end:
            return
        misses = inputs.misses  # row numbers, ascending
        part = misses[bisect_left(misses, start) : bisect_left(misses, end)]
        await self._lookup_misses(conn, inputs.rows, part)
        rows = inputs.rows[start:end]
        from tracer.store.chaincopy import input_columns  # with numpy: see _copy_columns

        await _copy_columns(conn, "tx_inputs", _INPUT_COLUMNS, input_columns(rows), lambda: rows)

    async def _lookup_misses(
        self, conn: asyncpg.Connection, rows: list[list[object]], misses: list[int]
    ) -> None:
        """One set-based lookup of the spent outputs neither the batch nor the cache had (under the write
        lock: what is not found, no committed batch holds)."""
        if not misses:
            return
        await bulkload.need(conn, SPENT_LOOKUP_KEYS)
        found = await conn.fetch(
            _LOOKUP_SPENT,
            self.chain,
            [rows[i][2] for i in misses],
            [rows[i][3] for i in misses],
            misses,
        )
        for i, address_id, value, script in found:
            row = rows[i]
            row[5], row[6], row[7], row[8] = address_id, value, script, STORED


_STEP_ROWS = 2_000  # rows built between two turns of the event loop while a COPY is in flight
_INPUT_PART_ROWS = 4_000  # input rows a COPY of its own takes at least (``_ship_inputs``)


def _starts(rows: Sized) -> range:
    """Where each run of ``_STEP_ROWS`` rows starts: the row builders yield to the event loop between two."""
    return range(0, len(rows), _STEP_ROWS)


@dataclass(slots=True)
class _Prepared:
    """A batch's work that needs no database (``_prepare``), possibly done ahead."""

    blocks: list[BlockRows]
    addresses: Lookup = field(default_factory=lambda: Lookup({}, []))
    new_outputs: dict[bytes, Outputs] = field(default_factory=dict)
    slots: list[list[Outputs]] = field(default_factory=list)
    tx_columns: list[Column] | None = None


def _prepare(ahead: _Prepared, addresses: AddressIds, chain: str) -> Iterator[None]:
    """What a batch needs before the database, in steps of ``_STEP_ROWS`` rows (as spare work, each step
    delays the answer of the operation in flight by its length): its addresses looked up in the cache
    (``chainrows.look_up_*``), its outputs' slots, its transactions' columns but their ids. A function, not
    a writer's method: the writer holds the generator, which must not hold the writer (a reference cycle
    would keep its caches, millions of objects, alive after a run until a full collection)."""
    blocks = ahead.blocks
    known = addresses.known
    found, missing = ahead.addresses
    for b in blocks:
        for start in _starts(b.outputs):
            end = start + _STEP_ROWS
            chainrows.look_up_outputs(known, b.outputs, found, missing, start=start, end=end)
            yield
        for start in _starts(b.inputs):
            end = start + _STEP_ROWS
            chainrows.look_up_inputs(known, b.inputs, found, missing, start=start, end=end)
            yield
    for b in blocks:
        block_slots: list[Outputs] = []
        ahead.slots.append(block_slots)
        for start in _starts(b.txs):
            end = start + _STEP_ROWS
            chainrows.output_slots(b.txs, ahead.new_outputs, block_slots, start=start, end=end)
            yield
    from tracer.store.chaincopy import tx_columns_but_ids  # with numpy: see _copy_columns

    ahead.tx_columns = tx_columns_but_ids(chain, blocks)


async def _while_shipping(shipping: Awaitable[object], work: Iterable[None]) -> None:
    """Build rows (``work``, a generator that yields every ``_STEP_ROWS`` rows) while ``shipping`` (one
    database operation, a COPY) runs: at each yield the event loop sends more of its data, and the server
    inserts it while we build. One connection does one operation at a time; the CPU work is what overlaps."""
    task = asyncio.ensure_future(shipping)
    try:
        for _ in work:
            await asyncio.sleep(0)
    except BaseException:
        await cancel(task)
        raise
    await task


async def _copy_outputs(
    conn: asyncpg.Connection,
    blocks: Sequence[BlockRows],
    tx_ids: Sequence[int],
    address_ids: list[int | None],
) -> None:
    from tracer.store.chaincopy import output_columns  # with numpy: see _copy_columns

    columns = output_columns(blocks, tx_ids, address_ids)
    await _copy_columns(
        conn, "tx_outputs", _OUTPUT_COLUMNS, columns, lambda: output_records(blocks, tx_ids, address_ids)
    )


async def _copy_columns(
    conn: asyncpg.Connection,
    table: str,
    names: Sequence[str],
    columns: Sequence[Column] | None,
    records: Callable[[], Sequence[Sequence[object]]],
) -> None:
    """COPY a batch's rows of ``table``: as the binary ``columns`` we encode (``tracer.store.chaincopy``),
    or, when a row does not fit them (None), as the ``records`` asyncpg encodes.

    bincopy and chaincopy are imported where they are used: they bring numpy, ~30 ms of start-up that
    ``tracer index evm`` (which reads this module's cursor functions) does not need."""
    if columns is None:
        await conn.copy_records_to_table(table, records=records(), columns=list(names))
        return
    from tracer.store.bincopy import copy_columns_in

    await copy_columns_in(conn, table, names, columns)


def tx_records(chain: str, blocks: Sequence[BlockRows], tx_ids: Sequence[int]) -> list[tuple[object, ...]]:
    """The ``transactions`` rows as records (asyncpg's COPY): the reference of ``tx_columns``."""
    heights = [b.height for b in blocks for _ in b.txs]
    txs = [tx for b in blocks for tx in b.txs]
    return [(i, chain, h, *tx) for i, h, tx in zip(tx_ids, heights, txs, strict=True)]


def output_records(
    blocks: Sequence[BlockRows], tx_ids: Sequence[int], address_ids: Sequence[int | None]
) -> list[tuple[object, ...]]:
    """The ``tx_outputs`` rows as records: the reference of ``output_columns``."""
    records: list[tuple[object, ...]] = []
    ids, base = iter(address_ids), 0
    for b in blocks:
        records.extend((tx_ids[base + p], vout, next(ids), value, st) for p, vout, _, value, st in b.outputs)
        base += len(b.txs)
    return records


def _count_stored(rows: list[list[object]]) -> int:
    return sum(1 for r in rows if r[8] == STORED)


async def stored_hashes(conn: asyncpg.Connection, chain: str, first: int, last: int) -> dict[int, str]:
    rows = await conn.fetch(
        "SELECT height, encode(hash, 'hex') AS hash FROM blocks"
        " WHERE chain = $1 AND height BETWEEN $2 AND $3",
        chain,
        first,
        last,
    )
    return {row["height"]: row["hash"] for row in rows}


async def write_blocks(
    conn: asyncpg.Connection,
    blocks: Sequence[Block],
    *,
    source: str,
    cursor: tuple[str, int] | None = None,
    reindex: bool = False,
    writer: ChainWriter | None = None,
) -> tuple[BatchStats, int, list[int]]:
    """Store parsed ``blocks`` (one chain) in one transaction, skipping those stored with the same hash
    unless ``reindex``; move cursor (name, next_height) with them. Returns the stats, how many blocks
    were already stored, and the heights written."""
    if not blocks:
        return BatchStats(0, 0), 0, []
    by_height = {block.height: block for block in blocks}  # the same height twice: the last one wins
    chain = blocks[0].chain.value
    writer = writer or ChainWriter(chain, source)
    try:
        async with conn.transaction():
            stored = await stored_hashes_at(conn, chain, list(by_height))
            todo = [b for h, b in sorted(by_height.items()) if reindex or stored.get(h) != b.hash]
            replace = [b.height for b in todo if b.height in stored]
            if cursor is not None:
                await move_cursor(conn, chain, cursor[0], cursor[1])
            stats = await writer.write(conn, [block_rows(b) for b in todo], replace=replace)
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return stats, len(by_height) - len(todo), [b.height for b in todo]


async def stored_hashes_at(conn: asyncpg.Connection, chain: str, heights: list[int]) -> dict[int, str]:
    """Hashes of the blocks we hold at ``heights`` (any chain): what a batch compares with before writing."""
    rows = await conn.fetch(
        "SELECT height, encode(hash, 'hex') AS hash FROM blocks"
        " WHERE chain = $1 AND height = ANY($2::integer[])",
        chain,
        heights,
    )
    return {row["height"]: row["hash"] for row in rows}


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


# The account chains' rows of a block (tracer.store.transfers), children of ``blocks`` like transactions.
ACCOUNT_ROW_TABLES = ("token_events", "transfers", "account_txs")


async def delete_from_height(conn: asyncpg.Connection, chain: str, height: int) -> int:
    """Drop blocks at ``height`` and above (a reorg); returns how many blocks went."""
    return await delete_blocks(conn, chain, ">= $2", height)


async def delete_blocks(conn: asyncpg.Connection, chain: str, heights: str, arg: object) -> int:
    """Delete the blocks whose height matches ``heights`` (an SQL condition on $2), and their rows. Each
    table explicitly, child first: a first pass (``tracer.store.bulkload``) runs without the foreign keys
    whose ``ON DELETE CASCADE`` would otherwise do it."""
    for table in ACCOUNT_ROW_TABLES:
        await conn.execute(f"DELETE FROM {table} WHERE chain = $1 AND block_height {heights}", chain, arg)
    txs = f"SELECT id FROM transactions WHERE chain = $1 AND block_height {heights}"
    await bulkload.need(conn, BLOCK_DELETE_KEYS)
    for table in ("tx_inputs", "tx_outputs"):
        await conn.execute(f"DELETE FROM {table} WHERE tx_id IN ({txs})", chain, arg)
    await conn.execute(f"DELETE FROM transactions WHERE chain = $1 AND block_height {heights}", chain, arg)
    return _count(await conn.execute(f"DELETE FROM blocks WHERE chain = $1 AND height {heights}", chain, arg))


def _count(status: str) -> int:
    """Row count from a command tag such as 'UPDATE 12'."""
    return int(status.rsplit(" ", 1)[-1])
