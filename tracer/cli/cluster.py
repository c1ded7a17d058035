"""``tracer cluster``: join addresses into wallets over all that is indexed; incremental."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.jobs.cluster import ClusterOptions, indexed_chains, run_clustering
    from tracer.store.pool import open_pool

    if args.heuristics == "list":
        emit(catalog_listing())
        return 0
    names = tuple(n.strip() for n in args.heuristics.split(",") if n.strip()) if args.heuristics else None
    options = ClusterOptions(heuristics=names, full=args.full, max_weak_size=args.max_weak_size)
    async with open_pool(settings) as pool:
        chains = [args.chain] if args.chain else await indexed_chains(pool)
        reports = [(await run_clustering(pool, chain, options)).as_dict() for chain in chains]
    emit(reports[0] if args.chain else {"chains": reports})
    return 0


def catalog_listing() -> list[dict[str, object]]:
    """Every heuristic with its chains, kind, default, source and published precision."""
    from heuristics.catalog import CATALOG

    return [
        {
            "heuristic": h.value,
            "chains": sorted(c.value for c in info.chains),
            "ownership": info.ownership,
            "weak": info.weak,
            "default": info.default,
            "source": info.source,
            "published_precision": info.precision,
        }
        for h, info in CATALOG.items()
    ]


def _with_catalog(parser: argparse.ArgumentParser) -> Callable[[], str]:
    """``parser.format_help`` that lists the heuristics first: the catalog imports every heuristic, which
    every other command's start-up (``tracer index``) would pay if the description were built here."""
    plain = parser.format_help

    def format_help() -> str:
        from heuristics.catalog import CATALOG

        parser.description = "Heuristics: " + "; ".join(
            f"{h.value} ({'default' if i.default else 'off by default'})" for h, i in CATALOG.items()
        )
        return plain()

    return format_help


def register(sub: Subparsers) -> None:
    cluster = sub.add_parser("cluster", help="cluster addresses over everything indexed (incremental)")
    cluster.format_help = _with_catalog(cluster)  # type: ignore[method-assign]
    cluster.add_argument("--chain", help="one chain (default: every indexed chain)")
    cluster.add_argument(
        "--heuristics",
        help="comma-separated heuristics to run (default: each chain's defaults); 'list' prints the "
        "catalog with each heuristic's source and published precision",
    )
    cluster.add_argument("--full", action="store_true", help="recompute from scratch instead of continuing")
    cluster.add_argument(
        "--max-weak-size",
        type=int,
        default=10_000,
        help="a weak heuristic never grows a cluster past this many members (default 10000)",
    )
    cluster.set_defaults(run=cmd_cluster)
