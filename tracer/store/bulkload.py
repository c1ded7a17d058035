"""The first pass over a long range: rows written without per-row foreign-key checks and without the
secondary indexes on address ids and spent outpoints, which are built once, set-based, at the end. Each
storage model names what it defers (``BITCOIN``, ``ACCOUNT``).

Measured on the bench chain (100k transactions): the COPY of outputs and inputs went from 11.8 s to 1.7 s,
most of it the four foreign-key triggers per row (each an index probe) and the random inserts into the two
address-id indexes. Building them afterwards is one sort and one join per table. Account chains
(bench.evm_ingest, 2,000 anvil blocks): a 250-block batch's write went from ~80 ms to ~20 ms, nearly all
of it the foreign-key triggers (three to five per transaction and transfer row).

Crash safety: ``enter`` records each definition (``pg_get_indexdef`` / ``pg_get_constraintdef``) in
``bulk_load_dropped`` and drops it in one transaction; ``leave`` replays each definition and deletes its
record in one transaction (``leave_concurrently``: on several connections at once). DDL is transactional
in PostgreSQL, so a kill -9 at any moment leaves each item either in the schema or recorded to rebuild
from; a bulk run after a crash carries on, any other run rebuilds first (``leave``). ``leave_concurrently``
first adds the recorded foreign keys back ``NOT VALID`` and validates each as a step of its own: killed in
between, a key is in the schema unvalidated *and* recorded, which the next rebuild validates and the next
first pass drops again (its record, kept as it was, still names the key as it was defined). Rows are the same
either way: only checks and indexes are deferred, and the writer deletes a block's rows explicitly (no
reliance on ``ON DELETE CASCADE`` from the dropped keys).
Keys (unique and primary) are deferred only when the pass has one writer, the one that owns the address ids
(``tracer.store.addresses.AddressIds.own``): the unique key of (chain, address), which its in-process ids
replace; the txid key of transactions and the primary keys of outputs and inputs, which a writer reads
through only for rows stored before its pass (spent outputs its cache misses, blocks it deletes). Whoever
needs one meanwhile rebuilds it first, inside its own transaction (``need_unique``, ``need``), and the rest
of the pass keeps it.
``active`` and ``leave`` see only their own model's tables: a Bitcoin run does not rebuild what an
account-chain first pass deferred, nor the other way round.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import asyncpg

from tracer.store import rebuild_schedule
from tracer.store.rebuild_schedule import Schedule, Step

log = logging.getLogger(__name__)

# A run this long into a store it at least doubles defers checks and indexes: rebuilding them costs one
# pass over the tables, which a short run on a big store would not repay.
BULK_MIN_BLOCKS: Final = 1_000
# Connections the rebuild at the end of a first pass runs its steps on: one runs the unique key of
# (chain, address) while the other builds the secondary indexes. Measured on the bench chain (1M
# transactions, the nine steps there were then, a machine loaded ~3 on 2 cores): 10.3 s on one connection,
# 8.9-9.8 s on two.
REBUILD_CONNECTIONS: Final = 2


@dataclass(frozen=True, slots=True)
class Deferred:
    """What one storage model defers: foreign keys (table -> the tables they reference; checked per row by
    triggers) and secondary indexes nothing in its write path reads (the address-centred reads do, after
    the pass)."""

    foreign_keys: Mapping[str, tuple[str, ...]]  # every key of the table to one of these tables
    indexes: tuple[str, ...]
    # Unique and primary keys (table -> their names) a pass defers when it has one writer (``enter``'s
    # ``unique``); whoever relies on one meanwhile rebuilds it first (``need_unique``, ``need``).
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def tables(self) -> list[str]:
        """The tables whose keys and indexes this model defers (all of its indexes are on them)."""
        return [*self.foreign_keys, *(table for table in self.keys if table not in self.foreign_keys)]


BITCOIN: Final = Deferred(
    {
        "transactions": ("blocks",),
        "tx_outputs": ("transactions", "addresses"),
        "tx_inputs": ("transactions", "addresses"),
    },
    # tx_inputs_prevout (spenders by outpoint) is read by tracing and exposure, not by the writer (its
    # pending inputs have their own partial index): a random insert per input during the pass, one sorted
    # build after it. transactions_block: read to delete blocks (``need`` first).
    ("tx_outputs_address", "tx_inputs_address", "tx_inputs_prevout", "transactions_block"),
    {
        # (address, chain): the random inserts into it were the largest cost of a first pass (a third of the
        # database time at 1M transactions); one sorted build at the end instead (address first: migration
        # 030).
        "addresses": ("addresses_address_chain_key",),
        # The writer finds spent outputs in its cache; it reads these only for outputs stored before its
        # pass (``need`` first). Each costs an index entry and its WAL per row: deferred with the block
        # index above, the 1M-tx bench chain's pass took 57.5-60.3 -> 47.7-52.1 s (PostgreSQL's CPU 43-45
        # -> 32-34 s; the rebuild 11.4-12.2 -> 12.8-13.4 s), an otherwise idle machine.
        "transactions": ("transactions_chain_txid_height_key",),
        "tx_outputs": ("tx_outputs_pkey",),
        "tx_inputs": ("tx_inputs_pkey",),
    },
)
# token_events_subject stays: freeze-label refreshes read it inside the write transaction.
ACCOUNT: Final = Deferred(
    {
        "account_txs": ("blocks", "addresses"),
        "transfers": ("blocks", "addresses", "tokens"),
        "token_events": ("blocks", "addresses", "tokens"),
    },
    ("transfers_from", "transfers_to", "account_txs_hash"),
)

_FOREIGN_KEYS = """
SELECT c.conname AS name, c.conrelid::regclass::text AS table_name, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
WHERE c.contype = 'f' AND c.conrelid = $1::text::regclass AND c.confrelid = ANY($2::text[]::regclass[])
  AND c.connamespace = current_schema()::regnamespace
"""
_KEYS = """
SELECT c.conname AS name, c.conrelid::regclass::text AS table_name, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
WHERE c.contype IN ('u', 'p') AND c.conrelid = $1::text::regclass AND c.conname = ANY($2::text[])
  AND c.connamespace = current_schema()::regnamespace
"""
# FOR UPDATE: a table-level lock that waits for a running ``enter`` (EXCLUSIVE), and the rows locked, so
# that of two writers rebuilding at once the second waits and then finds nothing left to do.
_DEFERRED_UNIQUE = """
SELECT name, table_name, kind, definition FROM bulk_load_dropped
WHERE table_name = $1 AND kind = 'constraint' AND definition LIKE 'UNIQUE %' FOR UPDATE
"""
_DEFERRED_NAMED = """
SELECT name, table_name, kind, definition FROM bulk_load_dropped
WHERE name = ANY($1::text[]) AND definition NOT LIKE 'FOREIGN KEY %' ORDER BY name FOR UPDATE
"""
_INDEXES = """
SELECT indexname AS name, tablename AS table_name, indexdef AS definition
FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ANY($1::text[])
"""
# Settings for one step of the rebuild, its transaction only. Memory: index builds sort in memory
# (maintenance_work_mem) and the foreign keys' validating anti-joins sort in memory (work_mem) instead of
# spilling to disk; the defaults (64 MB, 4 MB) are sized for many concurrent sessions, not for one
# set-based rebuild. No hash joins: PostgreSQL validates a key with one anti-join of the two tables, and
# its planner hashes the referenced ids (a 140 MB table for 2.77M addresses) and probes it once per row in
# random order; sorting the referencing ids and merging them with the referenced table's primary key
# reads both in order. Measured on the 1M-tx bench chain (load ~4): outputs -> addresses 6.2 -> 2.2 s,
# inputs -> addresses 5.7 -> 1.6 s, outputs and inputs -> transactions 1.7 -> 1.1 s and 1.6 -> 1.2 s.
_STEP_SETTINGS = (
    "SET LOCAL maintenance_work_mem = '1GB'; SET LOCAL work_mem = '512MB'; SET LOCAL enable_hashjoin = off"
)
# A rebuild's steps in the order they are taken (``rebuild_schedule``: the first whose locks are free):
# unique and primary keys first (their ACCESS EXCLUSIVE lock holds off every key to the table), then
# indexes (one table's can be built side by side: a SHARE lock each), then the foreign keys' validations.
_STEPS = """
SELECT name, table_name, kind, definition FROM bulk_load_dropped WHERE table_name = ANY($1::text[])
ORDER BY definition LIKE 'UNIQUE %' OR definition LIKE 'PRIMARY KEY %' DESC, kind DESC, name
"""
_NEXT_STEP = _STEPS + "LIMIT 1 FOR UPDATE SKIP LOCKED"
_LOCK_STEP = "SELECT 1 FROM bulk_load_dropped WHERE name = $1 FOR UPDATE SKIP LOCKED"
_RECORDED_KEYS = """
SELECT name, table_name, definition FROM bulk_load_dropped
WHERE table_name = ANY($1::text[]) AND kind = 'constraint' AND definition LIKE 'FOREIGN KEY %'
ORDER BY name FOR UPDATE SKIP LOCKED
"""
_EXISTS = """SELECT 1 FROM pg_constraint WHERE conrelid = $1::text::regclass AND conname = $2"""
_RECORD = """INSERT INTO bulk_load_dropped (name, table_name, kind, definition) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO NOTHING"""


async def active(conn: asyncpg.Connection, deferred: Deferred) -> bool:
    """Whether a killed first pass left some of this model's checks or indexes deferred."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM bulk_load_dropped WHERE table_name = ANY($1::text[]))",
            deferred.tables,
        )
    )


async def wanted(conn: asyncpg.Connection, chain: str, heights: int, bulk: bool | None) -> bool:
    """Whether a run of ``heights`` blocks defers: as told, or (None) when it is long and at least doubles
    the chain's stored blocks."""
    if bulk is not None:
        return bulk
    if heights < BULK_MIN_BLOCKS:
        return False
    stored = await conn.fetchval("SELECT count(*) FROM blocks WHERE chain = $1", chain)
    return int(stored) < heights


async def enter(conn: asyncpg.Connection, deferred: Deferred, *, unique: bool = False) -> list[str]:
    """Drop the deferred checks and indexes (recording them); returns what was dropped now. ``unique``:
    the unique and primary keys too (only for a pass with one writer, the owner of the address ids)."""
    dropped: list[str] = []
    async with conn.transaction():
        await conn.execute("LOCK TABLE bulk_load_dropped IN EXCLUSIVE MODE")  # one enter/leave at a time
        for row in await _constraints(conn, deferred, unique=unique):
            await conn.execute(_RECORD, row["name"], row["table_name"], "constraint", row["definition"])
            await conn.execute(f'ALTER TABLE {row["table_name"]} DROP CONSTRAINT "{row["name"]}"')
            dropped.append(row["name"])
        for row in await conn.fetch(_INDEXES, list(deferred.indexes)):
            await conn.execute(_RECORD, row["name"], row["table_name"], "index", row["definition"])
            await conn.execute(f'DROP INDEX "{row["name"]}"')
            dropped.append(row["name"])
    if dropped:
        log.info("bulk load: deferred checks and indexes", extra={"dropped": dropped})
    return dropped


async def _constraints(conn: asyncpg.Connection, deferred: Deferred, *, unique: bool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = []
    for table, referenced in deferred.foreign_keys.items():
        rows += await conn.fetch(_FOREIGN_KEYS, table, list(referenced))
    for table, names in deferred.keys.items() if unique else ():
        rows += await conn.fetch(_KEYS, table, list(names))
    return rows


async def need_unique(conn: asyncpg.Connection, table: str) -> None:
    """For a writer about to rely on ``table``'s unique constraints (``ON CONFLICT``), inside its
    transaction: rebuild those a first pass deferred. That pass's writer then finds any key it did not
    assign itself taken (a unique violation) and stops owning them. One small query when none is deferred."""
    await _rebuild_needed(conn, await conn.fetch(_DEFERRED_UNIQUE, table))


async def need(conn: asyncpg.Connection, names: Sequence[str]) -> None:
    """For a writer about to read through the keys or indexes ``names``, inside its transaction: rebuild
    those a first pass deferred (the pass goes on with them). One small query when none is deferred."""
    await _rebuild_needed(conn, await conn.fetch(_DEFERRED_NAMED, list(names)))


async def _rebuild_needed(conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
    if not rows:
        return
    async with conn.transaction():  # a savepoint in the caller's: each item is built and unrecorded, or not
        memory = await conn.fetchval("SELECT current_setting('maintenance_work_mem')")
        await conn.execute("SELECT set_config('maintenance_work_mem', '1GB', true)")
        for row in rows:
            await _rebuild_one(conn, Step(row["name"], row["table_name"], row["kind"], row["definition"]))
        await conn.execute("SELECT set_config('maintenance_work_mem', $1, true)", memory)
    log.info("bulk load: a writer rebuilt deferred keys", extra={"rebuilt": [r["name"] for r in rows]})


async def leave(conn: asyncpg.Connection, deferred: Deferred) -> list[str]:
    """Build every recorded index and constraint of this model's tables again, one per transaction (a kill
    between two leaves the rest recorded); returns their names. Another model's first pass, running
    meanwhile, keeps its own deferred."""
    started = time.perf_counter()
    names = await _rebuild_steps(conn, deferred)
    _log_rebuilt(names, started)
    return names


async def leave_concurrently(
    pool: asyncpg.Pool,
    deferred: Deferred,
    connections: int = REBUILD_CONNECTIONS,
    *,
    analyze: Sequence[str] = (),
) -> list[str]:
    """``leave`` on ``connections`` of the pool's connections at once (a pool with fewer runs the steps on
    fewer). The foreign keys first come back unvalidated, all in one short transaction (``NOT VALID``: a
    catalog change); then each free connection takes the next step whose table locks conflict with no
    running step's (``rebuild_schedule``), a key's step being its validation. ``analyze``: tables whose
    statistics to refresh as the last steps of the same schedule (a first pass's tables all need it), on
    whichever connection the locks leave free."""
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await _add_unvalidated(conn, deferred)
        rows = await conn.fetch(_STEPS, deferred.tables)
    steps = [Step(r["name"], r["table_name"], r["kind"], r["definition"]) for r in rows]
    schedule = Schedule([*steps, *(rebuild_schedule.analyze(table) for table in analyze)])

    async def one() -> list[str]:
        names: list[str] = []
        async with pool.acquire() as conn:
            while (step := await schedule.next()) is not None:
                try:
                    if step.kind == rebuild_schedule.ANALYZE:
                        await conn.execute(step.definition)
                    elif await _rebuild_recorded(conn, step):
                        names.append(step.name)
                finally:
                    await schedule.done(step)
        return names

    tasks = [asyncio.ensure_future(one()) for _ in range(connections)]
    try:
        parts = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:  # one step failed: the others' connections stop too (their steps roll back)
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    names = [name for part in parts for name in part]
    _log_rebuilt(names, started)
    return names


async def _add_unvalidated(conn: asyncpg.Connection, deferred: Deferred) -> None:
    """Add every recorded foreign key nobody else is rebuilding as ``NOT VALID`` (new rows are checked,
    the stored ones not yet), keeping its record: a kill from here on leaves the key in the schema
    unvalidated and its record, and whichever run comes next validates it (``_rebuild_one``) or, a first
    pass, drops it again (``enter``)."""
    async with conn.transaction():
        for row in await conn.fetch(_RECORDED_KEYS, deferred.tables):
            await _add_key_unvalidated(
                conn, Step(row["name"], row["table_name"], "constraint", row["definition"])
            )


async def _rebuild_steps(conn: asyncpg.Connection, deferred: Deferred) -> list[str]:
    """Rebuild recorded steps until none is left that another connection is not already on. Each step is
    its DDL and the deletion of its record in one transaction: the schema has it, or the record names it.
    Its row lock (``SKIP LOCKED``) keeps other connections off it; ``enter`` (an EXCLUSIVE lock on the
    table) waits for the step."""
    names: list[str] = []
    while True:
        async with conn.transaction():
            await conn.execute(_STEP_SETTINGS)
            row = await conn.fetchrow(_NEXT_STEP, deferred.tables)
            if row is None:
                return names
            await _rebuild_one(conn, Step(row["name"], row["table_name"], row["kind"], row["definition"]))
        names.append(row["name"])


async def _rebuild_recorded(conn: asyncpg.Connection, step: Step) -> bool:
    """``step`` in one transaction, if it is still recorded and nobody else is on it (another process's
    rebuild, a writer's ``need_unique``); returns whether it was rebuilt here."""
    async with conn.transaction():
        await conn.execute(_STEP_SETTINGS)
        if await conn.fetchval(_LOCK_STEP, step.name) is None:
            return False
        await _rebuild_one(conn, step)
    return True


async def _rebuild_one(conn: asyncpg.Connection, step: Step) -> None:
    """Build ``step`` again and delete its record (inside the caller's transaction). A foreign key is
    validated where ``_add_unvalidated`` (or a killed rebuild) added it already."""
    started = time.perf_counter()
    if step.kind == "index":
        await conn.execute(step.definition)
    elif step.foreign_key:
        await _add_key_unvalidated(conn, step)
        await conn.execute(f'ALTER TABLE {step.table} VALIDATE CONSTRAINT "{step.name}"')
    else:
        await conn.execute(f'ALTER TABLE {step.table} ADD CONSTRAINT "{step.name}" {step.definition}')
    await conn.execute("DELETE FROM bulk_load_dropped WHERE name = $1", step.name)
    log.debug(
        "bulk load: rebuilt one step",
        extra={"step": step.name, "seconds": round(time.perf_counter() - started, 3)},
    )


async def _add_key_unvalidated(conn: asyncpg.Connection, step: Step) -> None:
    """The foreign key of ``step`` as ``NOT VALID``, unless the schema has it already."""
    if not await conn.fetchval(_EXISTS, step.table, step.name):
        await conn.execute(
            f'ALTER TABLE {step.table} ADD CONSTRAINT "{step.name}" {step.definition} NOT VALID'
        )


def _log_rebuilt(names: list[str], started: float) -> None:
    if names:
        log.info(
            "bulk load: rebuilt checks and indexes",
            extra={"rebuilt": names, "seconds": round(time.perf_counter() - started, 3)},
        )
