"""``tracer index``: blocks from files or a node into PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers
from tracer.errors import InputError


async def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.index import index_files
    from tracer.store.pool import open_pool

    if args.chain == "evm":
        from tracer.cli.evm import cmd_index_evm

        return await cmd_index_evm(args, settings)

    if not (args.raw or args.json or args.rpc or args.esplora):
        # No source on the command line: the configured node (TRACER_BTC_RPC_URL, else TRACER_ESPLORA_URL).
        args.rpc = settings.btc_rpc_url
        args.esplora = None if args.rpc else settings.esplora_url
    sources = [bool(args.raw), bool(args.json), bool(args.rpc), bool(args.esplora)]
    if sum(sources) != 1:
        raise InputError(
            "give exactly one of --raw FILE..., --json FILE..., --rpc URL, --esplora URL "
            "(or set TRACER_BTC_RPC_URL / TRACER_ESPLORA_URL)"
        )
    async with open_pool(settings) as pool:
        if args.raw or args.json:
            report = await index_files(
                pool,
                [Path(p) for p in (args.raw or args.json)],
                kind="raw" if args.raw else "json",
                batch_blocks=args.batch,
                reindex=args.reindex,
            )
        else:
            from tracer.jobs.follow import index_from_node

            report = await index_from_node(
                pool,
                rpc_url=args.rpc,
                esplora_url=args.esplora,
                start=args.from_height,
                stop=args.to_height,
                batch_blocks=args.batch,
                reindex=args.reindex,
            )
    emit(report.as_dict())
    return 0


def register(sub: Subparsers) -> None:
    index = sub.add_parser("index", help="index blocks into PostgreSQL")
    index.add_argument("chain", choices=["bitcoin", "evm"])
    index.add_argument("--raw", nargs="+", metavar="FILE", help="serialized blocks (binary, hex, blk*.dat)")
    index.add_argument(
        "--json", nargs="+", metavar="FILE", help="getblock JSON (verbosity 2/3) or raito JSON"
    )
    index.add_argument("--rpc", metavar="URL", help="Bitcoin Core JSON-RPC (env TRACER_BTC_RPC_URL)")
    index.add_argument("--esplora", metavar="URL", help="Esplora REST base URL (env TRACER_ESPLORA_URL)")
    index.add_argument("--from", dest="from_height", type=int, help="first height (default: resume)")
    index.add_argument("--to", dest="to_height", type=int, help="last height (default: the node's tip)")
    index.add_argument("--batch", type=int, default=20, help="blocks per transaction")
    index.add_argument(
        "--reindex", action="store_true", help="rewrite blocks already stored with the same hash"
    )
    from tracer.cli.evm import add_evm_index_arguments

    add_evm_index_arguments(index)
    index.set_defaults(run=cmd_index)
