"""Where value moved between wallets, read from whichever table a chain's model stores.

One interface, one implementation per storage model, so exposure does not care which chain it runs on:
- ``UtxoFlows`` (Bitcoin): a transaction's input wallets pay its output wallets (tx_inputs / tx_outputs);
- ``TransferFlows`` (EVM, TRON): a ``transfers`` row moves an amount of an asset from one account to another.

Each writes, for one chain, the rows of ``wallet_flows`` (wallet -> wallet, summed) and ``address_stats``
(what screening reports as an address's activity); ``TransferFlows`` also ``address_assets`` (that
activity per asset). A wallet is a cluster id, or the address id of an
unclustered address. Unknown values are counted as unknown, never summed as 0.

Both are sums over transactions, so they are written in one of three scopes (``Scope``):
- everything (a full rebuild, into emptied tables);
- the transactions of blocks above a height, *added* to the stored rows (new blocks), leaving out pairs
  that touch a regrouped wallet;
- every transaction of the wallets in the temp table ``exposure_regrouped`` (whose members changed with a
  clustering run), for the pairs that touch one of them, after those pairs were deleted.
The wallets of every pair added to land in the temp table ``exposure_touched`` (new blocks); the caller of
the regrouped scope compares what it wrote with what it deleted (most pairs come back unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg

# Transactions kept per flow as evidence ("which transactions carry it"); the count is kept in full.
FLOW_EVIDENCE_TXS = 5


@dataclass(frozen=True, slots=True)
class Scope:
    """Which transactions a write covers: ``after_height`` (-1: all) and whether only those of the
    regrouped wallets (``regrouped``), and whether the rows are added to stored ones (``add``)."""

    after_height: int = -1
    regrouped: bool = False
    add: bool = False

    @property
    def incremental(self) -> bool:
        return self.add or self.regrouped


FULL = Scope()

_WALLET = "COALESCE((SELECT ac.cluster_id FROM address_clusters ac WHERE ac.address_id = {col}), {col})"
# The current members of the regrouped wallets (a singleton wallet's id is its only address).
_REGROUPED_MEMBERS = """
    SELECT ac.address_id FROM address_clusters ac JOIN exposure_regrouped r ON r.wallet = ac.cluster_id
    UNION
    SELECT r.wallet FROM exposure_regrouped r
    WHERE NOT EXISTS (SELECT 1 FROM address_clusters ac WHERE ac.address_id = r.wallet)"""
# Pairs a scope writes: the regrouped scope those touching a regrouped wallet; the others the rest.
_TOUCHES_REGROUPED = "EXISTS (SELECT 1 FROM exposure_regrouped r WHERE r.wallet IN ({src}, {dst}))"
_ADD_FLOWS = f"""
ON CONFLICT (chain, src, dst, asset_id) DO UPDATE SET
    amount = wallet_flows.amount + EXCLUDED.amount,
    unknown_txs = wallet_flows.unknown_txs + EXCLUDED.unknown_txs,
    tx_count = wallet_flows.tx_count + EXCLUDED.tx_count,
    txids = (wallet_flows.txids || EXCLUDED.txids)[1:{FLOW_EVIDENCE_TXS}],
    first_height = least(wallet_flows.first_height, EXCLUDED.first_height),
    last_height = greatest(wallet_flows.last_height, EXCLUDED.last_height)
"""
_ADD_STATS = """
ON CONFLICT (address_id) DO UPDATE SET
    tx_count = address_stats.tx_count + EXCLUDED.tx_count,
    received = address_stats.received + EXCLUDED.received,
    sent = address_stats.sent + EXCLUDED.sent,
    spends = address_stats.spends + EXCLUDED.spends,
    spends_value_unknown = address_stats.spends_value_unknown + EXCLUDED.spends_value_unknown,
    first_height = least(address_stats.first_height, EXCLUDED.first_height),
    last_height = greatest(address_stats.last_height, EXCLUDED.last_height)
"""


def _pair_filter(scope: Scope, src: str, dst: str) -> str:
    if scope.regrouped:
        return "AND " + _TOUCHES_REGROUPED.format(src=src, dst=dst)
    if scope.add:
        return "AND NOT " + _TOUCHES_REGROUPED.format(src=src, dst=dst)
    return ""


def _insert_flows(scope: Scope, select: str) -> str:
    """The INSERT of ``select``'s flows; with ``add``, added to stored rows (a stored transaction's later
    txids never come before the stored ones), noting the touched wallets."""
    insert = f"""INSERT INTO wallet_flows (chain, src, dst, asset_id, amount, unknown_txs, tx_count, txids,
                          first_height, last_height)
{select}"""
    if not scope.add:
        return insert
    return f"""WITH written AS ({insert}{_ADD_FLOWS} RETURNING src, dst)
INSERT INTO exposure_touched SELECT src FROM written UNION SELECT dst FROM written
ON CONFLICT DO NOTHING"""


# With one input wallet, a transaction's outputs to another wallet are that wallet's payment, in full.
# With several (CoinJoins, payjoins), each input wallet is credited its share of the inputs, which needs
# every input value; if one is missing the share is unknown (NULL), counted in unknown_txs.
def _utxo_flows(scope: Scope) -> str:
    txs = "SELECT id, txid, block_height FROM transactions WHERE chain = $1 AND NOT is_coinbase"
    if scope.regrouped:
        txs = f"""SELECT t.id, t.txid, t.block_height FROM transactions t WHERE t.id IN (
            SELECT o.tx_id FROM tx_outputs o WHERE o.address_id IN ({_REGROUPED_MEMBERS})
            UNION SELECT i.tx_id FROM tx_inputs i WHERE i.address_id IN ({_REGROUPED_MEMBERS}))
          AND t.chain = $1 AND NOT t.is_coinbase"""
    elif scope.after_height >= 0:
        txs += " AND block_height > $2"
    select = f"""WITH txs AS MATERIALIZED ({txs}),
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
    WHERE s.w IS NOT NULL AND s.w <> d.w {_pair_filter(scope, "s.w", "d.w")})
SELECT $1, e.src, e.dst, 0, COALESCE(sum(e.amount), 0), count(*) FILTER (WHERE e.amount IS NULL), count(*),
       (array_agg(t.txid ORDER BY t.block_height, t.id))[1:{FLOW_EVIDENCE_TXS}],
       min(t.block_height), max(t.block_height)
FROM edges e JOIN txs t ON t.id = e.tx_id
GROUP BY e.src, e.dst"""
    return _insert_flows(scope, select)


def _utxo_stats(scope: Scope) -> str:
    since = "AND t.block_height > $2" if scope.after_height >= 0 else ""
    return f"""
INSERT INTO address_stats (address_id, chain, tx_count, received, sent, spends, spends_value_unknown,
                           first_height, last_height)
WITH o AS (
    SELECT o.address_id, o.tx_id, o.value FROM tx_outputs o JOIN transactions t ON t.id = o.tx_id
    WHERE t.chain = $1 AND o.address_id IS NOT NULL {since}),
i AS (
    SELECT i.address_id, i.tx_id, i.value FROM tx_inputs i JOIN transactions t ON t.id = i.tx_id
    WHERE t.chain = $1 AND i.address_id IS NOT NULL {since}),
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
{_ADD_STATS if scope.add else ""}"""


# Account model: every transfer is a payment from one wallet to another, its amount always known.
# The schema is the one the EVM/TRON store writes (chain, block_height, tx_hash, from_id, to_id,
# asset_id NULL = native coin, amount numeric(78,0)).
def _transfer_flows(scope: Scope) -> str:
    where = "x.chain = $1"
    if scope.regrouped:
        where += f""" AND (x.from_id IN ({_REGROUPED_MEMBERS}) OR x.to_id IN ({_REGROUPED_MEMBERS}))"""
    elif scope.after_height >= 0:
        where += " AND x.block_height > $2"
    select = f"""SELECT $1, s.w, d.w, COALESCE(x.asset_id, 0), sum(x.amount), 0, count(DISTINCT x.tx_hash),
       (array_agg(x.tx_hash ORDER BY x.block_height))[1:{FLOW_EVIDENCE_TXS}],
       min(x.block_height), max(x.block_height)
FROM transfers x
CROSS JOIN LATERAL (SELECT {_WALLET.format(col="x.from_id")} AS w) s
CROSS JOIN LATERAL (SELECT {_WALLET.format(col="x.to_id")} AS w) d
WHERE {where} AND s.w <> d.w {_pair_filter(scope, "s.w", "d.w")}
GROUP BY s.w, d.w, COALESCE(x.asset_id, 0)"""
    return _insert_flows(scope, select)


def _transfer_stats(scope: Scope) -> str:
    since = "AND block_height > $2" if scope.after_height >= 0 else ""
    return f"""
INSERT INTO address_stats (address_id, chain, tx_count, received, sent, spends, spends_value_unknown,
                           first_height, last_height)
WITH x AS (
    SELECT from_id, to_id, tx_hash, block_height,
           CASE WHEN asset_id IS NULL THEN amount ELSE 0 END AS native  -- activity counts the native coin
    FROM transfers WHERE chain = $1 {since}),
sides AS (
    SELECT from_id AS address_id, tx_hash, block_height, 0::numeric AS received, native AS sent, 1 AS spend
    FROM x
    UNION ALL
    SELECT to_id, tx_hash, block_height, native, 0, 0 FROM x)
SELECT address_id, $1, count(DISTINCT tx_hash), sum(received), sum(sent), sum(spend), 0,
       min(block_height), max(block_height)
FROM sides GROUP BY address_id
{_ADD_STATS if scope.add else ""}"""


_ADD_ASSETS = """
ON CONFLICT (address_id, asset_id) DO UPDATE SET
    received = address_assets.received + EXCLUDED.received,
    sent = address_assets.sent + EXCLUDED.sent,
    transfers_in = address_assets.transfers_in + EXCLUDED.transfers_in,
    transfers_out = address_assets.transfers_out + EXCLUDED.transfers_out
"""


def _transfer_assets(scope: Scope) -> str:
    """Each address's activity per asset (0: the native coin): what screening lists beside the totals."""
    since = "AND block_height > $2" if scope.after_height >= 0 else ""
    return f"""
INSERT INTO address_assets (address_id, chain, asset_id, received, sent, transfers_in, transfers_out)
WITH x AS (
    SELECT from_id, to_id, COALESCE(asset_id, 0) AS asset_id, amount FROM transfers WHERE chain = $1 {since}),
sides AS (
    SELECT from_id AS address_id, asset_id, 0::numeric AS received, amount AS sent, 0 AS n_in, 1 AS n_out
    FROM x
    UNION ALL
    SELECT to_id, asset_id, amount, 0, 1, 0 FROM x)
SELECT address_id, $1, asset_id, sum(received), sum(sent), sum(n_in), sum(n_out)
FROM sides GROUP BY address_id, asset_id
{_ADD_ASSETS if scope.add else ""}"""


def _args(scope: Scope, chain: str) -> tuple[object, ...]:
    return (chain, scope.after_height) if scope.after_height >= 0 and not scope.regrouped else (chain,)


class FlowSource(Protocol):
    """One storage model's way of turning stored movements into wallet flows and address activity."""

    name: str

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool: ...

    async def write(self, conn: asyncpg.Connection, chain: str, scope: Scope = FULL) -> None: ...


class UtxoFlows:
    name = "utxo"

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool:
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM transactions WHERE chain = $1)", chain))

    async def write(self, conn: asyncpg.Connection, chain: str, scope: Scope = FULL) -> None:
        await conn.execute(_utxo_flows(scope), *_args(scope, chain))
        if not scope.regrouped:  # an address's activity does not depend on its wallet
            await conn.execute(_utxo_stats(scope), *_args(scope, chain))


class TransferFlows:
    name = "transfers"

    async def applies(self, conn: asyncpg.Connection, chain: str) -> bool:
        if not await conn.fetchval("SELECT to_regclass('transfers') IS NOT NULL"):
            return False  # the account-model store has not been migrated in yet
        return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM transfers WHERE chain = $1)", chain))

    async def write(self, conn: asyncpg.Connection, chain: str, scope: Scope = FULL) -> None:
        await conn.execute(_transfer_flows(scope), *_args(scope, chain))
        if not scope.regrouped:
            await conn.execute(_transfer_stats(scope), *_args(scope, chain))
            await conn.execute(_transfer_assets(scope), *_args(scope, chain))


FLOW_SOURCES: tuple[FlowSource, ...] = (UtxoFlows(), TransferFlows())


async def chains_with_data(conn: asyncpg.Connection) -> list[str]:
    return [r["chain"] for r in await conn.fetch("SELECT DISTINCT chain FROM addresses ORDER BY chain")]
