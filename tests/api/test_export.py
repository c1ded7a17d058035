"""Cluster exports (CSV, JSON, GraphML, GEXF) over the API and the CLI; GraphML and GEXF parse with networkx
the way Gephi and yEd read them; the transactions view carries txids."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys

import aiohttp
import asyncpg
import networkx as nx
import orjson
import pytest

LARGE_CLUSTER_MEMBER = "343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb"  # sanctioned, in a 3,804-address cluster
PAYER = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"
PAYMENT_TXID = "41f366c2afcc222fe45398b6dc13dcca8874ca6ed288420700575495d03f8dad"


@pytest.fixture(scope="module")
async def cluster_id(loaded_pool: asyncpg.Pool) -> int:
    found: int = await loaded_pool.fetchval(
        """SELECT ac.cluster_id FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
           WHERE a.address = $1""",
        LARGE_CLUSTER_MEMBER,
    )
    return found


async def export(http: aiohttp.ClientSession, api: str, cluster_id: int, fmt: str) -> bytes:
    async with http.get(f"{api}/v1/clusters/{cluster_id}/export?format={fmt}") as resp:
        assert resp.status == 200, await resp.text()
        assert f"cluster-{cluster_id}.{fmt}" in resp.headers["Content-Disposition"]
        return await resp.read()


def check_graph(graph: nx.Graph) -> None:
    assert graph.number_of_nodes() == 3804
    assert graph.number_of_edges() >= 3803  # merges connect every member
    assert nx.is_connected(nx.Graph(graph))
    assert "sanctioned" in graph.nodes[LARGE_CLUSTER_MEMBER]["categories"]
    _, _, data = next(iter(graph.edges(data=True)))
    assert data["heuristic"] == "common_input" and len(data["txid"]) == 64


async def test_graphml_and_gexf_open_as_graphs(
    api: str, http: aiohttp.ClientSession, cluster_id: int
) -> None:
    check_graph(nx.read_graphml(io.BytesIO(await export(http, api, cluster_id, "graphml"))))
    check_graph(nx.read_gexf(io.BytesIO(await export(http, api, cluster_id, "gexf"))))


async def test_json_and_csv_hold_members_labels_and_edges(
    api: str, http: aiohttp.ClientSession, cluster_id: int
) -> None:
    body = orjson.loads(await export(http, api, cluster_id, "json"))
    assert (body["cluster"]["id"], body["cluster"]["size"], len(body["members"])) == (cluster_id, 3804, 3804)
    member = next(m for m in body["members"] if m["address"] == LARGE_CLUSTER_MEMBER)
    assert any(lb["category"] == "sanctioned" for lb in member["labels"])
    assert body["edges"] and body["evidence"]
    rows = list(csv.DictReader(io.StringIO((await export(http, api, cluster_id, "csv")).decode())))
    members = [r for r in rows if r["kind"] == "member"]
    edges = [r for r in rows if r["kind"] == "edge"]
    assert len(members) == 3804
    assert len(edges) == len(body["edges"])
    assert all(len(e["txid"]) == 64 and e["target"] for e in edges)


async def test_export_errors_are_json(api: str, http: aiohttp.ClientSession, cluster_id: int) -> None:
    for path, status in [
        (f"/v1/clusters/{cluster_id}/export?format=pdf", 400),
        ("/v1/clusters/999999999/export", 404),
        (f"/v1/clusters/{2**63}/export", 400),
    ]:
        async with http.get(api + path) as resp:
            assert resp.status == status
            assert (await resp.json())["error"]["code"]


async def test_transactions_view_names_txids_and_counterparties(
    api: str, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{api}/v1/addresses/bitcoin/{PAYER}/transactions?limit=50") as resp:
        assert resp.status == 200
        body = await resp.json()
    payment = next(t for t in body["items"] if t["txid"] == PAYMENT_TXID)
    assert "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d" in payment["recipients"]
    assert payment["inputs_spent"] >= 1 and isinstance(payment["block_height"], int)


async def test_cli_export_matches_the_api(
    api: str, http: aiohttp.ClientSession, loaded_db: str, cluster_id: int
) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "tracer.cli",
            "--database-url",
            loaded_db,
            "export",
            "cluster",
            str(cluster_id),
            "--format",
            "gexf",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == await export(http, api, cluster_id, "gexf")
    missing = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tracer.cli", "--database-url", loaded_db, "export", "cluster", "999999999"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("tracer: not_found")
