"""Why are two addresses one entity: the shortest chain of stored merges that links them.

The graph: addresses are nodes; a stored merge (merge_evidence row) links every pair of its addresses, and
that merge's transaction shows the link. A breadth-first search from A over the merges (found through the
GIN index on their addresses, one query per level) reaches B by the fewest steps; ties go to the earliest
merge (block, then id), so the answer is reproducible. The result:
``{"linked", "cluster": {"id", "size"} | null, "path": [{"from", "to", "heuristic", "txid", "block",
"confidence", "conditions"}, ...]}`` -- the first step starts at A, each starts where the last ended, the
last ends at B.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.errors import InvalidAddress, NotFound, UnsupportedChain

MAX_LEVELS = 10_000  # a path is never longer than the cluster; this bounds a corrupted store

_ADDRESS = """
SELECT a.id, COALESCE(ac.cluster_id, a.id) AS cluster_id, COALESCE(c.size, 1) AS size
FROM addresses a LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
WHERE a.chain = $1 AND a.address = $2
"""
_MERGES_TOUCHING = """
SELECT id, address_ids, heuristic, txid, block_height, confidence, conditions FROM merge_evidence
WHERE chain = $1 AND address_ids && $2::bigint[] ORDER BY block_height, id
"""


@dataclass(frozen=True, slots=True)
class _Merge:
    heuristic: str
    txid: bytes
    block: int
    confidence: str
    conditions: list[str]


def parse_pair(chain: str, a: str, b: str) -> tuple[Chain, str, str]:
    """Validate and normalise at the edge (InputError subclasses for anything wrong)."""
    try:
        parsed = Chain(chain.strip().lower())
    except ValueError:
        raise UnsupportedChain(f"unsupported chain {chain!r}", supported=[c.value for c in Chain]) from None
    normalised = []
    for address in (a, b):
        try:
            normalised.append(normalize(parsed, address))
        except AddressError as exc:
            raise InvalidAddress(str(exc), chain=parsed.value, address=address[:120]) from exc
    return parsed, normalised[0], normalised[1]


async def why(conn: asyncpg.Connection, chain: Chain, a: str, b: str) -> dict[str, object]:
    """The answer for two normalised addresses of ``chain``; NotFound if either is not indexed."""
    first, second = await _address(conn, chain, a), await _address(conn, chain, b)
    if first["cluster_id"] != second["cluster_id"]:
        return {"linked": False, "cluster": None, "path": []}
    cluster = {"id": first["cluster_id"], "size": first["size"]}
    steps = await _shortest(conn, chain, first["id"], second["id"])
    if steps is None:  # same cluster but no chain of merges: the store is inconsistent; say so plainly
        return {"linked": False, "cluster": cluster, "path": []}
    names = await _names(conn, {x for s in steps for x in s[:2]})
    path = [
        {
            "from": names[src],
            "to": names[dst],
            "heuristic": merge.heuristic,
            "txid": _display(chain, merge.txid),
            "block": merge.block,
            "confidence": merge.confidence,
            "conditions": merge.conditions,
        }
        for src, dst, merge in steps
    ]
    return {"linked": True, "cluster": cluster, "path": path}


async def _address(conn: asyncpg.Connection, chain: Chain, address: str) -> asyncpg.Record:
    row = await conn.fetchrow(_ADDRESS, chain.value, address)
    if row is None:
        raise NotFound(f"{address} is not an indexed {chain.value} address")
    return row


async def _shortest(
    conn: asyncpg.Connection, chain: Chain, start: int, goal: int
) -> list[tuple[int, int, _Merge]] | None:
    reached: dict[int, tuple[int, _Merge] | None] = {start: None}
    frontier = [start]
    for _ in range(MAX_LEVELS):
        if goal in reached or not frontier:
            break
        touching = set(frontier)
        nxt: list[int] = []
        for row in await conn.fetch(_MERGES_TOUCHING, chain.value, frontier):
            ids = list(row["address_ids"])
            src = min(x for x in ids if x in touching)
            merge = _Merge(
                row["heuristic"], row["txid"], row["block_height"], row["confidence"], row["conditions"]
            )
            for x in ids:
                if x not in reached:
                    reached[x] = (src, merge)
                    nxt.append(x)
        frontier = nxt
    if goal not in reached:
        return None
    steps: list[tuple[int, int, _Merge]] = []
    node = goal
    while (link := reached[node]) is not None:
        steps.append((link[0], node, link[1]))
        node = link[0]
    return steps[::-1]


async def _names(conn: asyncpg.Connection, ids: set[int]) -> dict[int, str]:
    rows = await conn.fetch("SELECT id, address FROM addresses WHERE id = ANY($1::bigint[])", sorted(ids))
    return {r["id"]: r["address"] for r in rows}


def _display(chain: Chain, txid: bytes) -> str:
    return txid.hex() if chain is Chain.BITCOIN else "0x" + txid.hex()
