"""The main job on a fresh machine: real mainnet data in, screening API up.

1. PostgreSQL: the embedded server under TRACER_HOME (or TRACER_DATABASE_URL), migrated.
2. Blocks: recorded mainnet blocks are served by the local replay node (Bitcoin Core JSON-RPC) and indexed
   through the same HTTP client and indexer as a live node; raito block files (which carry every input's
   spent output) are indexed from disk.
3. Clustering (common-input with CoinJoin vetoes), then the bundled label lists (OFAC, GraphSense,
   scam-centre actors).
4. The API, and an example screening call against it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg
import orjson

from chains.model import Chain
from tracer.api.server import start_server
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.devnode.evm_replay import EvmReplayStore, serve_evm_replay
from tracer.errors import InputError, StoreUnavailable
from tracer.jobs.cluster import run_clustering
from tracer.jobs.evm_index import EvmJob, index_evm
from tracer.jobs.follow import contiguous_runs, index_from_node
from tracer.jobs.index import index_files
from tracer.jobs.labels import import_labels
from tracer.jsonwrite import dumps
from tracer.store import embedded
from tracer.store.pool import open_pool

log = logging.getLogger(__name__)

Out = Callable[[str], object]

# The demo's example calls, found in the data rather than hard-coded: a sanctioned address that transacts
# (in the largest cluster), another member of that cluster (ownership), and a payer of a sanctioned
# address (counterparty exposure).
_SANCTIONED_IN_USE = """
SELECT a.id, a.address, COALESCE(ac.cluster_id, a.id) AS cluster_id
FROM addresses a
LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
WHERE a.chain = 'bitcoin'
  AND EXISTS (SELECT 1 FROM labels l WHERE l.address_id = a.id AND l.category = 'sanctioned')
  AND (EXISTS (SELECT 1 FROM tx_outputs o WHERE o.address_id = a.id)
       OR EXISTS (SELECT 1 FROM tx_inputs i WHERE i.address_id = a.id))
ORDER BY COALESCE(c.size, 1) DESC, a.id LIMIT 1
"""
_UNLABELLED_CLUSTER_MATE = """
SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
WHERE ac.cluster_id = $1 AND ac.address_id <> $2
  AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.address_id = a.id)
ORDER BY a.id LIMIT 1
"""
_PAYER_OF_SANCTIONED = """
SELECT payer.address FROM labels l
JOIN tx_outputs o ON o.address_id = l.address_id
JOIN tx_inputs i ON i.tx_id = o.tx_id AND i.address_id <> l.address_id
JOIN addresses payer ON payer.id = i.address_id
WHERE l.category = 'sanctioned'
  AND NOT EXISTS (SELECT 1 FROM labels own WHERE own.address_id = payer.id)
ORDER BY payer.id LIMIT 1
"""
_BUSIEST_ETHEREUM = """
SELECT a.address FROM transfers t JOIN addresses a ON a.id IN (t.from_id, t.to_id)
WHERE t.chain = 'ethereum' AND t.kind = 'token'
GROUP BY a.address ORDER BY count(*) DESC, a.address LIMIT 1
"""
PRINCE_GROUP_ADDRESS = "bc1qnujzvts45qka3cr2eqqw8ur3q6g6s0ze2wlk5m"  # OFAC 2025-10-14; listed, no bundled tx


async def run_demo(
    settings: Settings, *, data_dir: Path, serve: bool = True, out: Out = sys.stdout.write
) -> None:
    if not (data_dir / "bitcoin").is_dir() or not (data_dir / "labels").is_dir():
        raise InputError(f"{data_dir} does not hold the bundled data (bitcoin/ and labels/)")
    starts_db = not settings.database_url and not embedded.status(settings.home).running
    try:
        await _demo(settings, data_dir, serve, out)
    except (asyncio.CancelledError, KeyboardInterrupt):
        if starts_db:  # interrupted (Ctrl-C, SIGTERM): stop the server this demo started
            sys.stderr.write(await stop_started_server(settings.home))
        raise


async def stop_started_server(home: Path) -> str:
    """Stop the server the demo started; what to tell the user (how to stop it, when that failed)."""
    try:
        await asyncio.to_thread(embedded.stop, home)
    except StoreUnavailable as exc:
        return f"tracer: demo interrupted; {exc.message}; stop it with: tracer --home {home} db stop\n"
    return "tracer: demo interrupted; stopped the embedded PostgreSQL server it started\n"


async def _demo(settings: Settings, data_dir: Path, serve: bool, out: Out) -> None:
    async with open_pool(settings) as pool:
        await load(pool, data_dir, out)
        examples = await _example_addresses(pool)
        ethereum = await _ethereum_example(pool)
        if not serve:
            return
        runner, url = await start_server(settings)
        try:
            await _show_examples(url, examples, out)
            if ethereum is not None:
                await _show_ethereum(url, ethereum, out)
            out(f"\nAPI listening on {url} (Ctrl-C to stop). Try:\n")
            if settings.auth == "off":
                out(
                    "  API keys are OFF for this demo (TRACER_AUTH=off: one user on their own machine); "
                    "a real deployment leaves them on and uses `tracer keys create --role ...`\n"
                )
            out(
                f"  curl -s -X POST {url}/v1/screen -H 'Content-Type: application/json' "
                f"""-d '{{"chain": "bitcoin", "address": "{examples[0]}"}}'\n"""
            )
            out(f"  curl -s {url}/v1/addresses/bitcoin/{examples[0]}\n  curl -s {url}/metrics\n")
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


async def load(pool: asyncpg.Pool, data_dir: Path, out: Out) -> None:
    bitcoin = data_dir / "bitcoin"
    store = await asyncio.to_thread(ReplayStore.from_paths, [bitcoin / "raw", bitcoin / "rpc"])
    async with serve_replay(store) as node:
        out(f"replay node on {node.esplora_url}: {len(store.by_hash)} recorded mainnet blocks\n")
        for first, last in contiguous_runs(sorted(store.by_height)):
            report = await index_from_node(pool, rpc_url=node.rpc_url, start=first, stop=last)
            out(f"  indexed blocks {first}..{last} over JSON-RPC: {report.summary()}\n")
    await load_ethereum(pool, data_dir / "ethereum", out)
    raito = sorted((bitcoin / "raito").glob("*.json.gz"))
    report = await index_files(pool, raito, kind="json")
    out(f"  indexed {len(raito)} raito block files (inputs carry spent outputs): {report.summary()}\n")
    # First, because the collapse guards read labels. Each file is its own named source: re-running the demo
    # replaces these sources only, never a user's own imports (tracer.labels.guard).
    labels = await import_labels(pool, data_dir / "labels")
    out(f"imported {labels.labels} labels and {labels.actors} actors from {len(labels.sources)} sources\n")
    clusters = await run_clustering(pool)
    out(
        f"clustered: {clusters.merges} merges, {clusters.vetoes} CoinJoin vetoes, "
        f"{clusters.refused} refused by collapse guards, "
        f"{clusters.clusters} clusters (largest {clusters.largest_cluster}) in {clusters.seconds} s\n"
    )


async def load_ethereum(pool: asyncpg.Pool, ethereum: Path, out: Out) -> None:
    """Recorded Ethereum mainnet blocks through the EVM replay node (which refuses eth_call, as pruned
    nodes do: token symbols stay unknown, amounts are base units either way)."""
    store = await asyncio.to_thread(EvmReplayStore.from_dirs, ethereum / "helios", ethereum / "etl")
    if not store.blocks:
        return
    async with serve_evm_replay(store) as url:
        out(f"EVM replay node on {url}: {len(store.blocks)} recorded Ethereum mainnet blocks\n")
        job = EvmJob(url, Chain.ETHEREUM)
        for first, last in contiguous_runs(sorted(store.blocks)):
            report = await index_evm(pool, job, start=first, stop=last)
            out(f"  indexed Ethereum blocks {first}..{last}: {report.rows['transfers']} transfers\n")


async def _ethereum_example(pool: asyncpg.Pool) -> str | None:
    """The Ethereum address with the most token transfers in the bundled blocks."""
    address = await pool.fetchval(_BUSIEST_ETHEREUM)
    return str(address) if address is not None else None


async def _example_addresses(pool: asyncpg.Pool) -> list[str]:
    examples: list[str] = []
    listed = await pool.fetchrow(_SANCTIONED_IN_USE)
    if listed is not None:
        examples.append(listed["address"])
        mate = await pool.fetchval(_UNLABELLED_CLUSTER_MATE, listed["cluster_id"], listed["id"])
        examples.extend([mate] if mate else [])
    payer = await pool.fetchval(_PAYER_OF_SANCTIONED)
    examples.extend([payer] if payer else [])
    return examples or [PRINCE_GROUP_ADDRESS]


async def _show_examples(url: str, addresses: list[str], out: Out) -> None:
    answers = []
    async with aiohttp.ClientSession() as session:
        for address in addresses:
            body = {"chain": "bitcoin", "address": address}
            async with session.post(f"{url}/v1/screen", json=body) as resp:
                answers.append(await resp.json())
    for result in answers:
        risk = result["risk"]
        out(f"\nPOST /v1/screen {result['address']} -> {risk['level']} (score {risk['score']})\n")
        for reason in risk["reasons"][:3]:
            out(f"  - {reason['explanation']}\n")
    full = dumps(answers[0], orjson.OPT_INDENT_2).decode()
    out(f"\nthe full answer for the first one:\n{full}\n")


async def _show_ethereum(url: str, address: str, out: Out) -> None:
    path = f"/v1/addresses/ethereum/{address}"
    async with aiohttp.ClientSession() as session, session.get(url + path) as resp:
        result = await resp.json()
    seen = result.get("activity") or {}
    out(
        f"\nGET {path} -> {result['risk']['level']}: {seen.get('tx_count', 0)} transactions moving value in "
        f"blocks {seen.get('first_block')}..{seen.get('last_block')}; "
        f"{len(result.get('exposure') or [])} labelled exposures\n"
    )
