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

import asyncpg

from chains.model import AccountBlock, TokenEventKind
from tracer.store.addresses import ensure_address_ids
from tracer.store.chaindata import delete_blocks, move_cursor, stored_hashes_at
from tracer.store.freeze_labels import freeze_subjects_at, refresh_freeze_labels
from tracer.store.textcopy import NULL, copy_text, hex_field
from tracer.store.tokens import ensure_token_ids

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
_FREEZE_KINDS = frozenset({TokenEventKind.FREEZE, TokenEventKind.UNFREEZE, TokenEventKind.DESTROY})


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
        stats = await write_account_rows(conn, todo, source=source, replace=replace, issuers=issuers)
    return AccountWriteStats(
        stats.blocks, stats.txs, stats.transfers, stats.events, len(by_height) - len(todo)
    )


async def write_account_rows(
    conn: asyncpg.Connection,
    blocks: Sequence[AccountBlock],
    *,
    source: str,
    replace: Sequence[int] = (),
    issuers: Mapping[str, str] | None = None,
) -> AccountWriteStats:
    """The rows of ``blocks`` in the caller's transaction; heights in ``replace`` are deleted first, rows
    and all (explicitly: a first pass runs without the cascading foreign keys, ``tracer.store.bulkload``).
    Freeze events of the ``issuers`` contracts refresh the subjects' labels."""
    if not blocks:
        return AccountWriteStats(0, 0, 0, 0)
    chain = blocks[0].chain.value
    issuers = issuers or {}
    touched: set[str] = set()
    if replace:
        touched = await freeze_subjects_at(conn, chain, replace)
        await delete_blocks(conn, chain, "= ANY($2::integer[])", list(replace))
    stats = await _copy_rows(conn, chain, blocks, source)
    touched |= {e.subject for b in blocks for e in b.events if e.kind in _FREEZE_KINDS and e.token in issuers}
    if not (touched and issuers):
        return stats
    await refresh_freeze_labels(conn, chain, touched, issuers)
    return AccountWriteStats(
        stats.blocks, stats.txs, stats.transfers, stats.events, labels_refreshed=len(touched)
    )


async def _copy_rows(
    conn: asyncpg.Connection, chain: str, blocks: Sequence[AccountBlock], source: str
) -> AccountWriteStats:
    ids = await ensure_address_ids(conn, chain, addresses_of(blocks))
    tokens = await ensure_token_ids(conn, chain, tokens_of(blocks))
    block_rows = [
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
    # Text COPY for the rows with amounts (``tracer.store.textcopy``): hashes checked once per transaction.
    hashes = {t.hash: hex_field(t.hash) for b in blocks for t in b.txs}
    tx_rows = [
        f"{chain}\t{b.height}\t{t.index}\t{hashes[t.hash]}\t{ids[t.from_address]}\t"
        f"{ids[t.to_address] if t.to_address else NULL}\t{ids[t.created] if t.created else NULL}\t"
        f"{NULL if t.value is None else t.value}\t{'t' if t.success else 'f'}\n"
        for b in blocks
        for t in b.txs
    ]
    transfer_rows = [
        f"{chain}\t{b.height}\t{hashes.get(t.tx_hash) or hex_field(t.tx_hash)}\t{t.index}\t{t.kind.value}\t"
        f"{tokens[t.asset] if t.asset else NULL}\t{ids[t.from_address]}\t{ids[t.to_address]}\t{t.amount}\n"
        for b in blocks
        for t in b.transfers
    ]
    event_rows = [
        f"{chain}\t{b.height}\t{hashes.get(e.tx_hash) or hex_field(e.tx_hash)}\t{e.index}\t{e.kind.value}\t"
        f"{tokens[e.token]}\t{ids[e.subject]}\t{ids[e.spender] if e.spender else NULL}\t"
        f"{NULL if e.amount is None else e.amount}\n"
        for b in blocks
        for e in b.events
    ]
    await conn.copy_records_to_table("blocks", records=block_rows, columns=_BLOCK_COLUMNS)
    await copy_text(conn, "account_txs", _TX_COLUMNS, tx_rows)
    await copy_text(conn, "transfers", _TRANSFER_COLUMNS, transfer_rows)
    await copy_text(conn, "token_events", _EVENT_COLUMNS, event_rows)
    return AccountWriteStats(len(blocks), len(tx_rows), len(transfer_rows), len(event_rows))


def addresses_of(blocks: Sequence[AccountBlock]) -> set[str]:
    found: set[str] = set()
    for b in blocks:
        for t in b.txs:
            found.add(t.from_address)
            found.update(a for a in (t.to_address, t.created) if a)
        for tr in b.transfers:
            found.add(tr.from_address)
            found.add(tr.to_address)
        for e in b.events:
            found.add(e.subject)
            if e.spender:
                found.add(e.spender)
    return found


def tokens_of(blocks: Sequence[AccountBlock]) -> set[str]:
    found = {t.asset for b in blocks for t in b.transfers if t.asset}
    return found | {e.token for b in blocks for e in b.events}


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
