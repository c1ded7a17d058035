"""End-to-end Bitcoin ingest: tracer (node -> parse -> PostgreSQL) against bitcoin-etl (JSON-RPC -> JSON
files, inputs enriched), the same replay node, the same blocks, one run.

The blocks: ``bench.chaingen``'s mainnet-shaped chain (real serialization and hashes; heavy-tailed address
reuse, consolidations, batch payouts; every prevout in the chain), ``--txs`` transactions in blocks of
``--txs-per-block``, written once as blk files under ``--workdir`` and reused by later runs.

The node: ``tracer dev``'s replay node in its own process, serving the blk files as Bitcoin Core 22+ does
(getblock 0/1/2/3, getrawtransaction). It renders JSON in Python where Core uses C++, so for the peer's
sake every verbosity-2 block and verbose transaction is rendered once before timing and answered from
memory (the raw hex tracer asks for is cached by the store anyway).

The peer: PyPI ``bitcoin-etl`` 1.5.2 in its own venv (``<workdir>/bitcoin-etl-venv``, made on first run),
run as its README says: ``export_blocks_and_transactions`` then ``enrich_transactions`` (which fills every
input's address and value, as tracer does), default batch sizes and workers.

tracer takes block hashes over JSON-RPC and the blocks themselves as bytes from the node's Bitcoin Core REST
interface (``--rest``, what ``bitcoind -rest`` serves; the replay node serves it too), not as hex in JSON.
tracer indexes the range as a first pass (``bulk=True``, as ``tracer index bitcoin --bulk`` does and as a
range of 1,000+ blocks into a store it at least doubles does by default): foreign keys and address-id
indexes are built at the end, inside the timed run. The block on top is indexed as an ordinary run.

Run from the project root: ``python -m bench.bitcoin_ingest`` (``--txs 1000000 --skip-peer`` for the cost
of one more block at a million transactions). Last line: ``ratio: <tracer tx/s / bitcoin-etl tx/s>``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chaingen import generate_blocks, write_blk_files
from bench.common import figure, scratch_settings
from bench.proc_cpu import postmaster_pid, server_cpu_seconds, tree_cpu_seconds

PEER = "bitcoin-etl==1.5.2"
DEFAULT_WORKDIR = Path(".bench/bitcoin_ingest")
BATCH_BLOCKS = 3  # ~7,500 txs a transaction: several batches in flight, each big enough for COPY


def chain_dir(workdir: Path, txs: int, per_block: int, seed: int) -> Path:
    """blk files of the generated chain, made once per (txs, per_block, seed)."""
    directory = workdir / f"chain-{txs}-{per_block}-{seed}"
    done = directory / "complete"
    if not done.exists():
        started = time.perf_counter()
        write_blk_files(directory, generate_blocks(txs, seed, per_block))
        done.write_text("ok\n")
        print(
            f"generated {txs:,} txs in {time.perf_counter() - started:.1f} s -> {directory}", file=sys.stderr
        )
    return directory


@contextmanager
def replay_node(blocks: Path, *, warm: bool) -> Iterator[dict[str, Any]]:
    """The replay node in its own process (``--serve``); yields what it announces (rpc_url, tip, first).
    ``warm``: render the peer's JSON before announcing (tracer asks for raw blocks only)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bitcoin_ingest", "--serve", str(blocks), *(["--warm"] if warm else [])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the replay node did not start")
        yield {**json.loads(line), "pid": process.pid}
    finally:
        process.terminate()
        process.wait(timeout=30)


async def serve(blocks: Path, warm: bool) -> None:
    """The node process: load, memoise and warm the JSON renderings, announce, serve until terminated."""
    from tracer.devnode import bitcoin_views
    from tracer.devnode.bitcoin_replay import serve_replay
    from tracer.devnode.bitcoin_store import ReplayStore

    views = bitcoin_views.ChainViews
    rendered: dict[tuple[object, ...], str] = {}
    getblock, rawtransaction = views.getblock, views.rawtransaction

    def cached_getblock(self: Any, block: Any, verbosity: int) -> str:
        key = ("block", block.hash, verbosity)
        if key not in rendered:
            rendered[key] = getblock(self, block, verbosity)
        return rendered[key]

    def cached_rawtransaction(self: Any, txid: str, verbose: int, block_hash: str | None = None) -> str:
        key = ("tx", txid, verbose, block_hash)
        if key not in rendered:
            rendered[key] = rawtransaction(self, txid, verbose, block_hash)
        return rendered[key]

    views.getblock = cached_getblock  # type: ignore[method-assign]
    views.rawtransaction = cached_rawtransaction  # type: ignore[method-assign]
    store = ReplayStore.from_paths([blocks])
    async with serve_replay(store) as node:
        if warm:
            await _warm(node.rpc_url, store)
        first = min(store.by_height)
        print(json.dumps({"rpc_url": node.rpc_url, "tip": node.tip, "first": first}), flush=True)
        await asyncio.Event().wait()


async def _warm(url: str, store: Any) -> None:
    """Ask for every block at verbosity 0 and 2 and every transaction verbosely, once, untimed."""
    from chains.rpc import JsonRpcClient
    from chains.transport import HttpTransport

    async with HttpTransport(url, timeout=600) as transport:
        client = JsonRpcClient(transport, jsonrpc="1.0")
        for height in sorted(store.by_height):
            block_hash = store.by_height[height]
            await client.call("getblock", [block_hash, 0])
            block = await client.call("getblock", [block_hash, 2])
            txids = [tx["txid"] for tx in block["tx"]]
            await client.batch([("getrawtransaction", [t, 1]) for t in txids], max_batch=500)


@dataclass(slots=True)
class Breakdown:
    """Where the first pass's time went: CPU seconds by process, and the deferred keys' rebuild."""

    main_cpu: float = 0.0  # this process: the pipeline, row building, COPY encoding
    parse_cpu: float = 0.0  # the parse worker processes
    database_cpu: float = 0.0  # the PostgreSQL server and its backends
    rebuild_seconds: float = 0.0  # building the deferred indexes and keys at the end (wall)

    def print(self) -> None:
        figure("tracer: main process CPU (s)", self.main_cpu, "s")
        figure("tracer: parse workers' CPU (s)", self.parse_cpu, "s")
        figure("tracer: PostgreSQL CPU (s)", self.database_cpu, "s")
        figure("tracer: deferred indexes and keys rebuilt (s)", self.rebuild_seconds, "s")


class _RebuildTimer(logging.Handler):
    """Picks the rebuild's seconds out of ``tracer.store.bulkload``'s log record."""

    def __init__(self, into: Breakdown) -> None:
        super().__init__(logging.INFO)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        seconds = getattr(record, "seconds", None)
        if getattr(record, "rebuilt", None) is not None and seconds is not None:
            self.into.rebuild_seconds += float(seconds)


def _parse_workers_cpu(node_pid: int) -> float:
    """CPU seconds of this process's children but the replay node (the forkserver and, live or reaped, the
    parse workers it forked)."""
    children = [pid for pid in tree_cpu_seconds([os.getpid()]) if pid not in (os.getpid(), node_pid)]
    return sum(server_cpu_seconds(pid) for pid in children)


async def run_tracer(
    node: dict[str, Any], profile: Path | None
) -> tuple[int, float, float | None, Breakdown]:
    """Index the chain into a fresh PostgreSQL; (txs, seconds, seconds of the last block alone, where the
    first pass's time went)."""
    from tracer.jobs.follow import index_from_node
    from tracer.store.pool import open_pool

    first, tip, node_pid = int(node["first"]), int(node["tip"]), int(node["pid"])
    breakdown = Breakdown()
    timer = _RebuildTimer(breakdown)
    bulk_log = logging.getLogger("tracer.store.bulkload")
    bulk_log.addHandler(timer)
    bulk_log.setLevel(logging.INFO)
    with scratch_settings() as settings:
        async with open_pool(settings) as pool:
            pg = postmaster_pid(settings.home / "pg") or 0
            main_before, pg_before = time.process_time(), server_cpu_seconds(pg)
            parse_before = _parse_workers_cpu(node_pid)
            profiler = cProfile.Profile() if profile else None
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            report = await index_from_node(
                pool,
                rpc_url=node["rpc_url"],
                start=first,
                stop=tip - 1,
                batch_blocks=BATCH_BLOCKS,
                bulk=True,
                rest=True,
            )
            seconds = time.perf_counter() - started
            if profiler:
                profiler.disable()
                assert profile is not None
                profiler.dump_stats(profile)
            breakdown.main_cpu = time.process_time() - main_before
            breakdown.database_cpu = server_cpu_seconds(pg) - pg_before
            breakdown.parse_cpu = _parse_workers_cpu(node_pid) - parse_before
            bulk_log.removeHandler(timer)
            # The first pass's WAL (~4.7 GB at 1M txs) requested a checkpoint that is still writing its
            # pages out: finished here, apart, so the block on top is not timed against that write-out
            # (1M txs, load ~4: 1.39 s with it, 0.85 s after it; the block still writes its full-page
            # images, ~177 MB of WAL, as any first block after a checkpoint does).
            checkpoint = time.perf_counter()
            await pool.execute("CHECKPOINT")
            figure("tracer: the first pass's checkpoint finished (s)", time.perf_counter() - checkpoint, "s")
            one = time.perf_counter()
            last = await index_from_node(pool, rpc_url=node["rpc_url"], start=tip, stop=tip, rest=True)
            one_block = time.perf_counter() - one
    figure("tracer: one more block on top (txs)", last.txs, "txs")
    return report.txs, seconds, one_block, breakdown


def peer_venv(workdir: Path) -> Path:
    """``bitcoinetl`` from its own venv, made (and the peer installed from PyPI) on first use."""
    venv = workdir / "bitcoin-etl-venv"
    exe = venv / "bin" / "bitcoinetl"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PEER], check=True)
    return exe


def run_peer(node: dict[str, Any], workdir: Path) -> tuple[int, float]:
    """bitcoin-etl as its users run it: export, then enrich the inputs; (txs, seconds)."""
    exe = peer_venv(workdir)
    out = workdir / "peer"
    out.mkdir(exist_ok=True)
    url, first, tip = node["rpc_url"], str(node["first"]), str(node["tip"])
    export = [exe, "export_blocks_and_transactions", "-s", first, "-e", tip, "-p", url, "--chain", "bitcoin"]
    export += ["--blocks-output", out / "blocks.json", "--transactions-output", out / "transactions.json"]
    enrich = [exe, "enrich_transactions", "-p", url, "--chain", "bitcoin"]
    enrich += ["--transactions-input", out / "transactions.json"]
    enrich += ["--transactions-output", out / "enriched.json"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    for argv in (export, enrich):
        subprocess.run([str(a) for a in argv], check=True, env=env, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    with (out / "enriched.json").open() as lines:
        txs = sum(1 for _ in lines)
    return txs, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bitcoin_ingest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--txs", type=int, default=100_000, help="transactions in the generated chain")
    parser.add_argument("--txs-per-block", type=int, default=2_500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--skip-peer", action="store_true", help="tracer only (e.g. the 1M-tx block cost)")
    parser.add_argument("--profile", type=Path, help="write tracer's cProfile stats here and print the top")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the node process
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.warm))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    blocks = chain_dir(args.workdir, args.txs, args.txs_per_block, args.seed)
    with replay_node(blocks, warm=not args.skip_peer) as node:
        print(
            f"chain: {args.txs:,} txs, {node['tip'] - node['first'] + 1} blocks"
            f" (bench.chaingen seed {args.seed})"
        )
        txs, seconds, one_block, breakdown = asyncio.run(run_tracer(node, args.profile))
        figure("tracer: node (REST) -> PostgreSQL", txs / seconds, "tx/s")
        figure("tracer: seconds", seconds, "s")
        breakdown.print()
        if one_block is not None:
            figure("tracer: one more block on top (s)", one_block, "s")
        if args.profile:
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(25)
        if args.skip_peer:
            return
        peer_txs, peer_seconds = run_peer(node, args.workdir)
    figure("bitcoin-etl: export + enrich -> JSON", peer_txs / peer_seconds, "tx/s")
    figure("bitcoin-etl: seconds", peer_seconds, "s")
    print(f"ratio: {(txs / seconds) / (peer_txs / peer_seconds):.2f}")


if __name__ == "__main__":
    main()
