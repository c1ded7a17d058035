"""A writer's token ids across batches (``tracer.store.tokens.TokenIds``): known tokens cost no query, and
an aborted batch leaves neither the token it registered nor its id in the cache."""

from __future__ import annotations

import asyncpg
import pytest

from tracer.store.tokens import TokenIds

CHAIN = "ethereum"
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"


async def test_known_tokens_ask_the_database_nothing(pool: asyncpg.Pool) -> None:
    cache = TokenIds(CHAIN)
    async with pool.acquire() as conn, conn.transaction():
        first = dict(await cache.ids(conn, [USDT]))
    cache.commit()
    stored = await pool.fetchval("SELECT id FROM tokens WHERE chain = $1 AND address = $2", CHAIN, USDT)
    assert first == {USDT: stored}
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        with pytest.raises(asyncpg.DivisionByZeroError):
            await conn.execute("SELECT 1 / 0")
        # any query in this aborted transaction would fail
        assert (await cache.ids(conn, [USDT]))[USDT] == stored
        await tx.rollback()


async def test_aborted_batch_leaves_no_token_and_no_cached_id(pool: asyncpg.Pool) -> None:
    cache = TokenIds(CHAIN)
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await cache.ids(conn, [USDT, USDC])
        await tx.rollback()
    cache.abort()
    assert await pool.fetchval("SELECT count(*) FROM tokens") == 0
    async with pool.acquire() as conn, conn.transaction():
        again = dict(await cache.ids(conn, [USDC]))
    rows = await pool.fetch("SELECT address, id FROM tokens")
    assert again == {r["address"]: r["id"] for r in rows}
