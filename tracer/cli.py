"""The ``tracer`` command line. Other tools script against it: keep commands and output stable.

Every command honours TRACER_HOME and TRACER_DATABASE_URL. Results go to stdout as JSON; errors print one
line on stderr and exit non-zero (2: bad input, 3: database, 4: node or source, 1: anything else).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from tracer import logging as tracer_logging
from tracer.config import Settings
from tracer.errors import InputError, SourceError, StoreError, TracerError
from tracer.store import embedded

log = logging.getLogger("tracer.cli")

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]


def emit(data: object) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def exit_code(exc: TracerError) -> int:
    if isinstance(exc, InputError):
        return 2
    if isinstance(exc, StoreError):
        return 3
    if isinstance(exc, SourceError):
        return 4
    return 1


# --- commands ----------------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url and args.action != "url":
        raise InputError("TRACER_DATABASE_URL is set: tracer does not manage that server")
    if args.action == "start":
        emit({"running": True, "url": embedded.start(settings.home)})
    elif args.action == "stop":
        emit({"stopped": embedded.stop(settings.home)})
    elif args.action == "status":
        status = embedded.status(settings.home)
        emit({"running": status.running, "pgdata": str(status.pgdata), "url": status.url})
    else:
        emit({"url": settings.database_url or embedded.start(settings.home)})
    return 0


async def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.index import index_files
    from tracer.store.pool import open_pool

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


async def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.cluster import run_clustering
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        report = await run_clustering(pool, args.chain)
    emit(report.as_dict())
    return 0


async def cmd_labels(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.labels import import_labels
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        report = await import_labels(pool, Path(args.path), tenant=args.tenant)
    emit(report.as_dict())
    return 0


async def cmd_screen(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.screening import ScreeningOptions, parse_target, screen
    from tracer.store.pool import open_pool

    parse_target(args.chain, args.address)  # fail on bad input before starting a database
    async with open_pool(settings) as pool:
        result = await screen(pool, args.chain, args.address, ScreeningOptions.from_settings(settings))
    if args.json:
        emit(result)
    else:
        sys.stdout.write(_summary(result) + "\n")
    return 0


def _summary(result: dict[str, Any]) -> str:
    risk = result["risk"]
    lines = [f"{result['chain']} {result['address']}: {risk['level'].upper()} (score {risk['score']})"]
    if not result["known"]:
        lines.append("  not seen in indexed data or labels")
    else:
        lines.append(f"  cluster {result['cluster']['id']} ({result['cluster']['size']} addresses)")
    lines.extend(f"  - {reason['explanation']}" for reason in risk["reasons"])
    return "\n".join(lines)


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.api.server import serve_forever

    await serve_forever(settings)
    return 0


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.demo import run_demo

    await run_demo(settings, data_dir=Path(args.data), serve=not args.no_serve)
    return 0


async def cmd_replay_node(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.devnode.bitcoin_replay import ReplayNode, run_replay_node

    def announce(node: ReplayNode) -> None:
        line = {"rpc_url": node.rpc_url, "esplora_url": node.esplora_url, "tip": node.tip}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")  # one line: scripts read it to find the node
        sys.stdout.flush()

    await run_replay_node([Path(p) for p in args.paths], host=args.host, port=args.port, announce=announce)
    return 0


# --- parser ------------------------------------------------------------------------------------------

DEFAULT_DEMO_DATA = Path(__file__).resolve().parent.parent / "tests" / "fixtures"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracer", description="Crypto tracing, clustering and screening.")
    parser.add_argument("--home", help="data directory (env TRACER_HOME)")
    parser.add_argument("--database-url", help="PostgreSQL URL (env TRACER_DATABASE_URL); default: embedded")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = sub.add_parser("db", help="the embedded PostgreSQL server")
    db.add_argument("action", choices=["start", "stop", "status", "url"])
    db.set_defaults(run=cmd_db)

    index = sub.add_parser("index", help="index blocks into PostgreSQL")
    index.add_argument("chain", choices=["bitcoin"])
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
    index.set_defaults(run=cmd_index)

    cluster = sub.add_parser("cluster", help="cluster addresses over everything indexed (idempotent)")
    cluster.add_argument("--chain", default="bitcoin", choices=["bitcoin"])
    cluster.set_defaults(run=cmd_cluster)

    labels = sub.add_parser("labels", help="address labels")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    labels_import = labels_sub.add_parser("import", help="import a label file or directory (format detected)")
    labels_import.add_argument("path")
    labels_import.add_argument("--tenant", default="public", help="owner of private labels")
    labels_import.set_defaults(run=cmd_labels)

    screen = sub.add_parser("screen", help="screen an address")
    screen.add_argument("chain")
    screen.add_argument("address")
    screen.add_argument("--json", action="store_true", help="print the screening JSON (same as the API)")
    screen.set_defaults(run=cmd_screen)

    serve = sub.add_parser("serve", help="serve the REST API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="index the bundled real data, cluster, import labels, serve the API")
    demo.add_argument("--data", default=str(DEFAULT_DEMO_DATA), help="bundled data directory")
    demo.add_argument("--port", type=int)
    demo.add_argument("--no-serve", action="store_true", help="stop after loading and the example screening")
    demo.set_defaults(run=cmd_demo)

    dev = sub.add_parser("dev", help="developer tools")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True, metavar="TOOL")
    replay = dev_sub.add_parser("replay-node", help="serve recorded blocks as Bitcoin Core RPC + Esplora")
    replay.add_argument("paths", nargs="+", metavar="PATH")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=18443)
    replay.set_defaults(run=cmd_replay_node)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            home=args.home,
            database_url=args.database_url,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
        )
        verbose = args.verbose or args.command == "serve"  # the demo narrates on stdout itself
        tracer_logging.configure(settings.log_level if verbose else "WARNING")
        outcome = args.run(args, settings)
        return asyncio.run(outcome) if asyncio.iscoroutine(outcome) else int(outcome)
    except TracerError as exc:
        sys.stderr.write(f"tracer: {exc.code}: {exc.message}\n")
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in the log
        log.exception("unexpected error")
        sys.stderr.write(f"tracer: internal error: {type(exc).__name__}: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
