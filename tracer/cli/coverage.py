"""``tracer coverage show [ID]``: what screening answers covered, in full (an answer carries its id)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings
from tracer.errors import InputError

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_coverage_show(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.screening import tenants_for
    from tracer.store.coverage import check_snapshot_id, current_snapshot, visible_snapshot
    from tracer.store.pool import open_pool

    wanted = None if args.id is None else check_snapshot_id(args.id)  # before starting a database
    tenants = tenants_for(args.tenant)
    async with open_pool(settings) as pool, pool.acquire() as conn:
        if wanted is None:
            found: dict[str, object] | None = await current_snapshot(conn, tenants)
        else:
            found = await visible_snapshot(conn, wanted, tenants)
    if found is None:
        raise InputError(f"no coverage {wanted} (an answer's coverage.id; see --tenant for private sources)")
    emit(found)
    return 0


def register(sub: Subparsers) -> None:
    coverage = sub.add_parser("coverage", help="what screening answers covered: chains, label sources, dates")
    actions = coverage.add_subparsers(dest="coverage_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="the current coverage, or the one an answer names by id")
    show.add_argument("id", nargs="?", help="an answer's coverage.id (default: the current coverage)")
    show.add_argument("--tenant", help="also this tenant's private label sources")
    show.set_defaults(run=cmd_coverage_show)
