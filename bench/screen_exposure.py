"""Screening latency on a generated mainnet-shaped chain: the old live walk vs the precomputed exposure read.

Run: .venv/bin/python -m bench.screen_exposure [--txs 1000000]

1. generate a chain with bench.chaingen and index it through the file indexer;
2. cluster (common-input), then import a label list (synthetic actors on real addresses of that chain: the
   busiest wallets and random ones) through the label import job, which refreshes the exposure;
3. screen random addresses and the busiest ones (most transactions, and the busiest member of the largest
   cluster) by the OLD path (the live queries screening ran before exposure was precomputed: every member of
   the cluster for labels, every counterparty and its cluster, the activity sums) and by the NEW path
   (``screen_on``: a fixed number of index reads), on one connection, one after the other;
4. a set-based bulk screen (``screen_many``) of 10,000 addresses.

Latencies are wall-clock per call on a direct connection (no HTTP). The last line is
``ratio: <old p99 / new p99>`` over all sampled addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import asyncpg

from bench.chaingen import index_generated
from bench.common import figure, scratch_settings, timed
from chains.model import Chain
from tracer.api.responses import encode
from tracer.config import Settings
from tracer.jobs.cluster import run_clustering
from tracer.jobs.labels import import_labels
from tracer.risk.screening import ScreeningOptions, screen_many, screen_on
from tracer.store import embedded
from tracer.store.exposure_refresh import refresh_exposure
from tracer.store.pool import open_pool

TARGET_P99_MS = 10.0  # issue 6: p99 < 10 ms for any address of a 1M-transaction chain
BULK_TARGET_S = 1.0  # issue 10: 10,000 addresses in one request < 1 s
_CATEGORIES = ("sanctioned", "scam_centre;pig_butchering", "mixer", "ransomware", "exchange")

# The old path, as tracer/store/screening.py ran it before exposure was precomputed (commit d45c954).
_OLD_ADDRESS = """
SELECT a.id, COALESCE(ac.cluster_id, a.id) AS cluster_id FROM addresses a
LEFT JOIN address_clusters ac ON ac.address_id = a.id WHERE a.chain = $1 AND a.address = $2
"""
_OLD_LABELS_OF_TARGETS = """,
hits AS MATERIALIZED (
    SELECT l.* FROM targets t
    CROSS JOIN LATERAL (SELECT * FROM labels x WHERE x.address_id = t.address_id
                        AND x.tenant = ANY($1::text[]) OFFSET 0) l)
SELECT l.address_id, (SELECT a.address FROM addresses a WHERE a.id = l.address_id) AS address,
       COALESCE((SELECT ac.cluster_id FROM address_clusters ac WHERE ac.address_id = l.address_id),
                l.address_id) AS cluster_id, l.label, l.category,
       (SELECT s.title FROM label_sources s WHERE s.id = l.source_id) AS source
FROM hits l ORDER BY l.address_id, l.id
"""
_OLD_CLUSTER_LABELS = (
    """WITH targets AS (SELECT $2::bigint AS address_id
                    UNION SELECT address_id FROM address_clusters WHERE cluster_id = $2)"""
    + _OLD_LABELS_OF_TARGETS
)
_OLD_LABELS_OF = (
    """WITH targets AS (SELECT unnest($2::bigint[]) AS address_id
                    UNION SELECT address_id FROM address_clusters WHERE cluster_id = ANY($3::bigint[]))"""
    + _OLD_LABELS_OF_TARGETS
)
_OLD_COUNTERPARTIES = """
WITH spent AS (SELECT DISTINCT tx_id FROM tx_inputs WHERE address_id = $1),
     recv AS (SELECT tx_id, sum(value) AS value FROM tx_outputs WHERE address_id = $1 GROUP BY tx_id),
     sent_to AS (
        SELECT o.address_id, sum(o.value) AS amount, count(DISTINCT o.tx_id) AS txs
        FROM tx_outputs o JOIN spent USING (tx_id)
        WHERE o.address_id IS NOT NULL AND o.address_id <> $1
        GROUP BY o.address_id ORDER BY amount DESC, o.address_id LIMIT $2),
     payers AS (
        SELECT DISTINCT i.tx_id, i.address_id FROM tx_inputs i JOIN recv USING (tx_id)
        WHERE i.address_id IS NOT NULL AND i.address_id <> $1),
     received_from AS (
        SELECT p.address_id, sum(r.value) AS amount, count(*) AS txs
        FROM payers p JOIN recv r USING (tx_id)
        GROUP BY p.address_id ORDER BY amount DESC, p.address_id LIMIT $2)
SELECT cp.address_id, COALESCE(ac.cluster_id, cp.address_id) AS cluster_id, cp.amount, cp.txs
FROM (SELECT * FROM sent_to UNION ALL SELECT * FROM received_from) cp
LEFT JOIN address_clusters ac ON ac.address_id = cp.address_id
"""
_OLD_ACTIVITY = """
WITH touched AS (
    SELECT tx_id FROM tx_outputs WHERE address_id = $1
    UNION SELECT tx_id FROM tx_inputs WHERE address_id = $1)
SELECT (SELECT count(*) FROM touched) AS tx_count,
       (SELECT COALESCE(sum(value), 0) FROM tx_outputs WHERE address_id = $1) AS received,
       (SELECT COALESCE(sum(value), 0) FROM tx_inputs WHERE address_id = $1) AS sent,
       (SELECT min(t.block_height) FROM transactions t JOIN touched ON t.id = touched.tx_id) AS first_height,
       (SELECT max(t.block_height) FROM transactions t JOIN touched ON t.id = touched.tx_id) AS last_height
"""
_OLD_MAX_COUNTERPARTIES = 5000  # the old default, per direction


async def old_screen(conn: asyncpg.Connection, address: str) -> None:
    tenants = ["public"]
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(_OLD_ADDRESS, "bitcoin", address)
        if row is None:
            return
        await conn.fetch(_OLD_CLUSTER_LABELS, tenants, row["cluster_id"])
        parties = await conn.fetch(_OLD_COUNTERPARTIES, row["id"], _OLD_MAX_COUNTERPARTIES)
        others = [p for p in parties if p["cluster_id"] != row["cluster_id"]]
        ids = [p["address_id"] for p in others]
        await conn.fetch(_OLD_LABELS_OF, tenants, ids, sorted({p["cluster_id"] for p in others}))
        await conn.fetchrow(_OLD_ACTIVITY, row["id"])


_BUSIEST = """
SELECT a.address FROM address_stats s JOIN addresses a ON a.id = s.address_id
ORDER BY s.tx_count DESC LIMIT $1
"""
_BUSIEST_OF_LARGEST_CLUSTER = """
SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
JOIN address_stats s ON s.address_id = ac.address_id
WHERE ac.cluster_id = (SELECT id FROM clusters ORDER BY size DESC LIMIT 1)
ORDER BY s.tx_count DESC LIMIT 1
"""
_RANDOM = """
SELECT a.address FROM address_stats s JOIN addresses a ON a.id = s.address_id ORDER BY random() LIMIT $1
"""


def _labels_csv(addresses: Sequence[str]) -> str:
    """Synthetic actors (this chain is generated: no real actor owns its addresses), ~4 addresses each."""
    lines = ["address,chain,actor,category,confidence"]
    for i, address in enumerate(addresses):
        lines.append(f"{address},BTC,bench actor {i % 97},{_CATEGORIES[i % len(_CATEGORIES)]},high")
    return "\n".join(lines) + "\n"


async def _prepare(pool: asyncpg.Pool, work: Path, txs: int) -> None:
    if not await pool.fetchval("SELECT EXISTS (SELECT 1 FROM blocks)"):  # a kept chain: not again
        with timed() as t:
            report = await index_generated(pool, work / "blocks", txs)
        figure(f"index {report.txs:,} generated txs", t[0], "s")
    with timed() as t:
        clusters = await run_clustering(pool)
    figure(
        f"cluster ({clusters.clusters:,} clusters, largest {clusters.largest_cluster:,}) + exposure",
        t[0],
        "s",
    )
    busy = [r["address"] for r in await pool.fetch(_BUSIEST, 40)]
    others = [r["address"] for r in await pool.fetch(_RANDOM, 400)]
    path = work / "bench-labels.csv"
    path.write_text(_labels_csv([*busy[::2], *others]))
    with timed() as t:
        labels = await import_labels(pool, path)
    exposures = await pool.fetchval("SELECT count(*) FROM wallet_exposure")
    figure(f"label import ({labels.labels} labels) + exposure refresh ({exposures:,} exposures)", t[0], "s")


async def _latencies(
    conn: asyncpg.Connection, addresses: Sequence[str], call: Callable[[str], Awaitable[object]]
) -> list[float]:
    out = []
    for address in addresses:
        start = time.perf_counter()
        await call(address)
        out.append((time.perf_counter() - start) * 1000)
    return out


def _report(name: str, latencies: list[float]) -> float:
    latencies = sorted(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    figure(f"{name} p50", statistics.median(latencies), "ms")
    figure(f"{name} p99", p99, "ms")
    return p99


async def _measure(pool: asyncpg.Pool, n_random: int, repeat: int, bulk: int) -> None:
    options = ScreeningOptions()
    random_addresses = [r["address"] for r in await pool.fetch(_RANDOM, n_random)]
    busiest = [r["address"] for r in await pool.fetch(_BUSIEST, 10)]
    busiest += [r["address"] for r in await pool.fetch(_BUSIEST_OF_LARGEST_CLUSTER)]
    busiest = busiest * repeat
    async with pool.acquire() as conn:

        async def new(address: str) -> object:
            return await screen_on(conn, Chain.BITCOIN, address, options)

        async def old(address: str) -> object:
            await old_screen(conn, address)
            return None

        await _latencies(conn, random_addresses[:20], new)  # warm the caches for both paths alike
        await _latencies(conn, random_addresses[:20], old)
        old_all = _report("old path, random addresses", await _latencies(conn, random_addresses, old))
        old_busy = _report("old path, busiest addresses", await _latencies(conn, busiest, old))
        new_rand = await _latencies(conn, random_addresses, new)
        new_busy = await _latencies(conn, busiest, new)
        _report("new path, random addresses", new_rand)
        _report("new path, busiest addresses", new_busy)
        old_p99 = max(old_all, old_busy)
        new_p99 = _report("new path, all sampled", new_rand + new_busy)
        sample = [r["address"] for r in await pool.fetch(_RANDOM, bulk)]
        with timed() as t:
            batch = await screen_many(conn, Chain.BITCOIN, sample, options)
        figure(f"screen_many of {len(batch.results):,} addresses (target < {BULK_TARGET_S} s)", t[0], "s")
        with timed() as t:
            body = encode({"results": batch.results, "coverage": batch.coverage})
        figure(f"its JSON answer ({len(body) / 1e6:,.1f} MB, as the API writes it)", t[0], "s")
    figure(f"new p99 vs target {TARGET_P99_MS} ms", new_p99 / TARGET_P99_MS, "x of target")
    print(f"ratio: {old_p99 / new_p99:.1f}")


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.screen_exposure")
    parser.add_argument("--txs", type=int, default=1_000_000)
    parser.add_argument("--random", type=int, default=500, help="random addresses screened")
    parser.add_argument("--repeat", type=int, default=5, help="screens of each busiest address")
    parser.add_argument("--bulk", type=int, default=10_000, help="addresses in the set-based bulk screen")
    parser.add_argument(
        "--home", type=Path, help="keep the prepared database under this directory and reuse it next time"
    )
    parser.add_argument("--refresh", action="store_true", help="with --home: recompute the kept exposure")
    args = parser.parse_args(argv)
    if args.home:
        url = await asyncio.to_thread(embedded.start, args.home)
        await _run(Settings(database_url=url, home=args.home), args)
        return
    with scratch_settings() as settings:
        await _run(settings, args)


async def _run(settings: Settings, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="tracer-bench-") as tmp:
        async with open_pool(settings.model_copy(update={"pool_max_size": 4})) as pool:
            if await pool.fetchval("SELECT count(*) FROM exposure_runs") == 0:
                await _prepare(pool, Path(tmp), args.txs)
            elif args.refresh:  # a kept database whose exposure an older refresh computed
                with timed() as t:
                    report = await refresh_exposure(pool)
                figure(f"exposure refresh ({report.exposures:,} exposures)", t[0], "s")
            await _measure(pool, args.random, args.repeat, args.bulk)


if __name__ == "__main__":
    asyncio.run(main())
