"""``tracer export cluster ID --format csv|json|graphml|gexf``: the same file GET /v1/clusters/{id}/export
gives, on stdout (or ``--out FILE``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.cli.common import bigint_id
from tracer.config import Settings
from tracer.errors import NotFound
from tracer.store.errors import translate_errors
from tracer.store.pool import open_pool

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers

FORMATS = ("csv", "json", "graphml", "gexf")


async def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.api.export import collect_cluster, render

    tenants = ("public",) if args.tenant in (None, "public") else ("public", args.tenant)
    async with open_pool(settings) as pool, translate_errors(), pool.acquire() as conn:
        export = await collect_cluster(conn, args.id, tenants)
    if export is None:
        raise NotFound(f"no cluster {args.id}")
    body = render(export, args.format)
    if args.out:
        await asyncio.to_thread(Path(args.out).write_bytes, body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    return 0


def register(sub: Subparsers) -> None:
    parser = sub.add_parser("export", help="export a cluster as CSV, JSON, GraphML or GEXF")
    what = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
    cluster = what.add_parser("cluster", help="members, labels and merge evidence (as edges) of a cluster")
    cluster.add_argument("id", type=bigint_id("cluster id"))
    cluster.add_argument("--format", choices=FORMATS, default="json")
    cluster.add_argument("--tenant", help="also include this tenant's private labels")
    cluster.add_argument("--out", help="write to this file instead of stdout")
    cluster.set_defaults(run=cmd_cluster)
