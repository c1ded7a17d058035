"""Reads of the precomputed exposure (see exposure_refresh.py), set-based: one query per kind of row for
any number of screened addresses, each bounded per wallet, so screening time does not grow with activity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg


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


_TARGETS = """
SELECT a.address, a.id, COALESCE(ac.cluster_id, a.id) AS wallet, COALESCE(c.size, 1) AS wallet_size
FROM unnest($2::text[]) x (address)
JOIN addresses a ON a.chain = $1 AND a.address = x.address
LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
"""
_LABEL_COLUMNS = """
    SELECT wl.tenant, wl.actor_key, l.id AS label_id, l.address_id, a.address, l.label, l.category, l.actor,
           l.confidence, l.reference, s.title AS source
    FROM wallet_labels wl JOIN labels l ON l.id = wl.label_id
    JOIN addresses a ON a.id = l.address_id JOIN label_sources s ON s.id = l.source_id
"""
_WALLET_LABELS = f"""
SELECT w.wallet, x.* FROM unnest($1::bigint[]) w (wallet)
CROSS JOIN LATERAL ({_LABEL_COLUMNS}
    WHERE wl.wallet = w.wallet AND wl.tenant = ANY($2::text[]) ORDER BY l.id LIMIT $3) x
"""
_ACTOR_LABELS = f"""
SELECT p.wallet, x.* FROM unnest($1::bigint[], $2::text[], $3::text[]) p (wallet, tenant, actor_key)
CROSS JOIN LATERAL ({_LABEL_COLUMNS}
    WHERE wl.wallet = p.wallet AND wl.tenant = p.tenant AND wl.actor_key = p.actor_key
    ORDER BY l.id LIMIT $4) x
"""
_EXPOSURES = """
SELECT w.wallet, x.* FROM unnest($1::bigint[]) w (wallet)
CROSS JOIN LATERAL (
    SELECT e.tenant, e.actor_key, e.direction, e.asset_id, e.hops, e.amount, e.unknown_txs, e.tx_count,
           e.path, e.path_txids, e.txids
    FROM wallet_exposure e WHERE e.wallet = w.wallet AND e.tenant = ANY($2::text[])
    ORDER BY e.score DESC, e.hops, e.amount DESC, e.actor_key, e.direction LIMIT $3) x
"""
_TOTALS = (
    "SELECT wallet, asset_id, incoming, outgoing FROM wallet_totals WHERE chain = $1 AND wallet = ANY($2)"
)
_STATS = "SELECT * FROM address_stats WHERE address_id = ANY($1::bigint[])"
_ADDRESSES = "SELECT id, address FROM addresses WHERE id = ANY($1::bigint[])"


async def read_screening(
    conn: asyncpg.Connection, chain: str, addresses: Sequence[str], tenants: Sequence[str], limits: Limits
) -> ScreeningData:
    data = ScreeningData()
    for r in await conn.fetch(_TARGETS, chain, list(addresses)):
        data.targets[r["address"]] = Target(r["address"], r["id"], r["wallet"], r["wallet_size"])
    wallets = sorted({t.wallet for t in data.targets.values()})
    if not wallets:
        return data
    for r in await conn.fetch(_WALLET_LABELS, wallets, list(tenants), limits.labels_per_wallet):
        data.labels[r["wallet"]].append(LabelRow(**dict(r)))
    for r in await conn.fetch(_EXPOSURES, wallets, list(tenants), limits.exposures_per_wallet):
        data.exposures[r["wallet"]].append(_exposure_row(r))
    await _read_actor_labels(conn, data, limits)
    await _read_totals_stats_paths(conn, chain, data, wallets)
    return data


def _exposure_row(r: asyncpg.Record) -> ExposureRow:
    values = dict(r)
    values["amount"] = int(values["amount"])
    return ExposureRow(**values)


async def _read_actor_labels(conn: asyncpg.Connection, data: ScreeningData, limits: Limits) -> None:
    """The labels of each actor met through exposure, on the actor's wallet where the path starts."""
    keys = sorted({(e.path[0], e.tenant, e.actor_key) for rows in data.exposures.values() for e in rows})
    if not keys:
        return
    wallets, tenants, actors = (list(column) for column in zip(*keys, strict=True))
    for r in await conn.fetch(_ACTOR_LABELS, wallets, tenants, actors, limits.labels_per_actor):
        row = LabelRow(**dict(r))
        data.actor_labels[(row.wallet, row.tenant, row.actor_key)].append(row)


async def _read_totals_stats_paths(
    conn: asyncpg.Connection, chain: str, data: ScreeningData, wallets: list[int]
) -> None:
    for r in await conn.fetch(_TOTALS, chain, wallets):
        data.totals[(r["wallet"], r["asset_id"])] = (int(r["incoming"]), int(r["outgoing"]))
    ids = [t.id for t in data.targets.values()]
    for r in await conn.fetch(_STATS, ids):
        data.stats[r["address_id"]] = Stats(
            tx_count=r["tx_count"],
            received=int(r["received"]),
            sent=int(r["sent"]),
            spends=r["spends"],
            spends_value_unknown=r["spends_value_unknown"],
            first_height=r["first_height"],
            last_height=r["last_height"],
        )
    on_paths = {w for rows in data.exposures.values() for e in rows for w in e.path}
    for r in await conn.fetch(_ADDRESSES, sorted(on_paths)):
        data.addresses[r["id"]] = r["address"]


_INDEXED = """
SELECT chain, min(height) AS min_height, max(height) AS max_height, count(*) AS blocks,
       max(indexed_at) AS last_indexed_at
FROM blocks GROUP BY chain ORDER BY chain
"""
_SOURCES = """
SELECT name, title, tenant, entries, as_of, licence, imported_at FROM label_sources
WHERE tenant = ANY($1::text[]) ORDER BY name, tenant
"""
_LAST_RUN = "SELECT refreshed_at, chains, parameters, truncated FROM exposure_runs ORDER BY id DESC LIMIT 1"


async def read_coverage(conn: asyncpg.Connection, tenants: Sequence[str]) -> dict[str, object]:
    """What an answer covered: chains and heights indexed, label sources and their dates, the exposure run."""
    run = await conn.fetchrow(_LAST_RUN)
    return {
        "indexed": {
            r["chain"]: {
                "min_height": r["min_height"],
                "max_height": r["max_height"],
                "blocks": r["blocks"],
                "last_indexed_at": _iso(r["last_indexed_at"]),
            }
            for r in await conn.fetch(_INDEXED)
        },
        "label_sources": [
            {
                "name": r["title"],  # as reasons name it
                "key": r["name"],  # as `tracer labels` names it
                "tenant": r["tenant"],
                "labels": r["entries"],
                "as_of": r["as_of"].isoformat() if r["as_of"] else None,
                "licence": r["licence"],
                "imported_at": _iso(r["imported_at"]),
            }
            for r in await conn.fetch(_SOURCES, list(tenants))
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
