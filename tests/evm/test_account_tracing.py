"""Taint tracing over Ethereum transfers indexed from anvil, each method's amounts worked out by hand.

The chain (one transaction a block; S, M, D, E are fresh addresses with no genesis balance; C is anvil's
second dev account, funded at genesis):

    tx1  funder -> S  10 ETH
    tx2  S      -> M   4 ETH      S keeps 6
    tx3  C      -> M   6 ETH      clean money; C's balance came from no transfer (genesis)
    tx4  M      -> D   5 ETH      M spends what it holds: tx2's 4 (tainted) and tx3's 6; keeps 5
    tx5  M      -> E   3 ETH      M keeps 2

Each outgoing transfer spends the sender's balance (tracer.store.account_trace_reads): tx4's inputs are
M's two incoming transfers, tx5's input is M's balance after tx4. Gas fees are not transfers and are not
counted (the amounts below are the transfers' values).
"""

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
import pytest

from chains.evm.address import from_hex
from chains.model import Chain
from evm.evm_scenario import transfer
from tracer.api.server import start_server
from tracer.config import Settings
from tracer.devnode.evm_anvil import Anvil
from tracer.errors import InputError, NotFound
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.evm_index import EvmJob, index_evm
from tracer.risk.taint import Direction, Method
from tracer.store.account_trace_reads import AccountTxs
from tracer.store.keys import Role, create_key
from tracer.tracing import Start, TraceParams, run_trace, start_coins
from tracer.tracing import trace as trace_from

ETH = 10**18
UNIT = 10**6
TOKEN_ARGS = (["string", "string", "uint8", "uint256"], ["Tracer USD", "TUSD", 6, 1_000_000 * UNIT])
S, M, D, E = (from_hex("0x" + c * 40) for c in "5ade")  # fresh: no genesis balance, no key


@pytest.fixture
async def chain(anvil: Anvil, anvil_url: str, pool: asyncpg.Pool) -> dict[str, str]:
    funder, clean = anvil.accounts[:2]
    for who in (S, M):
        await anvil.call("anvil_impersonateAccount", who)
    txs = {
        "tx1": await anvil.send(funder, S, value=10 * ETH),
        "tx2": await anvil.send(S, M, value=4 * ETH),
        "tx3": await anvil.send(clean, M, value=6 * ETH),
        "tx4": await anvil.send(M, D, value=5 * ETH),
        "tx5": await anvil.send(M, E, value=3 * ETH),
    }
    await index_evm(pool, EvmJob(anvil_url, Chain.ETHEREUM, RunOptions(batch_blocks=8)))
    return txs | {"clean": from_hex(clean)}


async def trace(pool: asyncpg.Pool, start: str, **params: Any) -> dict[str, Any]:
    begin: Start = ("transaction", start) if len(start) == 66 else ("address", start)
    async with pool.acquire() as conn:
        return await run_trace(conn, "ethereum", begin, TraceParams(**params))


def ends(result: dict[str, Any]) -> dict[str, int]:
    return {e["address"]: e["amount"] for e in result["endpoints"]}


async def test_forward_haircut_fifo_and_poison(pool: asyncpg.Pool, chain: dict[str, str]) -> None:
    haircut = await trace(pool, S, method=Method.HAIRCUT)
    assert haircut["start"]["amount"] == 10 * ETH  # what S received (tx1)
    assert haircut["unit"] == "wei" and not haircut["truncated"]
    # tx2: S's 10 (all tainted) -> M 4, S keeps 6. tx4: M holds 4 tainted of 10 -> D 5 * 4/10 = 2, M keeps
    # 2 tainted of 5. tx5: M's 5 (2 tainted) -> E 3 * 2/5 = 1.2, M keeps 0.8. Nothing is lost: 6+2+1.2+0.8.
    assert ends(haircut) == {S: 6 * ETH, D: 2 * ETH, E: 12 * ETH // 10, M: 8 * ETH // 10}
    path = next(p for p in haircut["paths"] if p["address"] == E)
    assert [(s["txid"], s["address"], s["amount"]) for s in path["steps"]] == [
        (chain["tx2"], M, 4 * ETH),
        (chain["tx4"], M, 2 * ETH),  # M's balance after tx4: its tainted part
        (chain["tx5"], E, 12 * ETH // 10),
    ]
    # FIFO: M sends the oldest value first. tx4's 5 take tx2's tainted 4 and 1 of tx3's clean 6; what M
    # keeps, and so tx5, is clean.
    fifo = await trace(pool, S, method=Method.FIFO)
    assert ends(fifo) == {S: 6 * ETH, D: 4 * ETH}
    # Poison: everything tainted money touches is tainted, whole.
    poison = await trace(pool, S, method=Method.POISON)
    assert ends(poison) == {S: 6 * ETH, D: 5 * ETH, E: 3 * ETH, M: 2 * ETH}
    # From a transaction: what tx2 paid (M's 4), by FIFO: all of it reaches D.
    from_tx = await trace(pool, chain["tx2"], method=Method.FIFO)
    assert from_tx["start"] == {"kind": "transaction", "id": chain["tx2"], "coins": 1, "amount": 4 * ETH}
    assert ends(from_tx) == {D: 4 * ETH}


async def test_backward_haircut_to_the_sources_and_an_unknown_origin(
    pool: asyncpg.Pool, chain: dict[str, str]
) -> None:
    result = await trace(pool, E, direction=Direction.BACKWARD, method=Method.HAIRCUT)
    # E's 3 came from M's balance after tx4 (5): all 3. That balance came from tx2 (4) and tx3 (6): 1.2 and
    # 1.8. tx2's 1.2 came from S's 10 (tx1); tx3's 1.8 from C, whose balance no indexed transfer brought in.
    flows = {(f["hop"], f["address"], f["amount"]) for f in result["flows"]}
    assert flows == {
        (1, M, 3 * ETH),
        (2, M, 12 * ETH // 10),
        (2, M, 18 * ETH // 10),
        (3, S, 12 * ETH // 10),
    }
    assert [u["txid"] for u in result["unknown"]] == [chain["tx3"]]
    assert "no indexed transfer" in result["unknown"][0]["reason"]
    assert result["truncated_by"] == ["hops"]  # S's coin goes further back (tx1) than 3 hops


async def test_a_ledger_read_short_is_reported(pool: asyncpg.Pool, chain: dict[str, str]) -> None:
    # M has four transfers (tx2..tx5); read at most two, the trace must say it saw part of M's history.
    params = TraceParams(method=Method.HAIRCUT)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        source = AccountTxs(conn, "ethereum", None, max_ledger=2)
        coins = await start_coins(conn, Chain.ETHEREUM, source, ("address", S), params.max_nodes)
        cut = await trace_from(Chain.ETHEREUM, source, ("address", S), coins, params)
    assert cut["truncated"] and cut["truncated_by"] == ["max_ledger_transfers"]
    whole = await trace(pool, S, method=Method.HAIRCUT)
    assert "max_ledger_transfers" not in whole["truncated_by"]


async def test_bounds_assets_and_errors(pool: asyncpg.Pool, chain: dict[str, str]) -> None:
    cut = await trace(pool, S, method=Method.POISON, hops=1)
    assert cut["truncated_by"] == ["hops"] and ends(cut) == {M: 4 * ETH, S: 6 * ETH}
    few = await trace(pool, S, method=Method.POISON, max_nodes=2)
    assert "max_nodes" in few["truncated_by"]
    with pytest.raises(NotFound, match="token"):
        await trace(pool, S, asset="0x" + "7" * 40)  # not a token we indexed
    with pytest.raises(InputError):
        async with pool.acquire() as conn:
            await run_trace(
                conn, "bitcoin", ("address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"), TraceParams(asset=S)
            )


async def test_a_token_is_traced_on_its_own(anvil: Anvil, anvil_url: str, pool: asyncpg.Pool) -> None:
    """TracerTestToken (6 decimals): owner -> alice 500, alice -> bob 200, alice -> carol 100, and alice
    also sends ETH (a native transfer the token trace must not follow)."""
    owner, alice, bob, carol = anvil.accounts[:4]
    token = await anvil.deploy(owner, "TracerTestToken", TOKEN_ARGS[0], TOKEN_ARGS[1])
    await anvil.send(owner, token, data=transfer(alice, 500 * UNIT))
    await anvil.send(alice, token, data=transfer(bob, 200 * UNIT))
    await anvil.send(alice, carol, value=ETH)
    await anvil.send(alice, token, data=transfer(carol, 100 * UNIT))
    await index_evm(pool, EvmJob(anvil_url, Chain.ETHEREUM, RunOptions(batch_blocks=8)))
    result = await trace(pool, alice, method=Method.HAIRCUT, asset=token.lower())
    assert (
        result["parameters"]["asset"] == from_hex(token) and result["unit"] == f"{from_hex(token)} base units"
    )
    assert result["start"]["amount"] == 500 * UNIT
    # alice's 500 -> bob 200, alice keeps 300 -> carol 100, alice keeps 200.
    assert ends(result) == {
        from_hex(bob): 200 * UNIT,
        from_hex(carol): 100 * UNIT,
        from_hex(alice): 200 * UNIT,
    }


async def test_cli_and_api_give_the_same_trace(
    pool: asyncpg.Pool, chain: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    expected = await trace(pool, S.lower(), method=Method.HAIRCUT)  # any case: normalised at the edge
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env |= {"TRACER_DATABASE_URL": str(settings.database_url), "TRACER_HOME": str(tmp_path)}
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracer.cli", "trace", "ethereum", S, "--method", "haircut", "--json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
    _, secret = await create_key(pool, Role.ANALYST, "public", None)
    runner, url = await start_server(Settings(database_url=settings.database_url, port=0))
    try:
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as http:
            body = {"chain": "ethereum", "address": S, "method": "haircut"}
            async with http.post(f"{url}/v1/trace", json=body) as resp:
                assert resp.status == 200
                assert await resp.json() == expected
    finally:
        await runner.cleanup()
