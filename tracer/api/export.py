"""Exports for analysts: a whole cluster (members, labels, merge evidence as edges) as CSV, JSON, GraphML
or GEXF (Gephi, yEd), and an address's transactions with ids so its counterparties can be checked.

Members, labels and evidence are read through ``tracer.store.views`` and ``tracer.store.screening``, the
same functions the cluster view uses, so what an export says is what the API says.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass

import asyncpg
import networkx as nx
from aiohttp import web

from tracer.api.endpoints import Endpoints
from tracer.api.keys import ANSWER, POOL
from tracer.api.params import path_id, validated_query
from tracer.api.responses import json_response
from tracer.api.routes import tenants
from tracer.api.schemas import ExportQuery, Page, TransactionsAnswer
from tracer.errors import NotFound
from tracer.jsonwrite import dumps
from tracer.risk.screening import parse_target
from tracer.store import views
from tracer.store.address_transactions import address_transactions
from tracer.store.errors import translate_errors
from tracer.store.exposure import LabelRow
from tracer.store.keys import Role
from tracer.store.screening import cluster_labels, find_address

ENDPOINTS = Endpoints(tag="exports")

_PAGE = 1000  # rows per read while collecting a cluster
MEDIA = {
    "json": "application/json",
    "csv": "text/csv",
    "graphml": "application/graphml+xml",
    "gexf": "application/gexf+xml",
}


@dataclass(frozen=True, slots=True)
class ClusterExport:
    id: int
    chain: str
    size: int
    members: list[str]
    labels: list[LabelRow]
    evidence: list[dict[str, object]]

    def edges(self) -> list[dict[str, object]]:
        """Each merge as edges from the first address it names to each other one (a star per transaction)."""
        out = []
        for item in self.evidence:
            addresses = [str(a) for a in item.get("addresses") or []]  # type: ignore[attr-defined]
            for other in addresses[1:]:
                out.append(
                    {
                        "source": addresses[0],
                        "target": other,
                        "evidence_id": item["id"],
                        "heuristic": item["heuristic"],
                        "txid": item["txid"],
                        "block_height": item["block_height"],
                    }
                )
        return out


async def collect_cluster(
    conn: asyncpg.Connection, cluster_id: int, label_tenants: tuple[str, ...]
) -> ClusterExport | None:
    summary = await views.cluster_summary(conn, cluster_id)
    if summary is None:
        return None
    members = await _all(lambda limit, offset: views.cluster_members(conn, cluster_id, limit, offset))
    evidence = await _all(lambda limit, offset: views.cluster_evidence(conn, cluster_id, limit, offset))
    labels = await cluster_labels(conn, cluster_id, label_tenants)
    return ClusterExport(summary.id, summary.chain, summary.size, members, labels, evidence)


async def _all(read: object) -> list:  # type: ignore[type-arg]
    out: list[object] = []
    while True:
        page = await read(_PAGE, len(out))  # type: ignore[operator]
        out.extend(page)
        if len(page) < _PAGE:
            return out


def render(export: ClusterExport, fmt: str) -> bytes:
    if fmt == "json":
        return dumps(_as_json(export))
    if fmt == "csv":
        return _as_csv(export)
    graph = _as_graph(export)
    buffer = io.BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, buffer)
    else:
        nx.write_gexf(graph, buffer)
    return buffer.getvalue()


def _labels_by_address(export: ClusterExport) -> dict[str, list[LabelRow]]:
    out: dict[str, list[LabelRow]] = defaultdict(list)
    for label in export.labels:
        out[label.address].append(label)
    return out


def _as_json(export: ClusterExport) -> dict[str, object]:
    labels = _labels_by_address(export)
    return {
        "cluster": {"id": export.id, "chain": export.chain, "size": export.size},
        "members": [
            {
                "address": a,
                "labels": [
                    {"label": lb.label, "category": lb.category, "source": lb.source, "actor": lb.actor}
                    for lb in labels.get(a, [])
                ],
            }
            for a in export.members
        ],
        "evidence": export.evidence,
        "edges": export.edges(),
    }


_CSV_COLUMNS = (
    "kind",
    "address",
    "target",
    "labels",
    "categories",
    "sources",
    "evidence_id",
    "heuristic",
    "txid",
    "block_height",
)


def _as_csv(export: ClusterExport) -> bytes:
    """One table: a 'member' row per address (with its labels), then an 'edge' row per merge edge."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=_CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for address, attributes in _node_attributes(export).items():
        writer.writerow({"kind": "member", "address": address, **attributes})
    for edge in export.edges():
        writer.writerow({"kind": "edge", "address": edge["source"], **edge})
    return text.getvalue().encode()


def _node_attributes(export: ClusterExport) -> dict[str, dict[str, str]]:
    labels = _labels_by_address(export)
    return {
        a: {
            "labels": "; ".join(lb.label for lb in labels.get(a, [])),
            "categories": "; ".join(sorted({lb.category for lb in labels.get(a, [])})),
            "sources": "; ".join(sorted({lb.source for lb in labels.get(a, [])})),
        }
        for a in export.members
    }


def _as_graph(export: ClusterExport) -> nx.MultiGraph:
    graph = nx.MultiGraph(name=f"{export.chain} cluster {export.id}")
    for address, attributes in _node_attributes(export).items():
        graph.add_node(address, label=address, **attributes)
    for edge in export.edges():
        graph.add_edge(
            edge["source"],
            edge["target"],
            key=f"{edge['evidence_id']}:{edge['target']}",
            heuristic=str(edge["heuristic"]),
            txid=str(edge["txid"]),
            block_height=int(str(edge["block_height"])),
            evidence_id=int(str(edge["evidence_id"])),
        )
    return graph


@ENDPOINTS.route(
    "GET",
    "/v1/clusters/{cluster_id}/export",
    role=Role.ANALYST,
    summary="A whole cluster as a file: members, labels, and the merge evidence as edges",
    query=ExportQuery,
    media=tuple(MEDIA.values()),
    errors=(404,),
)
async def cluster_export(request: web.Request) -> web.Response:
    cluster_id = path_id(request, "cluster_id")
    fmt = validated_query(request, ExportQuery).format
    async with translate_errors(), request.app[POOL].acquire() as conn:
        export = await collect_cluster(conn, cluster_id, tenants(request))
    if export is None:
        raise NotFound(f"no cluster {cluster_id}")
    body = render(export, fmt)
    digest: dict[str, object] = {"cluster_id": export.id, "size": export.size, "format": fmt}
    request[ANSWER] = digest
    return web.Response(
        body=body,
        content_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="cluster-{export.id}.{fmt}"'},
    )


@ENDPOINTS.route(
    "GET",
    "/v1/addresses/{chain}/{address}/transactions",
    role=Role.ANALYST,
    summary="The transactions of an address, newest first, with ids, amounts and the other parties",
    query=Page,
    answer=TransactionsAnswer,
    errors=(404,),
)
async def transactions_view(request: web.Request) -> web.Response:
    chain, address = parse_target(request.match_info["chain"], request.match_info["address"])
    page = validated_query(request, Page)
    async with translate_errors(), request.app[POOL].acquire() as conn:
        row = await find_address(conn, chain.value, address)
        if row is None:
            raise NotFound(f"{address} is in no indexed transaction")
        items = await address_transactions(conn, row.id, page.limit, page.offset)
    return json_response(
        {"chain": chain.value, "address": address, "items": items, "limit": page.limit, "offset": page.offset}
    )
