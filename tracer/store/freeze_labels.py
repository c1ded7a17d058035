"""Stablecoin issuers' freeze events as labels: an address whose latest freeze event from an issuer's
contract is a freeze (USDT AddedBlackList, USDC Blacklisted) or a burn of its frozen balance carries a
BLACKLISTED label from that issuer, with the block time of the event; an unfreeze removes it.

Labels are derived from ``token_events`` (which a reorg rolls back with its block), so after a write or a
rollback the labels of the touched addresses are recomputed, never patched. Each issuer is one label
source per chain, e.g. "tether freeze events (ethereum)".

Written here with SQL on the label tables because the record-level label import API (branch i6a) was not
on main yet; it should move onto that API once it is.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping

import asyncpg

from tracer.risk.categories import Category
from tracer.store import coverage_cache

SOURCE_FORMAT = "chain-events"

_LATEST_EVENTS = """
SELECT DISTINCT ON (e.token_id, e.subject_id)
       e.subject_id, t.address AS token, t.symbol, e.kind, e.block_height, encode(e.tx_hash, 'hex') AS tx,
       b.time, e.amount
FROM token_events e
JOIN tokens t ON t.id = e.token_id
JOIN blocks b ON b.chain = e.chain AND b.height = e.block_height
WHERE e.chain = $1 AND e.subject_id = ANY($2::bigint[]) AND t.address = ANY($3::text[])
  AND e.kind IN ('freeze', 'unfreeze', 'destroy')
ORDER BY e.token_id, e.subject_id, e.block_height DESC, e.log_index DESC
"""


def source_name(issuer: str, chain: str) -> str:
    return f"{issuer} freeze events ({chain})"


async def refresh_freeze_labels(
    conn: asyncpg.Connection, chain: str, subjects: Collection[str], issuers: Mapping[str, str]
) -> None:
    """Recompute the freeze labels of ``subjects`` (addresses) from the stored token events."""
    rows = await conn.fetch(
        "SELECT id FROM addresses WHERE chain = $1 AND address = ANY($2::text[])", chain, list(subjects)
    )
    subject_ids = [row["id"] for row in rows]
    sources = {issuer: await _source_id(conn, chain, issuer) for issuer in set(issuers.values())}
    await conn.execute(
        "DELETE FROM labels WHERE source_id = ANY($1::bigint[]) AND address_id = ANY($2::bigint[])",
        list(sources.values()),
        subject_ids,
    )
    events = await conn.fetch(_LATEST_EVENTS, chain, subject_ids, list(issuers))
    records = [
        _label(row, issuers[row["token"]], sources[issuers[row["token"]]])
        for row in events
        if row["kind"] != "unfreeze"
    ]
    if records:
        await conn.executemany(
            """INSERT INTO labels (source_id, address_id, label, category, categories, reference, attributes)
               VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)""",
            records,
        )
    for source_id in sources.values():
        await conn.execute(
            "UPDATE label_sources SET entries = (SELECT count(*) FROM labels WHERE source_id = $1),"
            " imported_at = now() WHERE id = $1",
            source_id,
        )


def _label(row: asyncpg.Record, issuer: str, source_id: int) -> tuple[object, ...]:
    symbol = row["symbol"] or "token"
    what = "funds destroyed" if row["kind"] == "destroy" else "frozen"
    attributes = {
        "token": row["token"],
        "event": row["kind"],
        "block_height": row["block_height"],
        "tx_hash": "0x" + row["tx"],
        "time": row["time"].isoformat(),
    }
    if row["amount"] is not None:
        attributes["amount"] = str(row["amount"])
    category = Category.BLACKLISTED.value
    text = f"{symbol} {what} by {issuer}"
    return (
        source_id,
        row["subject_id"],
        text,
        category,
        [category],
        "0x" + row["tx"],
        json.dumps(attributes),
    )


async def _source_id(conn: asyncpg.Connection, chain: str, issuer: str) -> int:
    coverage_cache.invalidate()  # screenings report label sources
    value = await conn.fetchval(
        """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
           VALUES ($1, $1, $2, $3, '', 0, 0)
           ON CONFLICT (tenant, name) DO UPDATE SET origin = EXCLUDED.origin
           RETURNING id""",
        source_name(issuer, chain),
        SOURCE_FORMAT,
        f"{chain} token events",
    )
    return int(value)


async def freeze_subjects_from(conn: asyncpg.Connection, chain: str, height: int) -> set[str]:
    """Addresses with freeze events at ``height`` or above: their labels change when those blocks go."""
    rows = await conn.fetch(
        """SELECT DISTINCT a.address FROM token_events e JOIN addresses a ON a.id = e.subject_id
           WHERE e.chain = $1 AND e.block_height >= $2 AND e.kind IN ('freeze', 'unfreeze', 'destroy')""",
        chain,
        height,
    )
    return {row["address"] for row in rows}


async def freeze_subjects_at(conn: asyncpg.Connection, chain: str, heights: Collection[int]) -> set[str]:
    """Addresses with freeze events in the blocks at ``heights`` (about to be replaced)."""
    rows = await conn.fetch(
        """SELECT DISTINCT a.address FROM token_events e JOIN addresses a ON a.id = e.subject_id
           WHERE e.chain = $1 AND e.block_height = ANY($2::integer[])
             AND e.kind IN ('freeze', 'unfreeze', 'destroy')""",
        chain,
        list(heights),
    )
    return {row["address"] for row in rows}
