"""``tracer cluster``: join addresses into wallets over everything indexed."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.cluster import run_clustering
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        report = await run_clustering(pool, args.chain)
    emit(report.as_dict())
    return 0


def register(sub: Subparsers) -> None:
    cluster = sub.add_parser("cluster", help="cluster addresses over everything indexed (idempotent)")
    cluster.add_argument("--chain", default="bitcoin", choices=["bitcoin"])
    cluster.set_defaults(run=cmd_cluster)
