"""Writing account-model blocks (Ethereum, TRON): blocks, transactions, transfers, token events.

The same contract as ``tracer.store.chaindata.write_blocks`` for Bitcoin: one transaction per batch, bulk
COPY, a block stored with the same hash is skipped, a different block at a stored height (a reorg) or
``reindex`` replaces it (its rows deleted with it), and the cursor moves in the same
transaction as the rows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import NamedTuple

import asyncpg

from chains.evm.parse import EventRow, TransferRow, TxRow, block_rows
from chains.model import AccountBlock, TokenEventKind
from tracer.store.addresses import AddressIds, ensure_address_ids
from tracer.store.chaindata import delete_blocks, move_cursor, stored_hashes_at
from tracer.store.freeze_labels import freeze_subjects_at, refresh_freeze_labels
from tracer.store.textcopy import NULL, copy_text, hex_fields
from tracer.store.tokens import TokenIds, ensure_token_ids

ACCOUNT_TABLES = ("addresses", "blocks", "tokens", "account_txs", "transfers", "token_events")
_BLOCK_COLUMNS = ("chain", "height", "hash", "prev_hash", "time", "tx_count", "source")
_TX_COLUMNS = (
    "chain",
    "block_height",
    "position",
    "hash",
    "from_id",
    "to_id",
    "created_id",
    "value",
    "success",
)
_TRANSFER_COLUMNS = (
    "chain",
    "block_height",
    "tx_hash",
    "index",
    "kind",
    "asset_id",
    "from_id",
    "to_id",
    "amount",
)
_EVENT_COLUMNS = (
    "chain", "block_height", "tx_hash", "log_index", "kind", "token_id", "subject_id", "spender_id", "amount",
)  # fmt: skip
_FREEZE_KINDS = frozenset(
    k.value for k in (TokenEventKind.FREEZE, TokenEventKind.UNFREEZE, TokenEventKind.DESTROY)
)


class AccountRows(NamedTuple):
    """One parsed block of an account chain as flat rows (``chains.evm.parse``'s layout: a transaction,
    transfer or event each one tuple of its record's fields): what the indexer's parser hands the writer."""

    height: int
    hash: str  # lower-case hex without 0x
    prev_hash: str
    time: int  # unix seconds
    txs: list[TxRow]
    transfers: list[TransferRow]
    events: list[EventRow]


def account_rows(block: AccountBlock) -> AccountRows:
    """The mapper from a parsed ``AccountBlock`` to its rows."""
    return AccountRows(*block_rows(block))


@dataclass(frozen=True, slots=True)
class IdCaches:
    """A writer's caches of address and token ids (one chain), kept across its batches: a batch whose
    addresses and tokens are all known asks the database nothing for them. The writer commits or aborts
    them with each batch (ids a rolled-back batch inserted leave them)."""

    addresses: AddressIds
    tokens: TokenIds

    @classmethod
    def create(cls, chain: str) -> IdCaches:
        return cls(AddressIds(chain), TokenIds(chain))

    def commit(self) -> None:
        self.addresses.commit()
        self.tokens.commit()

    def abort(self) -> None:
        self.addresses.abort()
        self.tokens.abort()


@dataclass(frozen=True, slots=True)
class AccountWriteStats:
    blocks: int
    txs: int
    transfers: int
    events: int
    unchanged: int = 0
    labels_refreshed: int = 0  # accounts whose freeze labels were rewritten (the exposure is then stale)


async def write_account_blocks(
    conn: asyncpg.Connection,
    blocks: Sequence[AccountBlock],
    *,
    source: str,
    cursor: tuple[str, int] | None = None,
    reindex: bool = False,
    issuers: Mapping[str, str] | None = None,
) -> AccountWriteStats:
    """Store ``blocks`` (one chain) in one transaction and move cursor (name, next_height) with them.
    Freeze events of the ``issuers`` contracts (canonical address -> issuer name) refresh their labels."""
    if not blocks:
        return AccountWriteStats(0, 0, 0, 0)
    chain = blocks[0].chain.value
    by_height = {b.height: b for b in blocks}
    async with conn.transaction():
        stored = await stored_hashes_at(conn, chain, list(by_height))
        todo = [b for h, b in sorted(by_height.items()) if reindex or stored.get(h) != b.hash]
        if cursor is not None:
            await move_cursor(conn, chain, cursor[0], cursor[1])
        replace = [b.height for b in todo if b.height in stored]
        rows = [account_rows(b) for b in todo]
        stats = await write_account_rows(conn, chain, rows, source=source, replace=replace, issuers=issuers)
    return AccountWriteStats(
        stats.blocks, stats.txs, stats.transfers, stats.events, len(by_height) - len(todo)
    )


async def write_account_rows(
    conn: asyncpg.Connection,
    chain: str,
    blocks: Sequence[AccountRows],
    *,
    source: str,
    replace: Sequence[int] = (),
    issuers: Mapping[str, str] | None = None,
    caches: IdCaches | None = None,
) -> AccountWriteStats:
    """The rows of ``blocks`` (of ``chain``) in the caller's transaction; heights in ``replace`` are deleted
    first, rows and all (explicitly: a first pass runs without the cascading foreign keys,
    ``tracer.store.bulkload``). Freeze events of the ``issuers`` contracts refresh the subjects' labels.
    ``caches``: the writer's id caches (``IdCaches``), which it commits or aborts with the transaction."""
    if not blocks:
        return AccountWriteStats(0, 0, 0, 0)
    issuers = issuers or {}
    touched: set[str] = set()
    if replace:
        touched = await freeze_subjects_at(conn, chain, replace)
        await delete_blocks(conn, chain, "= ANY($2::integer[])", list(replace))
    stats = await _copy_rows(conn, chain, blocks, source, caches)
    touched |= {e[4] for b in blocks for e in b.events if e[2] in _FREEZE_KINDS and e[3] in issuers}
    if not (touched and issuers):
        return stats
    await refresh_freeze_labels(conn, chain, touched, issuers)
    return AccountWriteStats(
        stats.blocks, stats.txs, stats.transfers, stats.events, labels_refreshed=len(touched)
    )


async def _copy_rows(
    conn: asyncpg.Connection,
    chain: str,
    blocks: Sequence[AccountRows],
    source: str,
    caches: IdCaches | None,
) -> AccountWriteStats:
    wanted, contracts = addresses_of(blocks), tokens_of(blocks)
    if caches is None:
        ids: Mapping[str, int] = await ensure_address_ids(conn, chain, wanted)
        tokens: Mapping[str, int] = await ensure_token_ids(conn, chain, contracts)
    else:
        ids = await caches.addresses.ids(conn, wanted)
        tokens = await caches.tokens.ids(conn, contracts)
    block_rows, tx_rows, transfer_rows, event_rows = _rows(chain, blocks, source, ids, tokens)
    await conn.copy_records_to_table("blocks", records=block_rows, columns=_BLOCK_COLUMNS)
    await copy_text(conn, "account_txs", _TX_COLUMNS, tx_rows)
    await copy_text(conn, "transfers", _TRANSFER_COLUMNS, transfer_rows)
    await copy_text(conn, "token_events", _EVENT_COLUMNS, event_rows)
    return AccountWriteStats(len(blocks), len(tx_rows), len(transfer_rows), len(event_rows))


def _rows(
    chain: str,
    blocks: Sequence[AccountRows],
    source: str,
    ids: Mapping[str, int],
    tokens: Mapping[str, int],
) -> tuple[list[tuple[object, ...]], list[str], list[str], list[str]]:
    """The COPY rows of ``blocks``: blocks as records (binary COPY), the rest as text lines
    (``tracer.store.textcopy``)."""
    block_rows: list[tuple[object, ...]] = [
        (
            chain,
            b.height,
            bytes.fromhex(b.hash),
            bytes.fromhex(b.prev_hash),
            _time(b.time),
            len(b.txs),
            source,
        )
        for b in blocks
    ]
    # Hashes as bytea text, all checked at once (``hex_fields``): transfers and events name their
    # transaction's hash, so one lookup each.
    hashes = hex_fields(_tx_hashes(blocks))
    # Each row starts with its block's chain and height: formatted once a block, not once a row.
    starts = list(zip([f"{chain}\t{b.height}\t" for b in blocks], blocks, strict=True))
    tx_rows = [
        f"{start}{index}\t{hashes[tx_hash]}\t{ids[sender]}\t"
        f"{ids[to] if to else NULL}\t{ids[created] if created else NULL}\t"
        f"{NULL if value is None else value}\t{'t' if success else 'f'}\n"
        for start, b in starts
        for tx_hash, index, sender, to, value, success, created in b.txs
    ]
    transfer_rows = [
        f"{start}{hashes[tx_hash]}\t{index}\t{kind}\t"
        f"{tokens[asset] if asset else NULL}\t{ids[sender]}\t{ids[receiver]}\t{amount}\n"
        for start, b in starts
        for tx_hash, index, kind, asset, sender, receiver, amount in b.transfers
    ]
    event_rows = [
        f"{start}{hashes[tx_hash]}\t{index}\t{kind}\t"
        f"{tokens[token]}\t{ids[subject]}\t{ids[spender] if spender else NULL}\t"
        f"{NULL if amount is None else amount}\n"
        for start, b in starts
        for tx_hash, index, kind, token, subject, spender, amount in b.events
    ]
    return block_rows, tx_rows, transfer_rows, event_rows


def addresses_of(blocks: Sequence[AccountRows]) -> set[str]:
    """Every address ``blocks`` name (one comprehension per field: a set update per row cost more)."""
    txs = [t for b in blocks for t in b.txs]
    transfers = [t for b in blocks for t in b.transfers]
    events = [e for b in blocks for e in b.events]
    found = {t[2] for t in txs}
    found.update([t[3] for t in txs if t[3]], [t[6] for t in txs if t[6]])
    found.update([t[4] for t in transfers], [t[5] for t in transfers])
    found.update([e[4] for e in events], [e[5] for e in events if e[5]])
    return found


def tokens_of(blocks: Sequence[AccountRows]) -> set[str]:
    found = {t[3] for b in blocks for t in b.transfers if t[3]}
    return found | {e[3] for b in blocks for e in b.events}


def _tx_hashes(blocks: Sequence[AccountRows]) -> set[str]:
    """The transaction hashes of ``blocks``: their transactions', and those their transfers and events name
    (the same, unless a node's traces name another)."""
    found: set[str] = set()
    for b in blocks:  # map(itemgetter) runs in C: no bytecode per row
        found.update(map(_HASH, b.txs), map(_HASH, b.transfers), map(_HASH, b.events))
    return found


_HASH = itemgetter(0)  # of a row's transaction (chains.evm.parse: TxRow, TransferRow, EventRow)


def _time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def stored_tokens(
    conn: asyncpg.Connection | asyncpg.Pool, chain: str, addresses: Collection[str]
) -> set[str]:
    """Which of ``addresses`` the registry already holds with metadata read (or tried)."""
    rows = await conn.fetch(
        "SELECT address FROM tokens"
        " WHERE chain = $1 AND address = ANY($2::text[]) AND metadata_read_at IS NOT NULL",
        chain,
        list(addresses),
    )
    return {row["address"] for row in rows}
