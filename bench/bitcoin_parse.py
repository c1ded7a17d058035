"""Raw-block parse rate on every bundled real mainnet block: tracer (compiled: mypyc-built parser modules and
the ``based58`` codec; and the pure-Python reference) against bitcoinlib (the peer in bench/ingest.py),
one core each, in one run.

Blocks: tests/fixtures/bitcoin/raw (blocks 1..255, 277647, 540107, 574200, 696394: 6,311 txs). Each parser
reads every block fully (txids, scripts, output addresses); the figure is the best of ``REPEATS`` passes,
in transactions per CPU second (per core). tracer's headline figure (and the ratio) is the parse straight to
flat rows (``parse_block_rows``), which is what the indexer's parse workers run; parsing to
``chains.model`` records (``parse_block_bytes``, the API of the library) is printed too.
Run from the project root: ``python -m bench.bitcoin_parse``; the last line is
``ratio: <tracer tx/s ÷ bitcoinlib tx/s>``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from bench.common import RAW_BLOCKS, figure
from chains.bitcoin import parse
from chains.bitcoin.compiled import is_compiled, load_pure
from chains.bitcoin.files import read_bytes, read_raw_blocks
from chains.bitcoin.parse import iter_blk_frames, parse_block_bytes, parse_block_rows
from chains.bitcoin.serial import double_sha256

REPEATS = 3


def bundled_blocks() -> list[tuple[bytes, int]]:
    """(serialized block, height) of every bundled raw block; heights found by the file reader."""
    heights = {b.hash: b.height for path in RAW_BLOCKS for b in read_raw_blocks(path)}
    pairs = []
    for path in RAW_BLOCKS:
        data = read_bytes(path)
        if path.name.endswith(".txt.gz"):
            frames = [bytes.fromhex(data.decode().strip())]
        elif path.name.endswith(".blk.gz"):
            frames = [data]
        else:
            frames = list(iter_blk_frames(data))
        pairs += [(raw, heights[double_sha256(raw[:80])[::-1].hex()]) for raw in frames]
    return pairs


def best_rate(parse: Callable[[bytes, int], int], blocks: list[tuple[bytes, int]]) -> float:
    """Transactions per CPU second of the fastest of ``REPEATS`` passes over ``blocks``.

    CPU time of this (single-threaded) process, i.e. tx/s per core: other work on a shared machine
    slows the wall clock but not this figure.
    """
    best = float("inf")
    txs = 0
    for _ in range(REPEATS):
        started = time.process_time()
        txs = sum(parse(raw, height) for raw, height in blocks)
        best = min(best, time.process_time() - started)
    return txs / best


def tracer_parse(raw: bytes, height: int) -> int:
    return len(parse_block_bytes(raw, height).txs)


def tracer_parse_rows(raw: bytes, height: int) -> int:
    """What the indexer's parse workers run: the same parse straight to flat rows, no records."""
    return len(parse_block_rows(raw, height)[4])


def bitcoinlib_parse(raw: bytes, height: int) -> int:
    from bitcoinlib.blocks import Block as PeerBlock

    return len(PeerBlock.parse_bytes(raw, height=height, parse_transactions=True).transactions)


def main() -> None:
    blocks = bundled_blocks()
    figure("bundled blocks", len(blocks), "blocks")
    figure("bundled transactions", sum(tracer_parse(raw, h) for raw, h in blocks), "txs")
    ours = best_rate(tracer_parse_rows, blocks)
    records = best_rate(tracer_parse, blocks)
    reference = load_pure()
    pure_parse = reference["parse"].parse_block_bytes
    with reference["address"].pure_python_codecs():
        pure = best_rate(lambda raw, height: len(pure_parse(raw, height).txs), blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = best_rate(bitcoinlib_parse, blocks)
    label = "compiled" if is_compiled(parse) else "NOT compiled: run scripts/bootstrap"
    figure(f"tracer parse to rows, as the indexer does ({label})", ours, "tx/s per core")
    figure(f"tracer parse to chains.model records ({label})", records, "tx/s per core")
    figure("tracer parse (pure-Python reference)", pure, "tx/s per core")
    figure("bitcoinlib parse", peer, "tx/s per core")
    print(f"ratio: {ours / peer:.2f}")


if __name__ == "__main__":
    main()
