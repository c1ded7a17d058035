"""``tracer dev``: developer tools (the replay node of recorded blocks)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tracer.config import Settings
from tracer.errors import InputError

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_replay_node(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.devnode.bitcoin_replay import ReplayNode, run_replay_node
    from tracer.devnode.bitcoin_store import ReplayStore
    from tracer.devnode.chaingen import generate_blocks
    from tracer.devnode.faults import FaultPlan, ReorgPlan

    if not args.paths and not args.generate:
        raise InputError("give block files or directories to serve, or --generate N")
    if (args.rpc_user is None) != (args.rpc_password is None):
        raise InputError("--rpc-user and --rpc-password go together")
    try:
        kinds = tuple(k.strip() for k in args.faults.split(",") if k.strip())
        faults = (
            FaultPlan(args.fault_rate, kinds, args.fault_seed, args.stall_seconds)
            if args.fault_rate
            else None
        )
        reorg = ReorgPlan(args.reorg_depth, args.reorg_after) if args.reorg_depth else None
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    store = None
    if args.generate:
        blocks = generate_blocks(args.generate, args.seed, args.txs_per_block)
        store = await asyncio.to_thread(ReplayStore.from_raw_blocks, blocks)

    def announce(node: ReplayNode) -> None:
        line = {"rpc_url": node.rpc_url, "esplora_url": node.esplora_url, "tip": node.tip}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")  # one line: scripts read it to find the node
        sys.stdout.flush()

    auth = (args.rpc_user, args.rpc_password) if args.rpc_user is not None else None
    await run_replay_node(
        [Path(p) for p in args.paths], host=args.host, port=args.port, announce=announce, auth=auth,
        faults=faults, reorg=reorg, store=store,
    )  # fmt: skip
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, not {value}")
    return value


def register(sub: Subparsers) -> None:
    dev = sub.add_parser("dev", help="developer tools")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True, metavar="TOOL")
    replay = dev_sub.add_parser("replay-node", help="serve recorded blocks as Bitcoin Core RPC + Esplora")
    replay.add_argument("paths", nargs="*", metavar="PATH", help="block files or directories to serve")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=18443)
    replay.add_argument("--rpc-user", help="require basic auth on JSON-RPC (with --rpc-password)")
    replay.add_argument("--rpc-password")
    gen = replay.add_argument_group("generated chain (tracer.devnode.chaingen)")
    gen.add_argument("--generate", type=_positive, metavar="TXS", help="serve a generated chain of TXS txs")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--txs-per-block", type=_positive, default=2000)
    bad = replay.add_argument_group("fault injection (tracer.devnode.faults)")
    bad.add_argument("--fault-rate", type=_rate, default=0.0, help="share of RPC requests that fail (0..1)")
    bad.add_argument("--faults", default="500,503,cut,drop,stall", help="kinds to draw from, comma-separated")
    bad.add_argument("--fault-seed", type=int, default=1)
    bad.add_argument("--stall-seconds", type=float, default=30.0)
    bad.add_argument(
        "--reorg-depth", type=_positive, help="serve a stale branch of this many top blocks first"
    )
    bad.add_argument(
        "--reorg-after", type=int, default=100, help="RPC requests before the reorg (default 100)"
    )
    replay.set_defaults(run=cmd_replay_node)
