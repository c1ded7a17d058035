"""``tracer index bitcoin --metrics-port P``: the Prometheus endpoint answers while the indexer runs, with
the indexer's own counters (blocks, txs, write and node timings, tip lag)."""

from __future__ import annotations

import asyncio
import re
import signal
import time

import aiohttp
import pytest

from indexer.conftest import start_tracer
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode
from tracer.devnode.serving import free_port

DEADLINE_S = 120.0
_BLOCKS = re.compile(r'^tracer_index_blocks_total\{chain="bitcoin"\} (\S+)$', re.MULTILINE)


async def scrape_until_all_blocks(url: str, blocks: int) -> str:
    """Scrape ``url`` until it reports ``blocks`` written; that exposition."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        while time.monotonic() - started < DEADLINE_S:
            try:
                async with session.get(url) as response:
                    text = await response.text()
            except aiohttp.ClientError:  # not listening yet
                text = ""
            found = _BLOCKS.search(text)
            if found and float(found.group(1)) == blocks:
                return text
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never reported {blocks} blocks")


@pytest.mark.slow
async def test_metrics_endpoint_is_scraped_while_indexing(
    settings: Settings, chain_node: ReplayNode, chain_range: tuple[int, int]
) -> None:
    first, last = chain_range
    port = free_port()
    args = ["index", "bitcoin", "--rpc", chain_node.rpc_url, "--from", str(first), "--follow", "--batch", "1"]
    run = start_tracer(*args, "--poll-seconds", "0.1", "--metrics-port", str(port), settings=settings)
    try:
        text = await scrape_until_all_blocks(f"http://127.0.0.1:{port}/metrics", last - first + 1)
    finally:
        run.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(run.communicate, timeout=DEADLINE_S)
    assert run.returncode == 0, err
    assert 'tracer_index_txs_total{chain="bitcoin"} 9000.0' in text
    assert 'tracer_index_tip_lag_blocks{chain="bitcoin"} 0.0' in text
    for histogram in (
        "tracer_index_write_seconds",
        "tracer_index_node_seconds",
        "tracer_index_parse_seconds",
    ):
        assert f'{histogram}_count{{chain="bitcoin"}}' in text
