"""How clean the clusters are, measured against labels: do labelled addresses of different owners share one?

An owner is what the collapse guards compare (tracer.store.clusters.OWNER_OF_LABEL): a label's actor by
id, else, for a label linked to no actor, its text, lower-case. Two labelled members conflict when their
sets of owners are disjoint (one address may carry several names of one owner from several lists; those
overlap). A labelled cluster is pure when no two
of its members conflict. Merges and refusals are counted per heuristic from the stored evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from tracer.store.clusters import OWNER_OF_LABEL

_OWNERS = f"""
SELECT m.cluster_id, l.address_id, array_agg(DISTINCT {OWNER_OF_LABEL}) AS owners
FROM address_clusters m JOIN clusters c ON c.id = m.cluster_id
JOIN labels l ON l.address_id = m.address_id LEFT JOIN actors ac ON ac.id = l.actor_id
WHERE c.chain = $1
GROUP BY 1, 2 ORDER BY 1, 2
"""
_PER_HEURISTIC = """
SELECT h.heuristic,
       (SELECT count(*) FROM merge_evidence e WHERE e.chain = $1 AND e.heuristic = h.heuristic) AS merges,
       (SELECT count(*) FROM refused_merges r WHERE r.chain = $1 AND r.heuristic = h.heuristic) AS refused
FROM (SELECT heuristic FROM merge_evidence WHERE chain = $1
      UNION SELECT heuristic FROM refused_merges WHERE chain = $1) h ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class Quality:
    labelled_clusters: int  # clusters (of two or more) with at least one labelled member
    multi_labelled_clusters: int  # ... with two or more labelled members
    impure_clusters: list[int]  # cluster ids where members of different owners meet
    per_heuristic: dict[str, tuple[int, int]]  # heuristic -> (merges, refused merges)

    @property
    def purity(self) -> float:
        """Share of labelled clusters with no owner conflict (1.0 when there are none)."""
        if not self.labelled_clusters:
            return 1.0
        return 1 - len(self.impure_clusters) / self.labelled_clusters


async def measure(conn: asyncpg.Connection, chain: str) -> Quality:
    members: dict[int, list[frozenset[str]]] = {}
    for row in await conn.fetch(_OWNERS, chain):
        members.setdefault(row["cluster_id"], []).append(frozenset(row["owners"]))
    impure = [cid for cid, owners in members.items() if _conflict(owners)]
    per_heuristic = {
        r["heuristic"]: (r["merges"], r["refused"]) for r in await conn.fetch(_PER_HEURISTIC, chain)
    }
    return Quality(
        labelled_clusters=len(members),
        multi_labelled_clusters=sum(1 for owners in members.values() if len(owners) > 1),
        impure_clusters=sorted(impure),
        per_heuristic=per_heuristic,
    )


def _conflict(owners: list[frozenset[str]]) -> bool:
    return any(a.isdisjoint(b) for i, a in enumerate(owners) for b in owners[i + 1 :])
