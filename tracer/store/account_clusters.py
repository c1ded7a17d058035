"""What the account-chain heuristics read (transfers, approvals, senders, exchange wallets, contracts) and
the deposit customers they remember between runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from chains.model import Chain, TokenEvent, TokenEventKind, Transfer, TransferKind


@dataclass(frozen=True, slots=True)
class AccountWindow:
    """Everything stored for blocks [low, high] of one chain, as chains.model records."""

    transfers: list[Transfer]
    approvals: list[tuple[int, TokenEvent]]
    positions: dict[str, int]  # tx hash -> position in its block
    senders: dict[str, str]  # tx hash -> the account that sent it
    ids: dict[str, int]  # address -> addresses.id, for every address above


_TRANSFERS = """
SELECT t.block_height, '0x' || encode(t.tx_hash, 'hex') AS tx_hash, t.index, t.kind, k.address AS asset,
       f.address AS sender, r.address AS receiver, t.amount, t.from_id, t.to_id
FROM transfers t JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id
LEFT JOIN tokens k ON k.id = t.asset_id
WHERE t.chain = $1 AND t.block_height BETWEEN $2 AND $3
ORDER BY t.block_height, t.tx_hash, t.index
"""
_TXS = """
SELECT '0x' || encode(x.hash, 'hex') AS hash, x.position, a.address AS sender, x.from_id
FROM account_txs x JOIN addresses a ON a.id = x.from_id
WHERE x.chain = $1 AND x.block_height BETWEEN $2 AND $3
"""
_APPROVALS = """
SELECT e.block_height, '0x' || encode(e.tx_hash, 'hex') AS tx_hash, e.log_index, k.address AS token,
       s.address AS subject, p.address AS spender, e.amount, e.subject_id, e.spender_id
FROM token_events e JOIN tokens k ON k.id = e.token_id JOIN addresses s ON s.id = e.subject_id
JOIN addresses p ON p.id = e.spender_id
WHERE e.chain = $1 AND e.kind = 'approval' AND e.block_height BETWEEN $2 AND $3
ORDER BY e.block_height, e.log_index
"""


async def load_window(conn: asyncpg.Connection, chain: Chain, low: int, high: int) -> AccountWindow:
    ids: dict[str, int] = {}
    transfers = []
    for r in await conn.fetch(_TRANSFERS, chain.value, low, high):
        ids[r["sender"]], ids[r["receiver"]] = r["from_id"], r["to_id"]
        kind = TransferKind(r["kind"])
        where = (r["block_height"], r["tx_hash"], r["index"])
        transfers.append(
            Transfer(chain, *where, kind, r["asset"], r["sender"], r["receiver"], int(r["amount"]))
        )
    positions, senders = {}, {}
    for r in await conn.fetch(_TXS, chain.value, low, high):
        positions[r["hash"]], senders[r["hash"]] = r["position"], r["sender"]
        ids[r["sender"]] = r["from_id"]
    approvals = []
    for r in await conn.fetch(_APPROVALS, chain.value, low, high):
        ids[r["subject"]], ids[r["spender"]] = r["subject_id"], r["spender_id"]
        amount = None if r["amount"] is None else int(r["amount"])
        event = TokenEvent(
            r["tx_hash"],
            r["log_index"],
            TokenEventKind.APPROVAL,
            r["token"],
            r["subject"],
            r["spender"],
            amount,
        )
        approvals.append((r["block_height"], event))
    return AccountWindow(transfers, approvals, positions, senders, ids)


async def exchange_wallets(conn: asyncpg.Connection, chain: Chain) -> frozenset[str]:
    """Addresses labelled as exchanges (category exchange) on ``chain``."""
    rows = await conn.fetch(
        """SELECT DISTINCT a.address FROM labels l JOIN addresses a ON a.id = l.address_id
           WHERE a.chain = $1 AND l.category = 'exchange'""",
        chain.value,
    )
    return frozenset(r[0] for r in rows)


async def contracts(conn: asyncpg.Connection, chain: Chain) -> frozenset[str]:
    """Addresses known to be contracts: created by a stored transaction, or a token."""
    rows = await conn.fetch(
        """SELECT a.address FROM account_txs x JOIN addresses a ON a.id = x.created_id
           WHERE x.chain = $1 AND x.created_id IS NOT NULL
           UNION SELECT address FROM tokens WHERE chain = $1""",
        chain.value,
    )
    return frozenset(r[0] for r in rows)


async def deposit_customers(conn: asyncpg.Connection, chain: Chain) -> dict[str, str]:
    rows = await conn.fetch(
        """SELECT d.address AS deposit, c.address AS customer FROM deposit_customers x
           JOIN addresses d ON d.id = x.deposit_id JOIN addresses c ON c.id = x.customer_id
           WHERE x.chain = $1""",
        chain.value,
    )
    return {r["deposit"]: r["customer"] for r in rows}


async def remember_customers(
    conn: asyncpg.Connection, chain: Chain, customers: Mapping[str, str], ids: Mapping[str, int]
) -> None:
    if customers:
        await conn.executemany(
            """INSERT INTO deposit_customers (chain, deposit_id, customer_id) VALUES ($1, $2, $3)
               ON CONFLICT (chain, deposit_id) DO NOTHING""",
            [(chain.value, ids[d], ids[c]) for d, c in customers.items()],
        )
