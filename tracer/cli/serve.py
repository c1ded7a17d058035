"""``tracer serve`` and ``tracer demo``: the API, alone or over the bundled real data."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from tracer.config import Settings

if TYPE_CHECKING:
    from tracer.cli.common import Subparsers

EXIT_SIGTERM = 128 + signal.SIGTERM  # the shell's convention for "ended by SIGTERM"
DEFAULT_DEMO_DATA = Path(__file__).resolve().parent.parent.parent / "tests" / "fixtures"


async def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.api.server import serve_forever
    from tracer.api.workers import serve_workers

    await (serve_workers(settings) if settings.workers > 1 else serve_forever(settings))
    return 0


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tracer.demo import run_demo

    if "TRACER_AUTH" not in os.environ:  # the demo is one user on their own machine, and says so
        settings = settings.model_copy(update={"auth": "off"})
    # SIGTERM cancels the demo like Ctrl-C does, so it stops what it started (run_demo) before exiting.
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    assert task is not None
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await run_demo(settings, data_dir=Path(args.data), serve=not args.no_serve)
    except asyncio.CancelledError:
        return EXIT_SIGTERM
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    return 0


def register(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="serve the REST API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        dest="api_workers",
        help="API processes sharing the port (env TRACER_WORKERS; default 1)",
    )
    serve.set_defaults(run=cmd_serve)

    demo = sub.add_parser("demo", help="index the bundled real data, cluster, import labels, serve the API")
    demo.add_argument("--data", default=str(DEFAULT_DEMO_DATA), help="bundled data directory")
    demo.add_argument("--port", type=int)
    demo.add_argument("--no-serve", action="store_true", help="stop after loading and the example screening")
    demo.set_defaults(run=cmd_demo)
