"""Screening latency of single calls over HTTP (POST /v1/screen) on the bundled data, and bulk throughput.

Run: .venv/bin/python bench/screen.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

import aiohttp

from bench.common import FIXTURES, figure, scratch_settings
from tracer.api.server import start_server
from tracer.demo import load
from tracer.store.pool import open_pool

CALLS = 300
ADDRESSES = (
    "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d",  # sanctioned, 1 tx
    "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng",  # its payer: counterparty exposure
    "343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb",  # sanctioned, in a 3,804-address cluster
    "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # unknown
)


async def main() -> None:
    with scratch_settings() as scratch:
        settings = scratch.model_copy(update={"auth": "off"})  # latency of screening itself, no keys
        async with open_pool(settings) as pool:
            await load(pool, FIXTURES, out=lambda _text: None)
        runner, base = await start_server(settings)
        try:
            async with aiohttp.ClientSession() as http:
                for address in ADDRESSES:
                    latencies = []
                    for _ in range(CALLS // len(ADDRESSES)):
                        start = time.perf_counter()
                        async with http.post(
                            f"{base}/v1/screen", json={"chain": "bitcoin", "address": address}
                        ) as r:
                            await r.read()
                        latencies.append((time.perf_counter() - start) * 1000)
                    latencies.sort()
                    figure(f"screen {address[:12]}.. p50", statistics.median(latencies), "ms")
                    figure(f"screen {address[:12]}.. p95", latencies[int(len(latencies) * 0.95) - 1], "ms")
                bulk = [ADDRESSES[i % len(ADDRESSES)] for i in range(1000)]
                start = time.perf_counter()
                async with http.post(f"{base}/v1/screen", json={"chain": "bitcoin", "addresses": bulk}) as r:
                    await r.read()
                figure("bulk screen of 1,000 addresses", (time.perf_counter() - start), "s")
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
