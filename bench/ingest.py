"""Ingest rate on the bundled mainnet blocks: parse only (ours vs bitcoinlib, the peer), then parse + COPY
into PostgreSQL from files, and fetch + parse + write through the replay node's JSON-RPC.

Run: .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import asyncio
import gzip
import warnings

from bench.common import FIXTURES, RAW_BLOCKS, figure, scratch_pool, timed
from chains.bitcoin.files import read_raw_blocks
from chains.bitcoin.parse import parse_block_bytes
from tracer.devnode.bitcoin_replay import serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.jobs.follow import contiguous_runs, index_from_node
from tracer.jobs.index import index_files

PEER_BLOCK = (
    FIXTURES
    / "bitcoin/raw/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk.gz"
)


def parse_versus_bitcoinlib() -> None:
    raw = gzip.decompress(PEER_BLOCK.read_bytes())  # block 574200, 3,315 transactions
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from bitcoinlib.blocks import Block as PeerBlock

        with timed() as peer:
            PeerBlock.parse_bytes(raw, parse_transactions=True)
    with timed() as ours:
        block = parse_block_bytes(raw)
    figure("parse block 574200, tracer (s)", ours[0], "s")
    figure("parse block 574200, bitcoinlib (s)", peer[0], "s")
    figure("parse speed-up over bitcoinlib", peer[0] / ours[0], "x")
    figure("parse rate, tracer", len(block.txs) / ours[0], "tx/s")


async def ingest() -> None:
    blocks = sum(len(read_raw_blocks(p)) for p in RAW_BLOCKS)
    async with scratch_pool() as pool:
        with timed() as files:
            report = await index_files(pool, RAW_BLOCKS, kind="raw")
        figure("files -> PostgreSQL, blocks", report.blocks, "blocks")
        figure("files -> PostgreSQL, txs", report.txs, "txs")
        figure("files -> PostgreSQL", report.blocks / files[0], "blocks/s")
        figure("files -> PostgreSQL", report.txs / files[0], "tx/s")
    store = ReplayStore.from_paths(RAW_BLOCKS)
    async with scratch_pool() as pool, serve_replay(store) as node:
        heights = sorted(store.by_height)
        txs = 0
        with timed() as rpc:
            for start, stop in contiguous_runs(heights):
                txs += (await index_from_node(pool, rpc_url=node.rpc_url, start=start, stop=stop)).txs
        figure("JSON-RPC -> PostgreSQL", blocks / rpc[0], "blocks/s")
        figure("JSON-RPC -> PostgreSQL", txs / rpc[0], "tx/s")


if __name__ == "__main__":
    parse_versus_bitcoinlib()
    asyncio.run(ingest())
