"""``tracer index evm --rpc URL --chain ethereum|tron [--from H] [--to H] [--follow]``, or
``tracer index evm --chain tron --tron-api URL`` (TRON's HTTP API: TRX transfers as well as TRC-20 logs).

No ``--from``: resume from the cursor, or genesis on a fresh database; no ``--to``: the node's tip.
``--follow`` keeps indexing new blocks until SIGINT/SIGTERM (the batch being written commits first).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from chains.model import Chain
from tracer.cli.common import emit
from tracer.config import Settings
from tracer.errors import InputError


def add_evm_index_arguments(index: argparse.ArgumentParser) -> None:
    evm = index.add_argument_group("evm (tracer index evm --rpc URL --chain ethereum|tron)")
    evm.add_argument("--chain", dest="evm_chain", choices=["ethereum", "tron"], help="EVM chain to index")
    evm.add_argument("--chain-id", type=int, help="expected eth_chainId (default: the chain's mainnet id)")
    evm.add_argument("--no-traces", action="store_true", help="skip internal transfers (trace APIs)")
    evm.add_argument(
        "--tron-api",
        metavar="URL",
        help="TRON's HTTP API (java-tron full node :8090, https://api.trongrid.io) instead of --rpc",
    )


async def cmd_index_evm(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.indexer.pipeline import RunOptions
    from tracer.jobs.evm_index import EvmJob, index_evm
    from tracer.store.pool import open_pool

    if not (args.rpc or args.tron_api) or not args.evm_chain:
        raise InputError("tracer index evm needs --rpc URL and --chain ethereum|tron (or --tron-api URL)")
    if args.rpc and args.tron_api:
        raise InputError("give one of --rpc URL and --tron-api URL")
    if args.raw or args.json or args.esplora:
        raise InputError("tracer index evm reads from a node: give --rpc URL only")
    if args.workers > 1 or args.shared:
        raise InputError("tracer index evm runs one worker: it takes neither --workers nor --shared")
    job = EvmJob(
        args.rpc or args.tron_api,
        Chain(args.evm_chain),
        RunOptions(args.batch, parse_workers=args.parse_workers, reindex=args.reindex, bulk=args.bulk),
        chain_id=args.chain_id,
        traces=not args.no_traces,
        tron_http=bool(args.tron_api),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_pool(settings) as pool:
        report = await index_evm(
            pool, job, start=args.from_height, stop=args.to_height, follow=args.follow, stop_event=stop
        )
    emit(report.as_dict())
    return 0
