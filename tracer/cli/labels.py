"""``tracer labels``: address labels and their sources."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_labels_import(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.labels import import_labels
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        report = await import_labels(pool, Path(args.path), tenant=args.tenant)
    emit(report.as_dict())
    return 0


def register(sub: Subparsers) -> None:
    labels = sub.add_parser("labels", help="address labels")
    labels_sub = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")
    labels_import = labels_sub.add_parser("import", help="import a label file or directory (format detected)")
    labels_import.add_argument("path")
    labels_import.add_argument("--tenant", default="public", help="owner of private labels")
    labels_import.set_defaults(run=cmd_labels_import)
