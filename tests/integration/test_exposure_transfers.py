"""Exposure on an account-model chain: flows come from ``transfers`` (tracer.store.flows.TransferFlows).

A hand-made Ethereum history, written as the EVM store writes it (blocks, tokens, transfers):

    h1  L -> A   1000 wei (native)           L: sanctioned
    h2  A -> B    400 wei (native)           B: 2 hops from L, carrying min(1000, 400) = 400
    h3  L -> B      5 USDT base units        B: 1 hop from L in the token
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from chains.addresses import normalize
from chains.model import Chain
from tracer.risk.screening import ScreeningOptions, screen_on
from tracer.store.exposure_refresh import refresh_exposure


def eth(n: int) -> str:
    return normalize(Chain.ETHEREUM, f"0x{n:040x}")


L, A, B = eth(0xA11CE), eth(0xB0B), eth(0xCAFE)
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"  # Tether's contract on Ethereum mainnet


async def write_history(conn: asyncpg.Connection) -> None:
    ids = {}
    for address in (L, A, B):
        ids[address] = await conn.fetchval(
            "INSERT INTO addresses (chain, address) VALUES ('ethereum', $1) RETURNING id", address
        )
    token = await conn.fetchval(
        """INSERT INTO tokens (chain, address, symbol, decimals)
           VALUES ('ethereum', $1, 'USDT', 6) RETURNING id""",
        USDT,
    )
    for height, (src, dst, asset, amount) in enumerate(
        [(L, A, None, 1000), (A, B, None, 400), (L, B, token, 5)], start=1
    ):
        await conn.execute(
            """INSERT INTO blocks (chain, height, hash, prev_hash, time, tx_count, source)
               VALUES ('ethereum', $1, $2, $3, $4, 1, 'test')""",
            height,
            bytes([height]) * 32,
            bytes([height - 1]) * 32,
            datetime(2024, 1, 1, tzinfo=UTC),
        )
        await conn.execute(
            """INSERT INTO transfers (chain, block_height, tx_hash, index, kind, asset_id, from_id, to_id,
                                      amount)
               VALUES ('ethereum', $1, $2, $3, $4, $5, $6, $7, $8)""",
            height,
            bytes([0xF0 + height]) * 32,
            -1 if asset is None else 0,
            "native" if asset is None else "token",
            asset,
            ids[src],
            ids[dst],
            amount,
        )
    source = await conn.fetchval(
        """INSERT INTO label_sources (name, title, format, origin, sha256, entries, skipped)
           VALUES ('test', 'test list', 'test', 'tests', '', 1, 0) RETURNING id"""
    )
    await conn.execute(
        """INSERT INTO labels (source_id, address_id, label, category, categories)
           VALUES ($1, $2, 'sanctioned test address', 'sanctioned', ARRAY['sanctioned'])""",
        source,
        ids[L],
    )


async def test_transfers_give_direct_and_indirect_exposure_per_asset(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await write_history(conn)
    report = await refresh_exposure(pool, "ethereum")
    assert report.flows == 3
    async with pool.acquire() as conn:
        result = await screen_on(conn, Chain.ETHEREUM, B, ScreeningOptions())
    by_asset = {e["asset"]: e for e in result["exposure"]}  # type: ignore[attr-defined]
    native, usdt = by_asset["native"], by_asset[USDT]
    assert (native["hops"], native["amount"], native["unit"], native["direction"]) == (
        2,
        400,
        "wei",
        "incoming",
    )
    assert [p["address"] for p in native["path"]] == [L, A, B]
    assert native["path_txids"] == ["0x" + "f1" * 32, "0x" + "f2" * 32]
    assert (usdt["hops"], usdt["amount"], usdt["unit"], usdt["share"]) == (1, 5, "USDT base units", 1.0)
    # One actor (the listed address), its strongest finding: direct, in USDT.
    [reason] = result["risk"]["reasons"]  # type: ignore[index]
    assert (reason["hops"], reason["score"], reason["asset"]) == (1, 60, USDT)
    activity = result["activity"]
    assert isinstance(activity, dict)
    assert (activity["received"], activity["sent"], activity["tx_count"]) == (400, 0, 2)  # native wei only
