"""``tracer labels``: import label lists as named sources; list, show and delete them."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings
from tracer.errors import InputError

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers

_MAX_LIST = 10_000


async def cmd_labels_import(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.labels import ImportOptions, import_labels
    from tracer.store.pool import open_pool

    options = ImportOptions(
        tenant=args.tenant,
        source=args.source,
        replace=args.replace,
        licence=args.licence,
        as_of=_date(args.as_of) if args.as_of else None,
    )
    async with open_pool(settings) as pool:
        report = await import_labels(pool, Path(args.path), options)
    emit(report.as_dict())
    return 0


async def cmd_labels_sources(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.store.labels import sources
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        found = await sources(pool, args.tenant)
    emit({"sources": [s.as_json() for s in found], "count": len(found)})
    return 0


async def cmd_labels_list(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.screening import tenants_for
    from tracer.store.labels import LabelFilter, find_labels
    from tracer.store.pool import open_pool

    if not 1 <= args.limit <= _MAX_LIST or args.offset < 0:
        raise InputError(f"--limit must be 1..{_MAX_LIST} and --offset >= 0")
    where = LabelFilter(
        tenants=tenants_for(args.tenant),
        source=args.source,
        chain=args.chain,
        category=args.category,
        limit=args.limit,
        offset=args.offset,
    )
    async with open_pool(settings) as pool:
        rows = await find_labels(pool, where)
    emit({"labels": rows, "count": len(rows), "limit": args.limit, "offset": args.offset})
    return 0


async def cmd_labels_show(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.labels.records import parse_address
    from tracer.risk.screening import tenants_for
    from tracer.store.labels import LabelFilter, find_labels
    from tracer.store.pool import open_pool

    chain, address = parse_address(args.chain, args.address)
    where = LabelFilter(tenants=tenants_for(args.tenant), chain=chain.value, address=address, limit=_MAX_LIST)
    async with open_pool(settings) as pool:
        rows = await find_labels(pool, where)
    emit({"chain": chain.value, "address": address, "labels": rows, "count": len(rows)})
    return 0


async def cmd_labels_delete(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.labels.records import check_tenant
    from tracer.store.exposure_refresh import refresh_exposure
    from tracer.store.labels import LABEL_TABLES, delete_source
    from tracer.store.pool import open_pool, refresh_statistics

    check_tenant(args.tenant)
    async with open_pool(settings) as pool:
        removed = await delete_source(pool, args.tenant, args.name)
        if removed is None:
            raise InputError(f"no label source '{args.name}' in tenant '{args.tenant}'")
        await refresh_statistics(pool, LABEL_TABLES)
        await refresh_exposure(pool)  # the deleted labels' actors leave the precomputed exposure
    emit({"deleted": args.name, "tenant": args.tenant, "labels": removed})
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--as-of must be a date YYYY-MM-DD, got {text[:40]!r}") from None


def register(sub: Subparsers) -> None:
    labels = sub.add_parser("labels", help="address labels and their sources")
    actions = labels.add_subparsers(dest="labels_command", required=True, metavar="ACTION")

    imp = actions.add_parser("import", help="import a label file or directory (format detected)")
    imp.add_argument("path")
    imp.add_argument("--tenant", default="public", help="owner of private labels (default: public)")
    imp.add_argument("--source", help="name of the source (default: the file's name, or its earlier import)")
    imp.add_argument(
        "--replace", metavar="NAME", help="replace source NAME, even from another or smaller file"
    )
    imp.add_argument("--licence", help="licence of the list (default: what the file or its LICENSE says)")
    imp.add_argument("--as-of", help="date the list is as of, YYYY-MM-DD (default: what the file says)")
    imp.set_defaults(run=cmd_labels_import)

    src = actions.add_parser("sources", help="label sources with their provenance")
    src.add_argument("--tenant", help="only this tenant's sources (default: all)")
    src.set_defaults(run=cmd_labels_sources)

    lst = actions.add_parser("list", help="labels, filtered")
    lst.add_argument("--tenant", help="also this tenant's private labels (default: public only)")
    lst.add_argument("--source", help="only labels of this source")
    lst.add_argument("--chain")
    lst.add_argument("--category")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)
    lst.set_defaults(run=cmd_labels_list)

    show = actions.add_parser("show", help="the labels of one address")
    show.add_argument("chain")
    show.add_argument("address")
    show.add_argument("--tenant", help="also this tenant's private labels (default: public only)")
    show.set_defaults(run=cmd_labels_show)

    delete = actions.add_parser("delete", help="delete a label source and its labels")
    delete.add_argument("name")
    delete.add_argument("--tenant", default="public")
    delete.set_defaults(run=cmd_labels_delete)
