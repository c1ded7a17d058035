"""``tracer audit verify|export``: check the audit log's hash chain; export rows with their hashes."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import orjson

from tracer.cli.common import emit
from tracer.config import Settings
from tracer.store.errors import translate_errors
from tracer.store.pool import open_pool

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the chain holds; 1, naming the first changed or removed row, when it does not."""
    from tracer.store import audit  # imported when used: every other command's start-up would pay it

    async with open_pool(settings) as pool, translate_errors(), pool.acquire() as conn:
        verdict = await audit.verify(conn)
    emit(verdict.as_json())
    if verdict.first_break is not None:
        sys.stderr.write(f"tracer: audit chain broken: {verdict.first_break.problem}\n")
        return 1
    return 0


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """One JSON object a line (JSON Lines), in chain order, each with its prev_hash and hash."""
    from tracer.store import audit

    async with open_pool(settings) as pool, translate_errors():
        async for row in audit.iter_export(pool, start=args.start, end=args.end, tenant=args.tenant):
            sys.stdout.write(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    return 0


def _time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. +00:00 or Z")
    return parsed


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("audit", help="the audit log: verify its hash chain, export rows")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser(
        "verify", help="walk the chain; exit 1 naming the first changed or removed row"
    ).set_defaults(run=cmd_verify)
    export = actions.add_parser("export", help="rows with their hashes as JSON Lines")
    export.add_argument("--from", dest="start", type=_time, help="ISO 8601 time, inclusive")
    export.add_argument("--to", dest="end", type=_time, help="ISO 8601 time, exclusive")
    export.add_argument("--tenant", help="only this tenant's rows")
    export.set_defaults(run=cmd_export)
