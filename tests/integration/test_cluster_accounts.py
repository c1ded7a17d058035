"""Account-chain clustering over the transfers table: deposit addresses (native and token sweeps) and
self-authorization merge customers, never the exchange or the deposit address; incremental equals batch.

Blocks are built from factory records and stored by i8's writer (tracer.store.transfers), as the EVM
indexer stores them; the exchange wallet is known from a label of category exchange.
"""

from __future__ import annotations

import dataclasses

import asyncpg

from chains.model import AccountBlock, AccountTx, Chain, TokenEvent, TokenEventKind, Transfer, TransferKind
from tracer.jobs.cluster import ClusterOptions, run_clustering
from tracer.store.transfers import write_account_blocks

EXCHANGE, DEPOSIT, TOKEN_DEPOSIT = "0x" + "e" * 40, "0x" + "d" * 40, "0x" + "c" * 40
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
ETH, GAS = 10**18, 21_000 * 30 * 10**9


def user(n: int) -> str:
    return f"0x{n:040x}"


def tx_hash(height: int, n: int) -> str:
    return f"0x{height:032x}{n:032x}"


def block(
    height: int, moves: list[tuple[str, str, int, str | None]], sender: str | None = None
) -> AccountBlock:
    """A block with one transaction per move (sent by the payer, or by ``sender``)."""
    txs, transfers = [], []
    for n, (src, dst, amount, asset) in enumerate(moves):
        h = tx_hash(height, n)
        txs.append(
            AccountTx(
                h, n, sender or src, dst if asset is None else asset, amount if asset is None else 0, True
            )
        )
        kind = TransferKind.NATIVE if asset is None else TransferKind.TOKEN
        transfers.append(
            Transfer(Chain.ETHEREUM, height, h, -1 if asset is None else n, kind, asset, src, dst, amount)
        )
    return AccountBlock(
        Chain.ETHEREUM,
        f"{height:064x}",
        height,
        f"{height - 1:064x}",
        1_700_000_000 + height,
        tuple(txs),
        tuple(transfers),
    )


def approval_block(height: int, owner: str, spender: str) -> AccountBlock:
    h = tx_hash(height, 0)
    event = TokenEvent(h, 0, TokenEventKind.APPROVAL, USDT, owner, spender, 10**9)
    txs = (AccountTx(h, 0, owner, USDT, 0, True),)
    return AccountBlock(
        Chain.ETHEREUM,
        f"{height:064x}",
        height,
        f"{height - 1:064x}",
        1_700_000_000 + height,
        txs,
        (),
        (event,),
    )


FIRST = [
    block(1, [(user(1), DEPOSIT, 1 * ETH, None)]),
    approval_block(2, user(6), user(7)),
    block(3, [(user(2), DEPOSIT, 2 * ETH, None)]),
    block(4, [(DEPOSIT, EXCHANGE, 3 * ETH - GAS, None)]),  # sweep: user 1 and user 2 are one customer
]
SECOND = [
    block(5, [(user(3), DEPOSIT, 1 * ETH, None), (user(4), TOKEN_DEPOSIT, 100, USDT)]),
    block(
        6, [(DEPOSIT, EXCHANGE, 1 * ETH - GAS, None), (user(5), TOKEN_DEPOSIT, 50, USDT)]
    ),  # user 3 joins 1
    block(7, [(TOKEN_DEPOSIT, EXCHANGE, 150, USDT)]),  # a token sweep: users 4 and 5
    block(8, [(user(6), user(8), 10**6, USDT)], sender=user(7)),  # user 7 spends what user 6 approved
]


async def label_exchange(pool: asyncpg.Pool) -> None:
    source = await pool.fetchval(
        """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
           VALUES ('test', 'test', 'test', 'test', '', 1, 0) RETURNING id"""
    )
    address_id = await pool.fetchval(
        "SELECT id FROM addresses WHERE chain = 'ethereum' AND address = $1", EXCHANGE
    )
    await pool.execute(
        """INSERT INTO labels (source_id, address_id, label, category, categories)
           VALUES ($1, $2, 'Some Exchange', 'exchange', ARRAY['exchange'])""",
        source,
        address_id,
    )


async def clusters_by_address(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch(
        """SELECT a.address, ac.cluster_id FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
           WHERE a.chain = 'ethereum'"""
    )
    return {r[0]: r[1] for r in rows}


async def store(pool: asyncpg.Pool, blocks: list[AccountBlock]) -> None:
    async with pool.acquire() as conn:
        await write_account_blocks(conn, blocks, source="test")


async def test_deposit_and_self_authorization_merge_customers_incrementally(pool: asyncpg.Pool) -> None:
    await store(pool, FIRST)
    await label_exchange(pool)
    first = await run_clustering(pool, "ethereum")
    assert (first.mode, first.heuristics) == ("full", ["deposit_address", "self_authorization"])
    assert first.not_run == {}
    await store(pool, SECOND)
    step = await run_clustering(pool, "ethereum")
    assert step.mode == "incremental"
    incremental = await clusters_by_address(pool)

    groups: dict[int, set[str]] = {}
    for address, cid in incremental.items():
        groups.setdefault(cid, set()).add(address)
    assert sorted(map(sorted, groups.values())) == sorted(
        [sorted({user(1), user(2), user(3)}), sorted({user(4), user(5)}), sorted({user(6), user(7)})]
    )
    assert EXCHANGE not in incremental and DEPOSIT not in incremental and TOKEN_DEPOSIT not in incremental

    await run_clustering(pool, "ethereum", ClusterOptions(full=True))
    assert await clusters_by_address(pool) == incremental  # batch = incremental
    assets = await pool.fetch(
        """SELECT a.asset, a.received, a.sent FROM cluster_assets a JOIN address_clusters ac
           ON ac.cluster_id = a.cluster_id JOIN addresses x ON x.id = ac.address_id
           WHERE x.address = $1 ORDER BY a.asset""",
        user(4),
    )
    assert [(r[0], int(r[1]), int(r[2])) for r in assets] == [(USDT, 0, 150)]  # users 4 and 5 paid 100 + 50


async def test_without_exchange_labels_the_deposit_heuristic_says_why(pool: asyncpg.Pool) -> None:
    await store(pool, FIRST)
    report = await run_clustering(pool, "ethereum")
    assert "exchange" in report.not_run["deposit_address"]
    assert report.merges == 0


async def test_a_reorg_replacing_blocks_undoes_their_merges(pool: asyncpg.Pool) -> None:
    await store(pool, FIRST + SECOND)
    await label_exchange(pool)
    await run_clustering(pool, "ethereum")
    assert user(4) in await clusters_by_address(pool)
    # the indexer rolls back to height 7 and stores other blocks there: no token sweep, no approved spend
    await pool.execute("DELETE FROM blocks WHERE chain = 'ethereum' AND height >= 7")
    other = [block(7, [(user(9), user(10), 5, None)]), block(8, [(user(10), user(9), 4, None)])]
    await store(pool, [dataclasses.replace(b, hash=f"{b.height + 1000:064x}") for b in other])
    repaired = await run_clustering(pool, "ethereum")
    assert repaired.mode == "full"
    clustered = await clusters_by_address(pool)
    assert user(4) not in clustered and user(6) not in clustered
    assert clustered[user(1)] == clustered[user(3)]  # merges of the blocks that stayed are kept
