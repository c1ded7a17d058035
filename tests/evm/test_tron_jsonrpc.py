"""TRON through its Ethereum-compatible JSON-RPC: the same scenario on anvil started with TRON mainnet's
chain id (728126428): addresses stored as base58check T..., a USDT-style token's freeze becomes a label,
and ``tracer screen tron`` answers naming the token by contract and symbol."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from chains.evm import params
from chains.evm.parse import strip0x
from chains.model import Chain
from chains.tron.address import from_hex
from evm.evm_scenario import TOKEN_UNIT, run_scenario
from tracer.devnode.evm_anvil import Anvil, run_anvil
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.evm_index import EvmJob, index_evm
from tracer.risk.screening import screen
from tracer.store.exposure_refresh import refresh_exposure


@pytest.fixture
async def tron_url() -> AsyncIterator[str]:
    async with run_anvil(chain_id=params.TRON_CHAIN_ID) as url:
        yield url


async def test_index_and_screen_tron(tron_url: str, pool: asyncpg.Pool) -> None:
    async with Anvil.connect(tron_url) as chain:
        s = await run_scenario(chain)
    token = from_hex(s.token)
    assert token.startswith("T")
    issuers = {token: "tracer-test-issuer"}
    report = await index_evm(pool, EvmJob(tron_url, Chain.TRON, RunOptions(batch_blocks=5), issuers=issuers))
    # The scenario's 10 value moves less its two plain sends (owner -> alice, and to the forwarder with no
    # call data): TRON's JSON-RPC cannot tell a plain TRX send from a TRC-10 transfer or a vote, so their
    # value stays unknown (chains.evm.parse._value); the forwarder's internal call still shows in traces.
    assert report.rows["transfers"] == 8
    unknown = await pool.fetch(
        "SELECT encode(hash, 'hex') AS hash FROM account_txs WHERE chain = 'tron' AND value IS NULL"
    )
    assert {r["hash"] for r in unknown} >= {strip0x(s.txs["native"]), strip0x(s.txs["forward"])}
    stored = {r["address"] for r in await pool.fetch("SELECT address FROM addresses WHERE chain = 'tron'")}
    assert from_hex(s.alice) in stored and all(a.startswith("T") for a in stored)
    symbol = await pool.fetchval("SELECT symbol FROM tokens WHERE chain = 'tron' AND address = $1", token)
    assert symbol == "TUSD"
    await refresh_exposure(pool)
    result: dict[str, Any] = await screen(pool, "tron", from_hex(s.alice))
    (party,) = result["counterparties"]
    assert (party["address"], party["amount"], party["unit"]) == (
        from_hex(s.bob),
        150 * TOKEN_UNIT,
        "TUSD base units",
    )
    assert party["category"] == "blacklisted" and party["asset"] == token
