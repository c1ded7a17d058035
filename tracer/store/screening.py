"""Small reads behind the address and cluster views: an address's wallet, a wallet's labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from tracer.store.exposure import WALLET_LABELS_SQL, LabelRow, Limits


@dataclass(frozen=True, slots=True)
class AddressRow:
    id: int
    cluster_id: int
    cluster_size: int


_ADDRESS = """
SELECT a.id, COALESCE(ac.cluster_id, a.id) AS cluster_id, COALESCE(c.size, 1) AS cluster_size
FROM addresses a
LEFT JOIN address_clusters ac ON ac.address_id = a.id
LEFT JOIN clusters c ON c.id = ac.cluster_id
WHERE a.chain = $1 AND a.address = $2
"""
_CLUSTER_LABELS = f"""{WALLET_LABELS_SQL}WHERE wl.wallet = $1 AND wl.tenant = ANY($2::text[])
ORDER BY l.id LIMIT $3
"""


async def find_address(conn: asyncpg.Connection, chain: str, address: str) -> AddressRow | None:
    row = await conn.fetchrow(_ADDRESS, chain, address)
    return AddressRow(row["id"], row["cluster_id"], row["cluster_size"]) if row else None


async def cluster_labels(
    conn: asyncpg.Connection, cluster_id: int, tenants: Sequence[str], limit: int = Limits().labels_per_wallet
) -> list[LabelRow]:
    """Labels on any member of the cluster (for a singleton: on the address whose id it is), as of the last
    exposure refresh."""
    return [LabelRow(**dict(r)) for r in await conn.fetch(_CLUSTER_LABELS, cluster_id, list(tenants), limit)]
