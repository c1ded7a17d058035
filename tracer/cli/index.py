"""``tracer index``: blocks from files or a node into PostgreSQL; ``--follow`` keeps following the tip,
``--workers N`` shares the range between N processes. SIGTERM/SIGINT finish the batch being written,
commit it, and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.cli.common import check_range, emit
from tracer.config import Settings

if TYPE_CHECKING:
    import asyncpg

    from tracer.cli.common import Subparsers
    from tracer.indexer.report import IndexReport
    from tracer.jobs.follow import NodeJob
from tracer.errors import InputError

MAX_BATCH_BLOCKS = 10_000
MAX_WORKERS = 64


def _validate(args: argparse.Namespace) -> None:
    check_range("--batch", args.batch, 1, MAX_BATCH_BLOCKS)
    check_range("--from", args.from_height, 0)
    check_range("--to", args.to_height, 0)
    check_range("--workers", args.workers, 1, MAX_WORKERS)
    check_range("--parse-workers", args.parse_workers, 0, MAX_WORKERS)
    check_range("--confirmations", args.confirmations, 0, 1_000)
    check_range("--poll-seconds", args.poll_seconds, 0.01, 3_600.0)
    check_range("--lease-seconds", args.lease_seconds, 1.0, 3_600.0)
    check_range("--range-blocks", args.range_blocks, 1, 1_000_000)
    check_range("--metrics-port", args.metrics_port, 1, 65_535)
    if args.from_height is not None and args.to_height is not None and args.from_height > args.to_height:
        raise InputError(f"--from {args.from_height} is above --to {args.to_height}")
    if args.follow and (args.workers > 1 or args.shared or args.to_height is not None):
        raise InputError("--follow runs one worker to the tip: it takes neither --workers, --shared nor --to")
    if args.bulk and (args.follow or args.workers > 1 or args.shared):
        raise InputError(
            "--bulk is for one writer over a fixed range: not with --follow, --workers or --shared"
        )


def _source(args: argparse.Namespace, settings: Settings) -> None:
    if not (args.raw or args.json or args.rpc or args.esplora or args.blocks_dir):
        # No source on the command line: the configured node (TRACER_BTC_RPC_URL, else TRACER_ESPLORA_URL).
        args.rpc = settings.btc_rpc_url
        args.esplora = None if args.rpc else settings.esplora_url
    sources = [bool(args.raw), bool(args.json), bool(args.rpc), bool(args.esplora), bool(args.blocks_dir)]
    if sum(sources) != 1:
        raise InputError(
            "give exactly one of --raw FILE..., --json FILE..., --rpc URL, --esplora URL, --blocks-dir DIR "
            "(or set TRACER_BTC_RPC_URL / TRACER_ESPLORA_URL)"
        )
    if (args.raw or args.json) and (args.follow or args.workers > 1 or args.shared):
        raise InputError("--follow, --workers and --shared need a node (--rpc or --esplora) or --blocks-dir")
    if (args.raw or args.json) and args.bulk:
        raise InputError("--bulk needs a node (--rpc or --esplora) or --blocks-dir")
    if args.rest and not args.rpc:
        raise InputError("--rest fetches blocks from the --rpc node's REST interface: give --rpc URL")


async def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.store.pool import open_pool

    _validate(args)
    if args.chain == "evm":
        if args.rest:
            raise InputError("--rest is Bitcoin Core's REST interface: use it with index bitcoin --rpc URL")
        from tracer.cli.evm import cmd_index_evm

        return await cmd_index_evm(args, settings)
    _source(args, settings)
    async with open_pool(settings) as pool:
        if args.raw or args.json:
            from tracer.jobs.index import index_files

            report = await index_files(
                pool,
                [Path(p) for p in (args.raw or args.json)],
                kind="raw" if args.raw else "json",
                batch_blocks=args.batch,
                reindex=args.reindex,
            )
        else:
            report = await _index_node(pool, args, settings)
    emit({**report.as_dict(), "summary": report.summary()})
    return 0


async def _index_node(pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings) -> IndexReport:
    from tracer.indexer.pipeline import RunOptions
    from tracer.jobs.follow import NodeJob, follow_node, run_node_job
    from tracer.metrics import IndexerMetrics

    stop = asyncio.Event()
    metrics = IndexerMetrics.create()
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, registry=metrics.registry)
    options = RunOptions(args.batch, parse_workers=args.parse_workers, reindex=args.reindex, bulk=args.bulk)
    job = NodeJob(
        args.rpc,
        args.esplora,
        options,
        metrics,
        None if args.progress else False,
        stop,
        blocks_dir=Path(args.blocks_dir) if args.blocks_dir else None,
        rest=args.rest,
    )
    with _stop_on_signals(stop):
        if args.follow:
            return await follow_node(
                pool,
                job,
                start=args.from_height,
                confirmations=args.confirmations,
                poll_seconds=args.poll_seconds,
            )
        if args.workers > 1 or args.shared:
            return await _shared(pool, args, settings, job)
        return await run_node_job(pool, job, start=args.from_height, stop=args.to_height)


async def _shared(
    pool: asyncpg.Pool, args: argparse.Namespace, settings: Settings, job: NodeJob
) -> IndexReport:
    """Plan the range, start ``--workers - 1`` more processes of this command on it, work alongside them."""
    from tracer.jobs.shared import plan_shared, run_shared_node_job

    first, last = await plan_shared(
        pool, job, start=args.from_height, stop=args.to_height, range_blocks=args.range_blocks
    )
    children = [await _spawn_worker(args, settings, first, last) for _ in range(args.workers - 1)]
    try:
        report = await run_shared_node_job(
            pool,
            job,
            first=first,
            last=last,
            range_blocks=args.range_blocks,
            lease_seconds=args.lease_seconds,
        )
    finally:
        if job.stop is not None and job.stop.is_set():
            for child in children:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
        codes = [await child.wait() for child in children]
    failed = [code for code in codes if code != 0]
    if failed and not (job.stop is not None and job.stop.is_set()):
        # Their ranges were taken over (we only return once every chunk is done), so the rows are whole.
        sys.stderr.write(f"tracer: {len(failed)} of {len(children)} helper workers exited with {failed}\n")
    return report


async def _spawn_worker(
    args: argparse.Namespace, settings: Settings, first: int, last: int
) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "tracer.cli", "--home", str(settings.home)]
    if settings.database_url:
        argv += ["--database-url", settings.database_url]
    if args.blocks_dir:
        argv += ["index", "bitcoin", "--blocks-dir", args.blocks_dir]
    else:
        argv += ["index", "bitcoin", "--rpc" if args.rpc else "--esplora", args.rpc or args.esplora]
        argv += ["--rest"] if args.rest else []
    argv += ["--from", str(first), "--to", str(last), "--shared", "--no-progress"]
    argv += ["--batch", str(args.batch), "--range-blocks", str(args.range_blocks)]
    argv += ["--lease-seconds", str(args.lease_seconds)]
    if args.parse_workers is not None:
        argv += ["--parse-workers", str(args.parse_workers)]
    return await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.DEVNULL)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM / SIGINT set ``stop``: the batch being written commits, then the command exits 0."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def register(sub: Subparsers) -> None:
    index = sub.add_parser("index", help="index blocks into PostgreSQL")
    index.add_argument("chain", choices=["bitcoin", "evm"])
    index.add_argument("--raw", nargs="+", metavar="FILE", help="serialized blocks (binary, hex, blk*.dat)")
    index.add_argument(
        "--json", nargs="+", metavar="FILE", help="getblock JSON (verbosity 2/3) or raito JSON"
    )
    index.add_argument("--rpc", metavar="URL", help="Bitcoin Core JSON-RPC (env TRACER_BTC_RPC_URL)")
    index.add_argument(
        "--rest",
        action="store_true",
        help="with --rpc: fetch the blocks from Bitcoin Core's REST interface (bitcoind -rest) as bytes,"
        " not as hex in JSON",
    )
    index.add_argument("--esplora", metavar="URL", help="Esplora REST base URL (env TRACER_ESPLORA_URL)")
    index.add_argument(
        "--blocks-dir",
        metavar="DIR",
        help="Bitcoin Core's blocks/ directory (blk*.dat, xor.dat), read directly",
    )
    index.add_argument("--from", dest="from_height", type=int, help="first height (default: resume)")
    index.add_argument("--to", dest="to_height", type=int, help="last height (default: the node's tip)")
    index.add_argument("--batch", type=int, default=20, help="blocks per transaction (1-10000)")
    index.add_argument(
        "--reindex", action="store_true", help="rewrite blocks already stored with the same hash"
    )
    index.add_argument("--follow", action="store_true", help="keep following the node's tip")
    index.add_argument(
        "--confirmations", type=int, default=0, help="with --follow: stay this many blocks below the tip"
    )
    index.add_argument("--poll-seconds", type=float, default=5.0, help="with --follow: tip check interval")
    index.add_argument("--workers", type=int, default=1, help="processes sharing the range (leases)")
    index.add_argument("--shared", action="store_true", help="join the range as one more leased worker")
    index.add_argument("--range-blocks", type=int, default=1_000, help="heights per lease")
    index.add_argument(
        "--lease-seconds", type=float, default=30.0, help="a silent worker's range is taken over after this"
    )
    index.add_argument("--parse-workers", type=int, help="parse processes (default: one per core; 0: none)")
    index.add_argument(
        "--bulk",
        action="store_const",
        const=True,
        help="first pass: defer foreign-key checks and address indexes to the end of the run (default:"
        " when the range has 1,000+ blocks and at least doubles the store; never with --workers)",
    )
    index.add_argument("--no-bulk", dest="bulk", action="store_const", const=False, help="never defer them")
    index.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    index.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar on a terminal"
    )
    from tracer.cli.evm import add_evm_index_arguments

    add_evm_index_arguments(index)
    index.set_defaults(run=cmd_index)
