"""``tracer trace``: taint tracing from an address, a cluster or a transaction (as POST /v1/trace)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_trace(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.store.pool import open_pool
    from tracer.tracing import TraceParams, run_trace

    params = TraceParams.of(args)  # fails on bad input before starting a database
    async with open_pool(settings) as pool, pool.acquire() as conn:
        result = await run_trace(conn, args.chain, (args.start, args.target), params)
    if args.json:
        emit(result)
    else:
        sys.stdout.write(summary(result) + "\n")
    return 0


def summary(result: dict[str, Any]) -> str:
    start = result["start"]
    lines = [
        f"{result['direction']} {result['method']} trace from {start['kind']} {start['id']} "
        f"({start['amount']:,} {result['unit']} in {start['coins']} coins): "
        f"{len(result['flows'])} tainted coins"
        + (f"; TRUNCATED by {', '.join(result['truncated_by'])}" if result["truncated"] else "")
    ]
    for end in result["endpoints"][:10]:
        amount = f"{end['amount']:,}" + ("" if end["amount_known"] else " + unknown")
        lines.append(f"  {end['address'] or '(no address)'}: {amount} {result['unit']} at hops {end['hops']}")
    if result["unknown"]:
        lines.append(f"  {len(result['unknown'])} transactions with values or sources not indexed")
    return "\n".join(lines)


def register(sub: Subparsers) -> None:
    trace = sub.add_parser("trace", help="taint tracing (poison, haircut, FIFO) forward or backward")
    trace.add_argument("chain")
    trace.add_argument(
        "target", help="an address, a cluster id (--from cluster) or a txid (--from transaction)"
    )
    trace.add_argument(
        "--from", dest="start", choices=("address", "cluster", "transaction"), default="address"
    )
    trace.add_argument("--direction", choices=("forward", "backward"), default="forward")
    trace.add_argument("--method", choices=("poison", "haircut", "fifo"), default="haircut")
    trace.add_argument("--hops", type=int, default=3)
    trace.add_argument("--max-nodes", type=int, default=5000, help="tainted coins followed at most")
    trace.add_argument("--max-seconds", type=float, default=5.0, help="wall time at most")
    trace.add_argument("--min-amount", type=int, default=1, help="smaller taint (base units) is not followed")
    trace.add_argument(
        "--asset", help="ethereum/tron: the token contract to trace (default: the native coin, ETH or TRX)"
    )
    trace.add_argument("--json", action="store_true", help="print the trace JSON (same as the API)")
    trace.set_defaults(run=cmd_trace)
