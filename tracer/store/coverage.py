"""What an answer covered: chains and heights indexed, label sources and their dates, the exposure run.

Every screening answer carries a compact reference (``reference``): the chains with their indexed heights,
when the exposure it read was computed, and the id of a stored snapshot of the rest (the label sources with
their dates and licences, the exposure run's parameters) that ``GET /v1/coverage/{id}`` and ``tracer
coverage show ID`` return in full. The id is the snapshot's content hash, so the same sources and run give
the same id in every process, and an answer's id still resolves after a later import or refresh changed
the current coverage. Snapshots are written when first met (a few per import or refresh, not per screen).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from tracer.errors import InputError

COVERAGE_PATH = "/v1/coverage/"
_ID_HEX_DIGITS = 24  # 96 bits of sha256: no two snapshots of one database collide in practice
_ID = re.compile(f"[0-9a-f]{{{_ID_HEX_DIGITS}}}")

# One statement for the coverage (cached per connection: tracer/store/coverage_cache.py).
_COVERAGE = """
SELECT (SELECT json_agg(b) FROM (
            SELECT chain, min(height) AS min_height, max(height) AS max_height, count(*) AS blocks,
                   max(indexed_at) AS last_indexed_at
            FROM blocks GROUP BY chain ORDER BY chain) b) AS indexed,
       (SELECT json_agg(s) FROM (
            SELECT name, title, tenant, entries, as_of, licence, imported_at FROM label_sources
            WHERE tenant = ANY($1::text[]) ORDER BY name, tenant) s) AS sources,
       (SELECT row_to_json(r) FROM (
            SELECT refreshed_at, chains, parameters, truncated FROM exposure_runs ORDER BY id DESC LIMIT 1) r)
           AS last_run
"""
_STORE = "INSERT INTO coverage_snapshots (id, body) VALUES ($1, $2::json) ON CONFLICT (id) DO NOTHING"
_LOAD = "SELECT body::text AS body, first_seen FROM coverage_snapshots WHERE id = $1"


async def read_coverage(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """The current coverage in full: ``indexed`` per chain, ``label_sources`` and ``exposure``, with the
    ``id`` of the snapshot of the latter two (not yet stored: see ``store_snapshot``)."""
    row = await conn.fetchrow(_COVERAGE, list(tenants))
    if row is None:  # a SELECT without FROM always returns one row
        raise RuntimeError("coverage query returned no row")
    run = orjson.loads(row["last_run"]) if row["last_run"] else None
    snapshot: dict[str, object] = {
        "label_sources": [_source(s) for s in orjson.loads(row["sources"] or "[]")],
        "exposure": None if run is None else _exposure(run),
    }
    indexed = {b["chain"]: _indexed(b) for b in orjson.loads(row["indexed"] or "[]")}
    return {"id": snapshot_id(snapshot), "indexed": indexed, **snapshot}


def snapshot_id(snapshot: dict[str, object]) -> str:
    """The content hash of a snapshot (keys sorted: the same content gives the same id anywhere)."""
    return hashlib.sha256(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)).hexdigest()[:_ID_HEX_DIGITS]


def check_snapshot_id(text: str) -> str:
    """A coverage id as given at the edge (API path, CLI argument): 24 lowercase hex digits."""
    if not _ID.fullmatch(text):
        raise InputError(f"a coverage id is {_ID_HEX_DIGITS} lowercase hex digits", coverage_id=text[:80])
    return text


def reference(full: dict[str, object]) -> dict[str, object]:
    """What every answer carries: chains and heights inline, the rest by id."""
    exposure = full["exposure"]
    run: dict[str, Any] = exposure if isinstance(exposure, dict) else {}
    indexed: dict[str, dict[str, Any]] = full["indexed"]  # type: ignore[assignment]
    return {
        "id": full["id"],
        "as_of": run.get("as_of"),  # when the exposure the answer read was computed (null: never)
        "chains": {chain: b["max_height"] for chain, b in indexed.items()},
        "truncated": run.get("truncated"),  # a search bound cut that exposure short
        "href": f"{COVERAGE_PATH}{full['id']}",
    }


async def store_snapshot(conn: asyncpg.Connection, full: dict[str, object]) -> None:
    """Keep the snapshot ``full`` names, once (the same id is the same content)."""
    body = {"label_sources": full["label_sources"], "exposure": full["exposure"]}
    await conn.execute(_STORE, full["id"], orjson.dumps(body).decode())


async def load_snapshot(conn: asyncpg.Connection, snapshot: str) -> dict[str, object] | None:
    """The stored snapshot ``snapshot`` (an id), or None when no answer ever named it."""
    row = await conn.fetchrow(_LOAD, snapshot)
    if row is None:
        return None
    body: dict[str, object] = orjson.loads(row["body"])
    return {"id": snapshot, "first_seen": row["first_seen"].isoformat(timespec="seconds"), **body}


async def current_snapshot(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """The current coverage in full (``read_coverage``), its snapshot stored: its id resolves from now on."""
    full = await read_coverage(conn, tenants)
    await store_snapshot(conn, full)
    return full


async def visible_snapshot(
    conn: asyncpg.Connection, snapshot: str, tenants: Sequence[str]
) -> dict[str, object] | None:
    """The stored snapshot ``snapshot`` (an id) as callers who see ``tenants`` may read it: None when no
    answer ever named it, or when it lists a label source of another tenant (to them it does not exist)."""
    found = await load_snapshot(conn, snapshot)
    if found is None or not _tenants(found) <= set(tenants):
        return None
    return found


def _tenants(snapshot: dict[str, object]) -> set[str]:
    """The tenants whose label sources a snapshot lists (a caller must see all of them to read it)."""
    sources: list[dict[str, Any]] = snapshot["label_sources"]  # type: ignore[assignment]
    return {s["tenant"] for s in sources}


def _source(s: dict[str, Any]) -> dict[str, object]:
    return {
        "name": s["title"],  # as reasons name it
        "key": s["name"],  # as `tracer labels` names it
        "tenant": s["tenant"],
        "labels": s["entries"],
        "as_of": s["as_of"],
        "licence": s["licence"],
        "imported_at": _iso(s["imported_at"]),
    }


def _exposure(run: dict[str, Any]) -> dict[str, object]:
    return {
        "as_of": _iso(run["refreshed_at"]),
        "chains": run["chains"],
        "max_hops": run["parameters"].get("hops"),
        "truncated": run["truncated"],
    }


def _indexed(b: dict[str, Any]) -> dict[str, object]:
    return {
        "min_height": b["min_height"],
        "max_height": b["max_height"],
        "blocks": b["blocks"],
        "last_indexed_at": _iso(b["last_indexed_at"]),
    }


def _iso(value: str | None) -> str | None:
    """PostgreSQL's JSON timestamp (2026-11-30T02:40:01.123+00:00) to seconds."""
    return datetime.fromisoformat(value).isoformat(timespec="seconds") if value else None
