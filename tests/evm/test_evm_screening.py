"""Screening Ethereum addresses indexed from anvil: activity per asset, labels, counterparties through token
transfers named by the token contract and symbol, risk and reasons — in the CLI, POST /v1/screen and
GET /v1/addresses/{chain}/{address}."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from chains.evm.address import from_hex
from chains.model import Chain
from evm.evm_scenario import ETHER, TOKEN_UNIT, asset_rows, run_scenario
from tracer.api.server import start_server
from tracer.config import Settings
from tracer.devnode.evm_anvil import Anvil
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.evm_index import EvmJob, index_evm
from tracer.risk.screening import screen
from tracer.store.keys import Role, create_key


async def test_screen_ethereum_address_cli_and_api(
    anvil: Anvil, anvil_url: str, pool: asyncpg.Pool, settings: Settings, tmp_path: Path
) -> None:
    s = await run_scenario(anvil)
    issuers = {from_hex(s.token): "tracer-test-issuer"}  # bob gets frozen: a BLACKLISTED label
    # No manual exposure refresh: the index job refreshes it when it wrote freeze labels (AddedBlackList).
    await index_evm(pool, EvmJob(anvil_url, Chain.ETHEREUM, RunOptions(batch_blocks=8), issuers=issuers))
    alice = from_hex(s.alice)
    result: dict[str, Any] = await screen(pool, "ethereum", s.alice.lower())  # any case matches
    assert result["address"] == alice and result["known"] is True
    activity = result["activity"]
    # alice: 1 ether in; tokens: 500 in from the owner, 150 out (bob's transferFrom), 40 to a deposit address
    assert (activity["received"], activity["sent"], activity["tx_count"]) == (ETHER, 0, 4)
    assets = asset_rows(activity)
    assert assets == {
        "native": ("ETH", 18, ETHER, 0, 1, 0),
        from_hex(s.token): ("TUSD", 6, 500 * TOKEN_UNIT, 190 * TOKEN_UNIT, 1, 2),
    }
    (party,) = result["counterparties"]  # only bob carries a label (frozen by the issuer)
    assert party["address"] == from_hex(s.bob) and party["direction"] == "sent_to"
    assert (party["asset"], party["amount"], party["unit"]) == (
        from_hex(s.token),
        150 * TOKEN_UNIT,
        "TUSD base units",
    )
    assert (party["symbol"], party["decimals"]) == ("TUSD", 6)  # read from the token with eth_call
    assert party["category"] == "blacklisted"
    (exposure,) = result["exposure"]
    assert (exposure["symbol"], exposure["decimals"], exposure["amount"]) == ("TUSD", 6, 150 * TOKEN_UNIT)
    assert exposure["share"] == round(150 / 190, 6)  # of alice's outgoing TUSD
    risk = result["risk"]
    assert risk["level"] != "none"
    assert "150,000,000 TUSD base units" in risk["reasons"][0]["explanation"]
    assert (risk["reasons"][0]["symbol"], risk["reasons"][0]["decimals"]) == ("TUSD", 6)

    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"TRACER_DATABASE_URL": str(settings.database_url), "TRACER_HOME": str(tmp_path)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracer.cli", "screen", "ethereum", alice, "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    assert cli["counterparties"] == result["counterparties"] and cli["risk"] == result["risk"]

    _, secret = await create_key(pool, Role.ANALYST, "public", None)
    runner, url = await start_server(Settings(database_url=settings.database_url, port=0))
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as http:
            async with http.post(f"{url}/v1/screen", json={"chain": "ethereum", "address": alice}) as resp:
                assert resp.status == 200
                posted = await resp.json()
            async with http.get(f"{url}/v1/addresses/ethereum/{from_hex(s.bob)}") as resp:
                assert resp.status == 200
                bob = await resp.json()
            async with http.get(f"{url}/v1/addresses/tron/0xnot-an-address") as resp:
                assert resp.status == 400
    finally:
        await runner.cleanup()
    assert posted["counterparties"] == result["counterparties"]
    assert bob["labels"][0]["label"] == "TUSD frozen by tracer-test-issuer"
    assert bob["risk"]["level"] != "none"  # the freeze label reached screening with no manual step
