"""EVM ingest: the same anvil-made chain indexed by tracer and by ethereum-etl (the peer), in one run.

The chain: a real ERC-20 (tests/evm/contracts) on anvil, then ``--blocks`` blocks (default 2,000), each with
one native transfer and ``--token-transfers`` token transfers between 20 accounts. tracer indexes it into
PostgreSQL (blocks, transactions, receipts -> native and token transfers, and anvil's ``trace_block``, which
also carries each transaction's value so blocks are asked for with hashes only) in batches of 250 blocks,
parsing in a thread. ethereum-etl 2.4.2 exports blocks + transactions and token transfers to CSV, run as its
users do (two commands) with its defaults (batch 100, 5 workers), which were its best on this machine (also
tried: -b 100 -w 2, -b 200 -w 3, -b 50 -w 8). ethereum-etl does not import on Python 3.11, so it runs from
its own Python 3.9 virtualenv, made here on first use (``.tools/ethereum-etl-venv``, from pyenv's 3.9).

Its two process start-ups (web3 imports) are part of its time, as for its users; the start-up is also
printed, with both tools' blocks/s without it, so the ratio's share of fixed cost is visible.

Run: ``python -m bench.evm_ingest``; the last line is ``ratio: <tracer blocks/s / ethereum-etl blocks/s>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import figure, scratch_pool
from chains.model import Chain
from tracer.devnode.evm_anvil import ROOT, Anvil, calldata, run_anvil
from tracer.indexer.pipeline import RunOptions
from tracer.jobs.evm_index import EvmJob, index_evm

ETL_VERSION = "2.4.2"
ETL_VENV = ROOT / ".tools" / "ethereum-etl-venv"
PYENV_PYTHON39 = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
ACCOUNTS = 20
TOKEN_UNIT = 10**6
TRACER_BATCH = 250  # blocks per write transaction: small EVM blocks, fewer round trips


def etl_python() -> Path:
    """The Python 3.9 virtualenv holding ethereum-etl, created (once) from pyenv's 3.9."""
    etl = ETL_VENV / "bin" / "ethereumetl"
    if etl.exists():
        return etl
    candidates = sorted(PYENV_PYTHON39.glob("3.9.*/bin/python"))
    if not candidates:
        raise SystemExit("ethereum-etl needs Python 3.9 (pyenv install 3.9): none found under ~/.pyenv")
    subprocess.run([str(candidates[-1]), "-m", "venv", str(ETL_VENV)], check=True)
    pip = [str(ETL_VENV / "bin" / "pip"), "install", "--quiet", f"ethereum-etl=={ETL_VERSION}"]
    subprocess.run(pip, check=True)
    return etl


async def build_chain(chain: Anvil, blocks: int, token_transfers: int) -> int:
    """Deploys the token, spreads it over the accounts, then mines ``blocks`` blocks of transfers."""
    owner, accounts = chain.accounts[0], chain.accounts[:ACCOUNTS]
    token = await chain.deploy(
        owner, "TracerTestToken", ["string", "string", "uint8", "uint256"], ["Tracer USD", "TUSD", 6, 10**18]
    )
    # Without automine, a batch of one sender's transactions gets consecutive nonces (with it, anvil may
    # mine between two of them and see the next as a replacement).
    await chain.call("evm_setAutomine", False)
    await chain.send_many(
        [{"from": owner, "to": token, "data": _transfer(a, 10**9 * TOKEN_UNIT)} for a in accounts[1:]]
    )
    await chain.call("evm_mine")
    for n in range(blocks):
        txs: list[dict[str, object]] = [
            {
                "from": accounts[n % ACCOUNTS],
                "to": accounts[(n + 1) % ACCOUNTS],
                "value": hex(n + 1),
                "gas": hex(21_000),
            }
        ]
        for k in range(token_transfers):
            sender, receiver = accounts[(n + k) % ACCOUNTS], accounts[(n + 3 * k + 5) % ACCOUNTS]
            txs.append({"from": sender, "to": token, "data": _transfer(receiver, (k + 1) * TOKEN_UNIT)})
        await chain.send_many(txs)
        await chain.call("evm_mine")
    await chain.call("evm_setAutomine", True)
    return await chain.height()


def _transfer(to: str, amount: int) -> str:
    return calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])


async def run_tracer(url: str, tip: int) -> tuple[float, int]:
    async with scratch_pool() as pool:
        job = EvmJob(url, Chain.ETHEREUM, RunOptions(batch_blocks=TRACER_BATCH, parse_workers=0))
        started = time.perf_counter()
        report = await index_evm(pool, job, start=0, stop=tip)
        seconds = time.perf_counter() - started
        transfers = await pool.fetchval("SELECT count(*) FROM transfers WHERE kind = 'token'")
    assert report.blocks == tip + 1
    return seconds, int(transfers)


def run_etl(url: str, tip: int, out: Path) -> tuple[float, int]:
    """Both exports of blocks 0..``tip``: (seconds, token transfers written)."""
    started = time.perf_counter()
    _etl_exports(url, tip, out)
    seconds = time.perf_counter() - started
    with (out / "token_transfers.csv").open() as fh:
        transfers = sum(1 for _ in fh) - 1  # header
    return seconds, transfers


def etl_startup(url: str, out: Path) -> float:
    """Seconds both exports take for block 0 alone: process start-up, imports, one request each."""
    started = time.perf_counter()
    _etl_exports(url, 0, out)
    return time.perf_counter() - started


def _etl_exports(url: str, tip: int, out: Path) -> None:
    etl = str(etl_python())
    common = ["--start-block", "0", "--end-block", str(tip), "--provider-uri", url]
    subprocess.run(
        [etl, "export_blocks_and_transactions", *common,
         "--blocks-output", str(out / "blocks.csv"), "--transactions-output", str(out / "transactions.csv")],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        [etl, "export_token_transfers", *common, "--output", str(out / "token_transfers.csv")],
        check=True, capture_output=True,
    )  # fmt: skip


async def main(blocks: int, token_transfers: int) -> None:
    etl_python()  # set up the peer before timing anything
    async with run_anvil(chain_id=1, extra=["--accounts", str(ACCOUNTS)]) as url, Anvil.connect(url) as chain:
        started = time.perf_counter()
        tip = await build_chain(chain, blocks, token_transfers)
        figure("chain built on anvil (s)", time.perf_counter() - started, "s")
        figure("blocks", tip + 1, "blocks")
        ours, our_transfers = await run_tracer(url, tip)
        with tempfile.TemporaryDirectory(prefix="tracer-etl-") as tmp:
            startup = await asyncio.to_thread(etl_startup, url, Path(tmp))
            theirs, their_transfers = await asyncio.to_thread(run_etl, url, tip, Path(tmp))
    if our_transfers != their_transfers:
        raise SystemExit(f"token transfers differ: tracer {our_transfers}, ethereum-etl {their_transfers}")
    figure("token transfers (both)", our_transfers, "transfers")
    figure("tracer", (tip + 1) / ours, "blocks/s")
    figure("tracer", our_transfers / ours, "transfers/s")
    figure("ethereum-etl", (tip + 1) / theirs, "blocks/s")
    figure("ethereum-etl", their_transfers / theirs, "transfers/s")
    figure("ethereum-etl start-up, both exports of block 0 (s)", startup, "s")
    figure("ethereum-etl without start-up", tip / max(theirs - startup, 1e-9), "blocks/s")
    print(f"ratio without ethereum-etl's start-up: {(theirs - startup) / ours:.2f}")
    print(f"ratio: {theirs / ours:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--token-transfers", type=int, default=3, help="token transfers per block")
    args = parser.parse_args()
    asyncio.run(main(args.blocks, args.token_transfers))
