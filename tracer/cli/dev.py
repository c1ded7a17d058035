"""``tracer dev``: developer tools (the replay node of recorded blocks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_replay_node(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.devnode.bitcoin_replay import ReplayNode, run_replay_node

    def announce(node: ReplayNode) -> None:
        line = {"rpc_url": node.rpc_url, "esplora_url": node.esplora_url, "tip": node.tip}
        sys.stdout.write(orjson.dumps(line).decode() + "\n")  # one line: scripts read it to find the node
        sys.stdout.flush()

    await run_replay_node([Path(p) for p in args.paths], host=args.host, port=args.port, announce=announce)
    return 0


def register(sub: Subparsers) -> None:
    dev = sub.add_parser("dev", help="developer tools")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True, metavar="TOOL")
    replay = dev_sub.add_parser("replay-node", help="serve recorded blocks as Bitcoin Core RPC + Esplora")
    replay.add_argument("paths", nargs="+", metavar="PATH")
    replay.add_argument("--host", default="127.0.0.1")
    replay.add_argument("--port", type=int, default=18443)
    replay.set_defaults(run=cmd_replay_node)
