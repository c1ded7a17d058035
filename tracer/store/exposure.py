"""Reads of the precomputed exposure (see exposure_refresh.py), set-based: one query per kind of row for
any number of screened addresses, each bounded per wallet, so screening time does not grow with activity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import orjson


@dataclass(frozen=True, slots=True)
class Limits:
    labels_per_wallet: int = 200  # ownership labels read per wallet (an exchange's wallet can hold thousands)
    exposures_per_wallet: int = 50  # the riskiest first (stored score), then fewest hops, largest amounts
    labels_per_actor: int = 20  # labels read per actor met through exposure


@dataclass(frozen=True, slots=True)
class Target:
    address: str
    id: int
    wallet: int
    wallet_size: int


@dataclass(frozen=True, slots=True)
class LabelRow:
    wallet: int
    tenant: str
    actor_key: str
    label_id: int
    address_id: int
    address: str
    label: str
    category: str
    actor: str | None
    confidence: str | None
    reference: str | None
    source: str
    actor_id: int | None = None  # the actor record it links to (labels.actor_id), with its name and category
    actor_name: str | None = None
    actor_category: str | None = None


@dataclass(frozen=True, slots=True)
class ExposureRow:
    wallet: int
    tenant: str
    actor_key: str
    direction: str
    asset_id: int
    hops: int
    amount: int
    unknown_txs: int
    tx_count: int
    path: list[int]
    path_txids: list[bytes]
    txids: list[bytes]


@dataclass(frozen=True, slots=True)
class Stats:
    tx_count: int
    received: int
    sent: int
    spends: int
    spends_value_unknown: int
    first_height: int | None
    last_height: int | None


@dataclass(slots=True)
class ScreeningData:
    targets: dict[str, Target] = field(default_factory=dict)
    labels: dict[int, list[LabelRow]] = field(default_factory=lambda: defaultdict(list))  # by wallet
    exposures: dict[int, list[ExposureRow]] = field(default_factory=lambda: defaultdict(list))
    actor_labels: dict[tuple[int, str, str], list[LabelRow]] = field(
        default_factory=lambda: defaultdict(list)
    )
    totals: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)  # (wallet, asset) -> in, out
    stats: dict[int, Stats] = field(default_factory=dict)
    addresses: dict[int, str] = field(default_factory=dict)  # wallet id -> its (smallest) address
    tokens: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # asset id -> (contract, symbol)


# Two statements read everything a screening needs, for any number of addresses (round trips, not rows,
# dominate a screening's time): the addresses with their wallet, activity and the wallet's labels; then the
# wallets' riskiest exposures, each with the actor's labels, the path's addresses and the wallet's totals.
# A wallet's labels with their source and actor; callers add WHERE / ORDER BY.
WALLET_LABELS_SQL = """
    SELECT wl.wallet, wl.tenant, wl.actor_key, l.id AS label_id, l.address_id, a.address, l.label, l.category,
           l.actor, l.confidence, l.reference, s.title AS source, l.actor_id, act.name AS actor_name,
           act.category AS actor_category
    FROM wallet_labels wl JOIN labels l ON l.id = wl.label_id
    JOIN addresses a ON a.id = l.address_id JOIN label_sources s ON s.id = l.source_id
    LEFT JOIN actors act ON act.id = l.actor_id
"""
_TARGETS = f"""
SELECT a.address, a.id, w.wallet, COALESCE(c.size, 1) AS wallet_size, s.tx_count, s.received, s.sent,
       s.spends, s.spends_value_unknown, s.first_height, s.last_height,
       (SELECT json_agg(y) FROM ({WALLET_LABELS_SQL}
            WHERE wl.wallet = w.wallet AND wl.tenant = ANY($3::text[]) ORDER BY l.id LIMIT $4) y) AS labels
FROM unnest($2::text[]) x (address)
JOIN addresses a ON a.chain = $1 AND a.address = x.address
LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
LEFT JOIN address_stats s ON s.address_id = a.id
CROSS JOIN LATERAL (SELECT COALESCE(ac.cluster_id, a.id) AS wallet) w
"""
_EXPOSURES = f"""
SELECT w.wallet, x.*, t.incoming, t.outgoing, tk.address AS token, tk.symbol AS token_symbol,
       (SELECT array_agg(a.address ORDER BY p.n) FROM unnest(x.path) WITH ORDINALITY p (id, n)
        LEFT JOIN addresses a ON a.id = p.id) AS path_addresses,
       (SELECT json_agg(y) FROM ({WALLET_LABELS_SQL}
            WHERE wl.wallet = x.path[1] AND wl.tenant = x.tenant AND wl.actor_key = x.actor_key
            ORDER BY l.id LIMIT $4) y) AS actor_labels
FROM unnest($1::bigint[]) w (wallet)
CROSS JOIN LATERAL (
    SELECT e.tenant, e.actor_key, e.direction, e.asset_id, e.hops, e.amount, e.unknown_txs, e.tx_count,
           e.path, e.path_txids, e.txids
    FROM wallet_exposure e WHERE e.wallet = w.wallet AND e.tenant = ANY($2::text[])
    ORDER BY e.score DESC, e.hops, e.amount DESC, e.actor_key, e.direction LIMIT $3) x
LEFT JOIN wallet_totals t ON t.chain = $5 AND t.wallet = w.wallet AND t.asset_id = x.asset_id
LEFT JOIN tokens tk ON tk.id = x.asset_id
"""


async def read_screening(
    conn: asyncpg.Connection, chain: str, addresses: Sequence[str], tenants: Sequence[str], limits: Limits
) -> ScreeningData:
    data = ScreeningData()
    for r in await conn.fetch(_TARGETS, chain, list(addresses), list(tenants), limits.labels_per_wallet):
        target = Target(r["address"], r["id"], r["wallet"], r["wallet_size"])
        data.targets[target.address] = target
        if r["tx_count"] is not None:
            data.stats[target.id] = _stats(r)
        if target.wallet not in data.labels:
            data.labels[target.wallet] = [LabelRow(**lb) for lb in orjson.loads(r["labels"] or "[]")]
    wallets = sorted({t.wallet for t in data.targets.values()})
    if not wallets:
        return data
    rows = await conn.fetch(
        _EXPOSURES, wallets, list(tenants), limits.exposures_per_wallet, limits.labels_per_actor, chain
    )
    for r in rows:
        row = _exposure_row(r)
        data.exposures[row.wallet].append(row)
        data.totals[(row.wallet, row.asset_id)] = (int(r["incoming"] or 0), int(r["outgoing"] or 0))
        data.addresses.update(zip(row.path, r["path_addresses"], strict=True))
        if r["token"] is not None:
            data.tokens[row.asset_id] = (r["token"], r["token_symbol"])
        labels = [LabelRow(**lb) for lb in orjson.loads(r["actor_labels"] or "[]")]
        data.actor_labels[(row.path[0], row.tenant, row.actor_key)] = labels
    return data


def _stats(r: asyncpg.Record) -> Stats:
    return Stats(
        tx_count=r["tx_count"],
        received=int(r["received"]),
        sent=int(r["sent"]),
        spends=r["spends"],
        spends_value_unknown=r["spends_value_unknown"],
        first_height=r["first_height"],
        last_height=r["last_height"],
    )


def _exposure_row(r: asyncpg.Record) -> ExposureRow:
    return ExposureRow(
        wallet=r["wallet"],
        tenant=r["tenant"],
        actor_key=r["actor_key"],
        direction=r["direction"],
        asset_id=r["asset_id"],
        hops=r["hops"],
        amount=int(r["amount"]),
        unknown_txs=r["unknown_txs"],
        tx_count=r["tx_count"],
        path=list(r["path"]),
        path_txids=list(r["path_txids"]),
        txids=list(r["txids"]),
    )


# One statement for the coverage, run first in a screening's transaction: it also switches the rest of the
# transaction to generic plans (the screening reads are key lookups; planning each call cost more than
# running it: 0.9 ms vs 0.08 ms).
_COVERAGE = """
SELECT set_config('plan_cache_mode', 'force_generic_plan', true),
       (SELECT json_agg(b) FROM (
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


async def read_coverage(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """What an answer covered: chains and heights indexed, label sources and their dates, the exposure run."""
    row = await conn.fetchrow(_COVERAGE, list(tenants))
    if row is None:  # a SELECT without FROM always returns one row
        raise RuntimeError("coverage query returned no row")
    run = orjson.loads(row["last_run"]) if row["last_run"] else None
    return {
        "indexed": {
            b["chain"]: {
                "min_height": b["min_height"],
                "max_height": b["max_height"],
                "blocks": b["blocks"],
                "last_indexed_at": _iso(b["last_indexed_at"]),
            }
            for b in orjson.loads(row["indexed"] or "[]")
        },
        "label_sources": [
            {
                "name": s["title"],  # as reasons name it
                "key": s["name"],  # as `tracer labels` names it
                "tenant": s["tenant"],
                "labels": s["entries"],
                "as_of": s["as_of"],
                "licence": s["licence"],
                "imported_at": _iso(s["imported_at"]),
            }
            for s in orjson.loads(row["sources"] or "[]")
        ],
        "exposure": None
        if run is None
        else {
            "as_of": _iso(run["refreshed_at"]),
            "chains": run["chains"],
            "max_hops": run["parameters"].get("hops"),
            "truncated": run["truncated"],
        },
    }


def _iso(value: str | None) -> str | None:
    """PostgreSQL's JSON timestamp (2026-11-30T02:40:01.123+00:00) to seconds."""
    return datetime.fromisoformat(value).isoformat(timespec="seconds") if value else None
