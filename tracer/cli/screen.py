"""``tracer screen``: the risk of one address, as the API answers it."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from tracer.cli.common import emit
from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers


async def cmd_screen(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.risk.screening import ScreeningOptions, parse_target, screen
    from tracer.store.pool import open_pool

    parse_target(args.chain, args.address)  # fail on bad input before starting a database
    options = ScreeningOptions.from_settings(settings, tenant=args.tenant)
    async with open_pool(settings) as pool:
        result = await screen(pool, args.chain, args.address, options)
    if args.json:
        emit(result)
    else:
        sys.stdout.write(summary(result) + "\n")
    return 0


def summary(result: dict[str, Any]) -> str:
    risk = result["risk"]
    lines = [f"{result['chain']} {result['address']}: {risk['level'].upper()} (score {risk['score']})"]
    if not result["known"]:
        lines.append("  not seen in indexed data or labels")
    else:
        lines.append(f"  cluster {result['cluster']['id']} ({result['cluster']['size']} addresses)")
    lines.extend(f"  - {reason['explanation']}" for reason in risk["reasons"])
    return "\n".join(lines)


def register(sub: Subparsers) -> None:
    screen = sub.add_parser("screen", help="screen an address")
    screen.add_argument("chain")
    screen.add_argument("address")
    screen.add_argument("--json", action="store_true", help="print the screening JSON (same as the API)")
    screen.add_argument("--tenant", help="also see this tenant's private labels (default: public lists only)")
    screen.set_defaults(run=cmd_screen)
