"""Load on single-address screening: tracer's API (keys and audit on) against the floor, in one run.

The floor is a bare aiohttp handler doing one indexed select on the same database with the same pool
settings: what any screening API on this stack costs at least. Each server runs in its own process; the
load client runs in a third process (so it uses at most one core), at several concurrencies, each for
``--duration`` seconds. Requests are a realistic mix: unknown addresses, ordinary known ones, and members
of the largest cluster. Then one bulk request of 10,000 addresses. The last line is
``ratio: <tracer's peak rps / the floor's peak rps>``.

Run: .venv/bin/python -m bench.screen_load [--duration 20] [--concurrency 1,2,4,8,16,64] [--workers 1]

``--workers N`` serves both sides with N processes on one port (SO_REUSEPORT): ``tracer serve --workers N``
and N floor processes, so the ratio compares like with like.

Little's law sets which levels can meet "p99 < 10 ms at >= 2,000 rps": concurrency = rps x latency, so
2,000 rps at a few ms each is a concurrency of about 4-16; at 64 requests queue (64 / 2,000 rps = 32 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import orjson
from aiohttp import web

from bench.common import FIXTURES, scratch_settings
from bench.proc_cpu import cpu_since, postmaster_pid, tree_cpu_seconds
from chains.bitcoin.address import p2pkh_address, segwit_address
from tracer.config import Settings
from tracer.demo import load
from tracer.devnode.serving import free_port
from tracer.store.keys import Role, create_key
from tracer.store.pool import open_pool

MIX = {"unknown": 0.4, "known": 0.4, "largest_cluster": 0.2}  # share of requests per kind
ADDRESSES_PER_KIND = 2000
BULK_SIZE = 10_000
_FLOOR_SELECT = "SELECT id FROM addresses WHERE chain = $1 AND address = $2"
FLOOR_READY = b"floor listening"


# --- the floor: one indexed select behind a bare aiohttp handler --------------------------------------


def floor_app(settings: Settings) -> web.Application:
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def screen(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        found = await request.app[pool_key].fetchval(_FLOOR_SELECT, body["chain"], body["address"])
        return web.Response(body=orjson.dumps({"known": found is not None}), content_type="application/json")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(body=b'{"status": "ok"}', content_type="application/json")

    async def database(app: web.Application) -> AsyncIterator[None]:
        # the same pool settings as tracer (no reset query on release)
        async with open_pool(settings, run_migrations=False, reset_sessions=False) as pool:
            app[pool_key] = pool
            yield

    app = web.Application()
    app.router.add_post("/v1/screen", screen)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(database)
    return app


# --- the load client ------------------------------------------------------------------------------------


async def run_client(
    url: str, key: str, addresses: list[str], concurrency: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [orjson.dumps({"chain": "bitcoin", "address": a}) for a in addresses]
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while (start := time.perf_counter()) < deadline:
                async with http.post(url, data=bodies[i % len(bodies)]) as resp:
                    await resp.read()
                    if resp.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - start)
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": 1000 * statistics.median(latencies),
        "p95": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
        "p99": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": errors,
        "requests": len(latencies),
    }


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    url: str
    key: str
    addresses_file: Path  # JSON list of the mixed addresses the client cycles through
    servers: list[int]  # pids of the side's server processes (their workers are counted with them)
    postgres: int | None  # the database server's pid, when it runs here


def load_level(target: Target, concurrency: int, seconds: float) -> dict[str, float]:
    """One level, measured by a separate client process (one core at most), with the CPU the side's server
    processes and the database used per request."""
    server_before = tree_cpu_seconds(target.servers)
    database_before = tree_cpu_seconds([target.postgres]) if target.postgres else {}
    result = subprocess.run(
        [sys.executable, "-m", "bench.screen_load", "--client", target.url, "--key", target.key,
         "--addresses", str(target.addresses_file), "--concurrency", str(concurrency),
         "--duration", str(seconds)],
        capture_output=True, check=True, timeout=seconds * 4 + 60,
    )  # fmt: skip
    figures: dict[str, float] = orjson.loads(result.stdout)
    requests = max(figures["requests"], 1)
    figures["server_cpu_ms"] = 1000 * cpu_since(server_before, tree_cpu_seconds(target.servers)) / requests
    if target.postgres:
        database_cpu = cpu_since(database_before, tree_cpu_seconds([target.postgres]))
        figures["database_cpu_ms"] = 1000 * database_cpu / requests
    return figures


# --- set-up: data, addresses, servers ------------------------------------------------------------------


def unknown_addresses(count: int) -> list[str]:
    """Valid mainnet addresses of random keys: in no block and no list."""
    rng = random.Random(7)
    out = []
    for n in range(count):
        program = rng.randbytes(20)
        out.append(segwit_address(0, program) if n % 2 else p2pkh_address(program))
    return out


async def pick_addresses(pool: asyncpg.Pool) -> dict[str, list[str]]:
    largest = await pool.fetchval(
        "SELECT id FROM clusters WHERE chain = 'bitcoin' ORDER BY size DESC LIMIT 1"
    )
    members = await pool.fetch(
        "SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id"
        " WHERE ac.cluster_id = $1 ORDER BY random() LIMIT $2",
        largest,
        ADDRESSES_PER_KIND,
    )
    known = await pool.fetch(
        "SELECT a.address FROM addresses a LEFT JOIN address_clusters ac ON ac.address_id = a.id"
        " WHERE a.chain = 'bitcoin' AND ac.cluster_id IS DISTINCT FROM $1 ORDER BY random() LIMIT $2",
        largest,
        ADDRESSES_PER_KIND,
    )
    return {
        "unknown": unknown_addresses(ADDRESSES_PER_KIND),
        "known": [r["address"] for r in known],
        "largest_cluster": [r["address"] for r in members],
    }


def mixed(kinds: dict[str, list[str]], count: int) -> list[str]:
    rng = random.Random(11)
    names = list(MIX)
    return [rng.choice(kinds[rng.choices(names, [MIX[n] for n in names])[0]]) for _ in range(count)]


@contextlib.contextmanager
def server_process(args: list[str], env: dict[str, str], log: Path) -> Iterator[int]:
    """A server process (its pid) until the block ends, then SIGTERM."""
    # Output to a file, never an unread pipe: a server that logs would block once the pipe is full.
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_logged(logs: list[Path], marker: bytes) -> None:
    """Until every log says ``marker`` (every process listens: a load level must not start on fewer)."""
    for _ in range(1200):
        if all(marker in log.read_bytes() for log in logs):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"servers did not come up: {[log.read_bytes()[-500:] for log in logs]}")


async def wait_until_up(base: str) -> None:
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"{base}/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base} did not come up")


async def bulk_seconds(url: str, key: str, addresses: list[str]) -> list[float]:
    body = orjson.dumps({"chain": "bitcoin", "addresses": addresses})
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    timings = []
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=120)) as http:
        for _ in range(3):
            start = time.perf_counter()
            async with http.post(url, data=body) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"bulk screening answered {resp.status}: {(await resp.text())[:200]}")
            timings.append(time.perf_counter() - start)
    return timings


def report(name: str, concurrency: int, figures: dict[str, float]) -> None:
    print(
        f"{name:6} concurrency {concurrency:3}: {figures['rps']:8,.0f} rps  p50 {figures['p50']:6.2f} ms"
        f"  p95 {figures['p95']:6.2f} ms  p99 {figures['p99']:6.2f} ms  errors {int(figures['errors'])}"
        f"  cpu/request: server {figures['server_cpu_ms']:.3f} ms"
        + (f", database {figures['database_cpu_ms']:.3f} ms" if "database_cpu_ms" in figures else ""),
        flush=True,
    )


async def measure(args: argparse.Namespace) -> None:
    levels = [int(c) for c in args.concurrency.split(",")]
    with scratch_settings() as settings:
        async with open_pool(settings) as pool:
            await load(pool, FIXTURES, out=lambda _text: None)
            # Settle the database once (autovacuum would otherwise run during the first side's levels)
            await pool.execute("VACUUM (ANALYZE)")
            kinds = await pick_addresses(pool)
            _, key = await create_key(pool, Role.SCREENING, "public", 1_000_000)
        print(
            f"mix: {', '.join(f'{MIX[k]:.0%} {k} ({len(v)} addresses)' for k, v in kinds.items())}; "
            f"{args.duration:g} s per level; load client: one process; server processes per side: "
            f"{args.workers}; {os.cpu_count()} cores, shared",
            flush=True,
        )
        addresses_file = Path(settings.home) / "addresses.json"
        addresses_file.write_bytes(orjson.dumps(mixed(kinds, 20_000)))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
        env |= {"TRACER_DATABASE_URL": str(settings.database_url), "TRACER_LOG_LEVEL": "WARNING"}
        peaks: dict[str, float] = {}
        tracer_port, floor_port = free_port(), free_port()
        home = Path(settings.home)
        serve = ["-m", "tracer.cli", "serve", "--port", str(tracer_port), "--workers", str(args.workers)]
        postgres = postmaster_pid(home / "pg")
        with server_process(serve, env | {"TRACER_LOG_LEVEL": "INFO"}, home / "tracer.log") as tracer_pid:
            await wait_logged([home / "tracer.log"], b'"workers":' if args.workers > 1 else b'"serving"')
            await wait_until_up(f"http://127.0.0.1:{tracer_port}")
            url = f"http://127.0.0.1:{tracer_port}/v1/screen"
            tracer = Target("tracer", url, key, addresses_file, [tracer_pid], postgres)
            peaks["tracer"] = run_levels(tracer, levels, args.duration)
            bulk = await bulk_seconds(url, key, mixed(kinds, BULK_SIZE))
            best, median = min(bulk), statistics.median(bulk)
            print(
                f"tracer bulk {BULK_SIZE:,} addresses: best {best:.3f} s, median {median:.3f} s", flush=True
            )
        floor_logs = [home / f"floor{n}.log" for n in range(args.workers)]
        floor = ["-m", "bench.screen_load", "--floor", str(floor_port), "--workers", str(args.workers)]
        with contextlib.ExitStack() as floors:
            floor_pids = [floors.enter_context(server_process(floor, env, log)) for log in floor_logs]
            await wait_logged(floor_logs, FLOOR_READY)
            await wait_until_up(f"http://127.0.0.1:{floor_port}")
            url = f"http://127.0.0.1:{floor_port}/v1/screen"
            floor_side = Target("floor", url, key, addresses_file, floor_pids, postgres)
            peaks["floor"] = run_levels(floor_side, levels, args.duration)
    print(f"peak rps: tracer {peaks['tracer']:,.0f}, floor {peaks['floor']:,.0f}")
    print(f"ratio: {peaks['tracer'] / peaks['floor']:.2f}")


def run_levels(target: Target, levels: list[int], seconds: float) -> float:
    peak = 0.0
    for concurrency in levels:
        figures = load_level(target, concurrency, seconds)
        report(target.name, concurrency, figures)
        peak = max(peak, figures["rps"])
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per concurrency level")
    parser.add_argument("--concurrency", default="1,2,4,8,16,64", help="comma-separated levels")
    parser.add_argument("--workers", type=int, default=1, help="server processes on each side")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: run the load client against URL
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--addresses", help=argparse.SUPPRESS)
    parser.add_argument("--floor", type=int, help=argparse.SUPPRESS)  # internal: serve the floor on PORT
    args = parser.parse_args()
    if args.client:
        addresses = orjson.loads(Path(args.addresses).read_bytes())
        figures = asyncio.run(
            run_client(args.client, args.key, addresses, int(args.concurrency), args.duration)
        )
        sys.stdout.write(orjson.dumps(figures).decode())
    elif args.floor:
        web.run_app(
            floor_app(Settings.from_env()),
            host="127.0.0.1",
            port=args.floor,
            reuse_port=args.workers > 1,  # the floor's processes share the port as tracer's workers do
            print=lambda _text: print(FLOOR_READY.decode(), flush=True),
            access_log=None,
        )
    else:
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
