"""``tracer actors``: who controls labelled addresses, as the shipped sources name them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings
from tracer.errors import InputError

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers

_MAX_LIST = 10_000


async def cmd_actors_list(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.categories import ACTOR_CATEGORIES
    from tracer.risk.screening import tenants_for
    from tracer.store.actors import list_actors
    from tracer.store.pool import open_pool

    if args.category is not None and args.category not in {c.value for c in ACTOR_CATEGORIES}:
        known = ", ".join(c.value for c in ACTOR_CATEGORIES)
        raise InputError(f"unknown actor category {args.category[:40]!r}; one of: {known}")
    if not 1 <= args.limit <= _MAX_LIST or args.offset < 0:
        raise InputError(f"--limit must be 1..{_MAX_LIST} and --offset >= 0")
    async with open_pool(settings) as pool:
        rows = await list_actors(
            pool,
            tenants=tenants_for(args.tenant),
            category=args.category,
            query=args.query,
            limit=args.limit,
            offset=args.offset,
        )
    emit({"actors": rows, "count": len(rows), "limit": args.limit, "offset": args.offset})
    return 0


async def cmd_actors_show(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.screening import tenants_for
    from tracer.store.actors import actor_detail, actor_id_of
    from tracer.store.pool import open_pool

    async with open_pool(settings) as pool:
        actor_id = await actor_id_of(pool, args.actor)
        detail = (
            None if actor_id is None else await actor_detail(pool, actor_id, tenants=tenants_for(args.tenant))
        )
    if detail is None:
        raise InputError(f"no actor {args.actor[:80]!r} (give its id or key, e.g. graphsense:lazarusgroup)")
    emit(detail)
    return 0


def register(sub: Subparsers) -> None:
    actors = sub.add_parser("actors", help="actors: who controls labelled addresses")
    actions = actors.add_subparsers(dest="actors_command", required=True, metavar="ACTION")
    lst = actions.add_parser("list", help="actors, filtered")
    lst.add_argument("--category", help="sanctioned, scam_centre, money_laundering, mixer, ransomware, ...")
    lst.add_argument("--query", help="part of a name or alias")
    lst.add_argument("--limit", type=int, default=100)
    lst.add_argument("--offset", type=int, default=0)
    lst.add_argument("--tenant", help="also list this tenant's own actors (from its private label files)")
    lst.set_defaults(run=cmd_actors_list)
    show = actions.add_parser("show", help="one actor: designations, labelled addresses")
    show.add_argument("actor", help="its id or key")
    show.add_argument("--tenant", help="also this tenant's own actors and private labels")
    show.set_defaults(run=cmd_actors_show)
