"""The generated mainnet-shaped chain the benchmarks run on; how it is made: ``tracer.devnode.chaingen``.

``python -m bench.chaingen --txs 1000000 --out DIR`` writes one to ``DIR/blk*.dat``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from tracer.devnode import chaingen
from tracer.devnode.chaingen import (
    DEFAULT_START_HEIGHT,
    SUBSIDY_SAT,
    generate_blocks,
    index_generated,
    write_blk_files,
)

__all__ = [
    "DEFAULT_START_HEIGHT",
    "SUBSIDY_SAT",
    "generate_blocks",
    "how_generated",
    "index_generated",
    "write_blk_files",
]


def how_generated() -> str:
    """The generator's description, for benchmarks to print ("say how")."""
    return chaingen.__doc__ or ""


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaingen", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--txs", type=int, default=100_000, help="transactions in all (coinbases included)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--txs-per-block", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True, help="directory for blk*.dat files")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = write_blk_files(args.out, generate_blocks(args.txs, args.seed, args.txs_per_block))
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {args.txs:,} txs in {len(paths)} file(s), {size / 1e6:,.1f} MB, in {seconds:,.1f} s")
    print(f"generation rate: {args.txs / seconds:,.0f} tx/s")


if __name__ == "__main__":
    _main()
