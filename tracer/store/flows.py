"""Where value moved between wallets, read from whichever table a chain's model stores.

One interface, one implementation per storage model, so exposure does not care which chain it runs on:
- ``UtxoFlows`` (Bitcoin): a transaction's input wallets pay its output wallets (tx_inputs / tx_outputs);
- ``TransferFlows`` (EVM, TRON): a ``transfers`` row moves an amount of an asset from one account to another.

Each writes, for one chain, the rows of ``wallet_flows`` (wallet -> wallet, summed) and ``address_stats``
(what screening reports as an address's activity). A wallet is a cluster id, or the address id of an
unclustered address. Unknown values are counted as unknown, never summed as 0.
"""

from __future__ import annotations

from typing import Protocol

import asyncpg

# Transactions kept per flow as evidence ("which transactions carry it"); the count is kept in full.
FLOW_EVIDENCE_TXS = 5

_WALLET = "COALESCE((SELECT ac.cluster_id FROM address_clusters ac WHERE ac.address_id = {col}), {col})"

# With one input wallet, a transaction's outputs to another wallet are that wallet's payment, in full.
# With several (CoinJoins, payjoins), each input wallet is credited its share of the inputs, which needs
# every input value; if one is missing the share is unknown (NULL), counted in unknown_txs.
_UTXO_FLOWS = f"""
INSERT INTO wallet_flows (chain, src, dst, asset_id, amount, unknown_txs, tx_count, txids,
                          first_height, last_height)
WITH txs AS MATERIALIZED (
    SELECT id, txid, block_height FROM transactions WHERE chain = $1 AND NOT is_coinbase),
ins AS MATERIALIZED (
    SELECT i.tx_id, COALESCE(ac.cluster_id, i.address_id) AS w, sum(i.value) AS v,
           bool_or(i.value IS NULL) AS unknown
    FROM tx_inputs i JOIN txs t ON t.id = i.tx_id
    LEFT JOIN address_clusters ac ON ac.address_id = i.address_id
    GROUP BY 1, 2),
tx_in AS (
    SELECT tx_id, count(*) AS parties, sum(v) AS total, bool_or(unknown) AS unknown FROM ins GROUP BY tx_id),
outs AS (
    SELECT o.tx_id, COALESCE(ac.cluster_id, o.address_id) AS w, sum(o.value) AS v
    FROM tx_outputs o JOIN txs t ON t.id = o.tx_id
    LEFT JOIN address_clusters ac ON ac.address_id = o.address_id
    WHERE o.address_id IS NOT NULL
    GROUP BY 1, 2),
edges AS (
    SELECT s.tx_id, s.w AS src, d.w AS dst,
           CASE WHEN x.parties = 1 THEN d.v
                WHEN NOT x.unknown AND x.total > 0 THEN div(d.v * s.v, x.total) END AS amount
    FROM ins s JOIN tx_in x USING (tx_id) JOIN outs d USING (tx_id)
    WHERE s.w IS NOT NULL AND s.w <> d.w)
SELECT $1, e.src, e.dst, 0, COALESCE(sum(e.amount), 0), count(*) FILTER (WHERE e.amount IS NULL), count(*),
       (array_agg(t.txid ORDER BY t.block_height, t.id))[1:{FLOW_EVIDENCE_TXS}],
       min(t.block_height), max(t.block_height)
FROM edges e JOIN txs t ON t.id = e.tx_id
GROUP BY e.src, e.dst
"""
_UTXO_STATS = """
INSERT INTO address_stats (address_id, chain, tx_count, received, sent, spends, spends_value_unknown,
                           first_height, last_height)
WITH o AS (
    SELECT o.address_id, o.tx_id, o.value FROM tx_outputs o JOIN transactions t ON t.id = o.tx_id
    WHERE t.chain = $1 AND o.address_id IS NOT NULL),
i AS (
    SELECT i.address_id, i.tx_id, i.value FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
    WHERE t.chain = $1 AND i.address_id IS NOT NULL),
touched AS (
    SELECT x.address_id, count(*) AS tx_count, min(t.block_height) AS first_height,
           max(t.block_height) AS last_height
    FROM (SELECT address_id, tx_id FROM o UNION SELECT address_id, tx_id FROM i) x
    JOIN transactions t ON t.id = x.tx_id GROUP BY x.address_id),
recv AS (SELECT address_id, sum(value) AS received FROM o GROUP BY address_id),
spent AS (
    SELECT address_id, COALESCE(sum(value), 0) AS sent, count(*) AS spends,
           count(*) FILTER (WHERE value IS NULL) AS unknown
    FROM i GROUP BY address_id)
SELECT t.address_id, $1, t.tx_count, COALESCE(r.received, 0), COALESCE(s.sent, 0), COALESCE(s.spends, 0),
       COALESCE(s.unknown, 0), t.first_height, t.last_height
FROM touched t LEFT JOIN recv r USING (address_id) LEFT JOIN spent s USING (address_id)
"""

# Account model: every transfer is a payment from one wallet to another, its amount always known.
# The schema is the one the EVM/TRON store writes (chain, block_height, tx_hash, from_id, to_id,
# asset_id NULL = native coin, amount numeric(78,0)).
_TRANSFER_FLOWS = f"""
INSERT INTO wallet_flows (chain, src, dst, asset_id, amount, unknown_txs, tx_count, txids,
                          first_height, last_height)
SELECT $1, s.w, d.w, COALESCE(x.asset_id, 0), sum(x.amount), 0, count(DISTINCT x.tx_hash),
       (array_agg(x.tx_hash ORDER BY x.block_height))[1:{FLOW_EVIDENCE_TXS}],
       min(x.block_height), max(x.block_height)
FROM transfers x
CROSS JOIN LATERAL (SELECT {_WALLET.format(col="x.from_id")} AS w) s
CROSS JOIN LATERAL (SELECT {_WALLET.format(col="x.to_id")} AS w) d
WHERE x.chain = $1 AND s.w <> d.w
GROUP BY s.w, d.w, COALESCE(x.asset_id, 0)
"""
_TRANSFER_STATS = """
INSERT INTO address_stats (address_id, chain, tx_count, received, sent, spends, spends_value_unknown,
                           first_height, last_height)
WITH x AS (
    SELECT from_id, to_id, tx_hash, block_height,
           CASE WHEN asset_id IS NULL THEN amount ELSE 0 END AS native  -- activity counts the native coin
    FROM transfers WHERE chain = $1),
sides AS (
    SELECT from_id AS address_id, tx_hash, block_height, 0::numeric AS received, native AS sent, 1 AS spend
    FROM x
    UNION ALL
    SELECT to_id, tx_hash, block_height, native, 0, 0 FROM x)
SELECT address_id, $1, count(DISTINCT tx_hash), sum(received), sum(sent), sum(spend), 0,
       min(block_height), max(block_height)
FROM sides GROUP BY address_id
"""


class FlowSource(Protocol):
    """One storage model's way of turning stored movements into wallet flows and address activity."""

    name: str

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool: ...

    async def write(self, conn: asyncpg.Connection, chain: str) -> None: ...


class UtxoFlows:
    name = "utxo"

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM transactions WHERE chain = $1)", chain))

    async def write(self, conn: asyncpg.Connection, chain: str) -> None:
        await conn.execute(_UTXO_FLOWS, chain)
        await conn.execute(_UTXO_STATS, chain)


class TransferFlows:
    name = "transfers"

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool:
        if not await conn.fetchval("SELECT to_regclass('transfers') IS NOT NULL"):
            return False  # the account-model store has not been migrated in yet
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM transfers WHERE chain = $1)", chain))

    async def write(self, conn: asyncpg.Connection, chain: str) -> None:
        await conn.execute(_TRANSFER_FLOWS, chain)
        await conn.execute(_TRANSFER_STATS, chain)


FLOW_SOURCES: tuple[FlowSource, ...] = (UtxoFlows(), TransferFlows())


async def chains_with_data(conn: asyncpg.Connection) -> list[str]:
    return [r["chain"] for r in await conn.fetch("SELECT DISTINCT chain FROM addresses ORDER BY chain")]
