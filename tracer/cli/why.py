"""``tracer why CHAIN A B [--json]``: why two addresses are in one cluster, merge by merge."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_why(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.clustering.why import parse_pair, why
    from tracer.store.errors import translate_errors
    from tracer.store.pool import open_pool

    chain, a, b = parse_pair(args.chain, args.a, args.b)
    async with open_pool(settings) as pool, translate_errors(), pool.acquire() as conn:
        result = await why(conn, chain, a, b)
    if args.json:
        emit(result)
    else:
        sys.stdout.write(describe(a, b, result))
    return 0


def describe(a: str, b: str, result: dict[str, object]) -> str:
    cluster = result["cluster"]
    if not result["linked"]:
        return f"{a} and {b} are not linked\n"
    steps = result["path"]
    assert isinstance(cluster, dict) and isinstance(steps, list)
    lines = [
        f"{a} and {b} are in cluster {cluster['id']} ({cluster['size']} addresses), {len(steps)} merges:"
    ]
    for n, step in enumerate(steps, 1):
        lines.append(
            f"  {n}. {step['from']} -> {step['to']}: {step['heuristic']} ({step['confidence']}) "
            f"in tx {step['txid']}, block {step['block']}"
        )
        lines.extend(f"       - {condition}" for condition in step["conditions"])
    return "\n".join(lines) + "\n"


def register(sub: Subparsers) -> None:
    why = sub.add_parser("why", help="the chain of merges that puts two addresses in one cluster")
    why.add_argument("chain")
    why.add_argument("a", metavar="A")
    why.add_argument("b", metavar="B")
    why.add_argument("--json", action="store_true", help="the answer as JSON (the API's shape)")
    why.set_defaults(run=cmd_why)
