"""EVM ingest: the same anvil-made chain indexed by tracer and by ethereum-etl (the peer), in one run.

The chain: a real ERC-20 (tests/evm/contracts) on anvil, then ``--blocks`` blocks (default 2,000), each with
one native transfer and ``--token-transfers`` token transfers between 20 accounts. Both tools read every
block of it, 0..tip, and must find the same token transfers.

Each tool runs as its users run it, as a process on the command line, so both pay their start-up:

- tracer: ``tracer index evm --rpc URL --chain ethereum --from 0 --to TIP --batch 1000 --parse-workers 0``
  into a PostgreSQL database that exists already (migrated before timing, as a user's would be). It reads
  blocks (with transaction hashes), anvil's ``trace_block`` (internal transfers; each transaction's sender,
  recipient, value, status and created contract from its top frame) and each block's logs (``eth_getLogs``
  by block hash), rebuilds the receipts from those (``chains.evm.tracereceipts``), and stores blocks,
  transactions, native, internal and token transfers, approvals and tokens with their metadata. It parses
  in a thread of its one process: with parse processes (``--parse-workers 2``, which get the answers
  undecoded) it was slower on this shared 2-core machine, where anvil, PostgreSQL and other work hold the
  second core (20,003 blocks, load ~5: 5.95-9.64 s against 5.47-8.86 s).
- ethereum-etl 2.4.2: ``export_blocks_and_transactions`` then ``export_token_transfers`` to CSV, with its
  defaults (batch 100, 5 workers), which were its best on this machine (also tried: -b 100 -w 2, -b 200 -w
  3, -b 50 -w 8). It does not import on Python 3.11, so it runs from its own Python 3.9 virtualenv, made
  here on first use (``.tools/ethereum-etl-venv``, from pyenv's 3.9).

Printed for both: wall seconds, blocks/s and transfers/s, their processes' CPU seconds, and the start-up
(tracer: process wall minus the run its report times; ethereum-etl: both exports of block 0 alone), so the
share of fixed costs is visible; ``--blocks 20000`` amortises them (ethereum-etl then runs 25-30 s; anvil
needs ~4 min to make that chain).

The chain is made once per chain shape and anvil version and kept (``anvil_dumpState``) under
``.bench/evm-chains/``; later runs start a fresh anvil from it (``--load-state``: blocks, receipts and
traces answer byte for byte as on the anvil that made them) instead of mining it again (``--rebuild``
mines it anyway). What is timed is the same either way: both tools reading the chain from anvil.
anvil's CPU during each tool's run is printed too (from /proc): the node's share of the 2 cores.

Run: ``python -m bench.evm_ingest [--blocks N]``; the last line is
``ratio: <tracer blocks/s / ethereum-etl blocks/s>``, both measured as processes, start-ups included.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import inspect
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench.common import figure, scratch_settings
from bench.proc_cpu import postmaster_pid, server_cpu_seconds, tree_cpu_seconds
from tracer.config import Settings
from tracer.devnode.evm_anvil import ANVIL_BIN, CONTRACTS, ROOT, Anvil, calldata, start_anvil
from tracer.store.pool import open_pool

ETL_VERSION = "2.4.2"
ETL_VENV = ROOT / ".tools" / "ethereum-etl-venv"
CHAIN_CACHE = ROOT / ".bench" / "evm-chains"
PYENV_PYTHON39 = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
ACCOUNTS = 20
TOKEN_UNIT = 10**6
# Blocks per write transaction. The chain's blocks are small (4 transactions): 1,000 of them are the ~4,000
# transactions that the default batch (20 blocks) holds on mainnet (~200 a block). Measured here (20,003
# blocks, tracer alone, runs alternating, load ~3): 2.25-2.66 s at 1,000 (5 runs) against 2.66-2.84 s at
# 250 (3 runs): fewer transactions, COPYs and round trips (PostgreSQL's CPU 0.70-0.99 s against
# 0.83-1.02 s); 500 (2.44-2.64 s) and 2,000 (2.54-2.86 s) were not better.
TRACER_BATCH = 1000


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


@dataclass(frozen=True, slots=True)
class BenchChain:
    url: str
    pid: int  # anvil's process: its CPU time is read from /proc
    tip: int
    how: str  # "built", or where it was loaded from


@contextlib.asynccontextmanager
async def bench_chain(blocks: int, token_transfers: int, *, rebuild: bool) -> AsyncIterator[BenchChain]:
    """A fresh anvil holding the bench chain: loaded from the cache when it holds this shape made by this
    anvil and this code (``--load-state``: anvil's request size limit refuses ``anvil_loadState`` of a long
    chain), else mined here and stored for the next run."""
    path = _cache_path(blocks, token_transfers)
    extra = ["--accounts", str(ACCOUNTS)]
    if path.exists() and not rebuild:
        with tempfile.TemporaryDirectory(prefix="tracer-anvil-state-") as tmp:
            state = Path(tmp) / "state.json"
            state.write_bytes(gzip.decompress(path.read_bytes()))
            async with start_anvil(chain_id=1, extra=[*extra, "--load-state", str(state)]) as (url, pid):
                state.unlink()  # read at start-up
                async with Anvil.connect(url) as chain:
                    tip = await chain.height()
                yield BenchChain(url, pid, tip, f"loaded from {path.relative_to(ROOT)}")
        return
    async with start_anvil(chain_id=1, extra=extra) as (url, pid), Anvil.connect(url) as chain:
        tip = await build_chain(chain, blocks, token_transfers)
        dump = bytes.fromhex(str(await chain.call("anvil_dumpState"))[2:])  # gzipped JSON: blocks, txs...
        gzip.decompress(dump)  # a whole dump, or an error here rather than a bad cache
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".part")
        scratch.write_bytes(dump)
        scratch.replace(path)
        yield BenchChain(url, pid, tip, "built")


def _cache_path(blocks: int, token_transfers: int) -> Path:
    """Named by the chain's shape and a digest of what makes it: anvil's version, the chain-making code
    and the token's bytecode."""
    version = subprocess.run([str(ANVIL_BIN), "--version"], check=True, capture_output=True, text=True)
    made_by = [version.stdout, str(ACCOUNTS), str(TOKEN_UNIT), CONTRACTS.read_text()]
    made_by += [inspect.getsource(f) for f in (build_chain, _transfer)]
    digest = hashlib.sha256("\0".join(made_by).encode()).hexdigest()[:16]
    return CHAIN_CACHE / f"{blocks}x{token_transfers}-{digest}.json.gz"


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float  # wall time of the tool's processes, start-up included
    transfers: int  # token transfers it found
    cpu: float  # CPU seconds of its processes
    startup: float  # seconds of fixed cost not spent indexing (see the module docstring)


def anvil_cpu(pid: int) -> float:
    """CPU seconds anvil (one process, many threads) has used so far."""
    return tree_cpu_seconds([pid]).get(pid, 0.0)


async def run_tracer(url: str, tip: int) -> tuple[Run, float]:
    """``tracer index evm`` over 0..``tip`` as a process: the run, and PostgreSQL's CPU seconds."""
    with scratch_settings() as settings:
        async with open_pool(settings):  # the schema exists before the clock starts
            pass
        pg = postmaster_pid(settings.home / "pg") or 0
        before, pg_before = _children_cpu(), server_cpu_seconds(pg)
        started = time.perf_counter()
        report = await asyncio.to_thread(_tracer_cli, settings, url, tip)
        seconds = time.perf_counter() - started
        cpu, pg_cpu = _children_cpu() - before, server_cpu_seconds(pg) - pg_before
        async with open_pool(settings, run_migrations=False) as pool:
            transfers = await pool.fetchval("SELECT count(*) FROM transfers WHERE kind = 'token'")
    assert report["blocks"] == tip + 1, report
    return Run(seconds, int(transfers), cpu, seconds - float(report["seconds"])), pg_cpu


def _tracer_cli(settings: Settings, url: str, tip: int) -> dict[str, float]:
    command = [sys.executable, "-m", "tracer.cli", "--database-url", str(settings.database_url), "--home",
               str(settings.home), "index", "evm", "--rpc", url, "--chain", "ethereum", "--from", "0",
               "--to", str(tip), "--batch", str(TRACER_BATCH), "--parse-workers", "0"]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"tracer index evm failed ({done.returncode}): {done.stderr.strip()}")
    report: dict[str, float] = json.loads(done.stdout)  # counts and seconds
    return report


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_etl(url: str, tip: int, out: Path) -> Run:
    """Both exports of blocks 0..``tip``, after timing both exports of block 0 alone (the start-up)."""
    started = time.perf_counter()
    _etl_exports(url, 0, out)
    startup = time.perf_counter() - started
    before = _children_cpu()
    started = time.perf_counter()
    _etl_exports(url, tip, out)
    seconds = time.perf_counter() - started
    with (out / "token_transfers.csv").open() as fh:
        transfers = sum(1 for _ in fh) - 1  # header
    return Run(seconds, transfers, _children_cpu() - before, startup)


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


async def main(blocks: int, token_transfers: int, *, rebuild: bool = False) -> None:
    etl_python()  # set up the peer before timing anything
    started = time.perf_counter()
    async with bench_chain(blocks, token_transfers, rebuild=rebuild) as chain:
        figure(f"chain {chain.how} on anvil (s)", time.perf_counter() - started, "s")
        tip, url = chain.tip, chain.url
        figure("blocks (both read 0..tip)", tip + 1, "blocks")
        before = anvil_cpu(chain.pid)
        ours, pg_cpu = await run_tracer(url, tip)
        node_cpu = {"tracer": anvil_cpu(chain.pid) - before}
        with tempfile.TemporaryDirectory(prefix="tracer-etl-") as tmp:
            before = anvil_cpu(chain.pid)
            theirs = await asyncio.to_thread(run_etl, url, tip, Path(tmp))
            node_cpu["ethereum-etl"] = anvil_cpu(chain.pid) - before  # its start-up run of block 0 included
    if ours.transfers != theirs.transfers:
        raise SystemExit(f"token transfers differ: tracer {ours.transfers}, ethereum-etl {theirs.transfers}")
    figure("token transfers (both)", ours.transfers, "transfers")
    for name, run in (("tracer", ours), ("ethereum-etl", theirs)):
        figure(f"{name} (s)", run.seconds, "s")
        figure(name, (tip + 1) / run.seconds, "blocks/s")
        figure(name, run.transfers / run.seconds, "transfers/s")
        figure(f"{name} processes' CPU (s)", run.cpu, "s")
        figure(f"anvil's CPU while {name} read (s)", node_cpu[name], "s")
        figure(f"{name} start-up (s)", run.startup, "s")
        figure(f"{name} without start-up", (tip + 1) / (run.seconds - run.startup), "blocks/s")
    figure("tracer's PostgreSQL CPU (s)", pg_cpu, "s")
    steady = (theirs.seconds - theirs.startup) / (ours.seconds - ours.startup)
    print(f"ratio without either start-up: {steady:.2f}")
    print(f"ratio: {theirs.seconds / ours.seconds:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=2000)
    parser.add_argument("--token-transfers", type=int, default=3, help="token transfers per block")
    parser.add_argument("--rebuild", action="store_true", help="mine the chain even when it is cached")
    args = parser.parse_args()
    asyncio.run(main(args.blocks, args.token_transfers, rebuild=args.rebuild))
