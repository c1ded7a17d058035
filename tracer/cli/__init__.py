"""The ``tracer`` command line. Other tools script against it: keep commands and output stable.

Every command honours TRACER_HOME and TRACER_DATABASE_URL. Results go to stdout as JSON; errors print one
line on stderr and exit non-zero (2: bad input, 3: database, 4: node or source, 1: anything else).
One module per command family; each has ``register(sub)`` that adds its subcommands.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from tracer import logging as tracer_logging
from tracer.cli import (
    actors,
    audit,
    cluster,
    coverage,
    db,
    dev,
    export,
    index,
    keys,
    labels,
    screen,
    serve,
    trace,
    why,
)
from tracer.cli.common import exit_code
from tracer.config import Settings
from tracer.errors import TracerError

log = logging.getLogger("tracer.cli")

_COMMAND_MODULES = (
    db,
    index,
    cluster,
    why,
    labels,
    actors,
    screen,
    coverage,
    trace,
    serve,
    dev,
    keys,
    audit,
    export,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tracer", description="Crypto tracing, clustering and screening.")
    parser.add_argument("--home", help="data directory (env TRACER_HOME)")
    parser.add_argument("--database-url", help="PostgreSQL URL (env TRACER_DATABASE_URL); default: embedded")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            home=args.home,
            database_url=args.database_url,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=getattr(args, "api_workers", None),
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
