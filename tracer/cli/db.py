"""``tracer db``: the embedded PostgreSQL server."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers
from tracer.errors import InputError
from tracer.store import embedded


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
        url = settings.database_url or embedded.start(settings.home)
        if args.json:
            emit({"url": url})
        else:  # bare, so that psql "$(tracer db url)" works
            sys.stdout.write(url + "\n")
    return 0


def register(sub: Subparsers) -> None:
    db = sub.add_parser("db", help="the embedded PostgreSQL server")
    db.add_argument("action", choices=["start", "stop", "status", "url"])
    db.add_argument("--json", action="store_true", help='url: print {"url": ...} instead of the bare URL')
    db.set_defaults(run=cmd_db)
