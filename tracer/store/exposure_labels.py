"""An incremental exposure refresh's wallet labels and actor seeds, brought up to date by their differences.

``wallet_labels`` (which labels each wallet holds) and ``exposure_seeds`` (each actor's wallets and weight)
follow from labels and clusters. Rewriting them whole made every refresh cost the same whatever changed
(measured on the bundled lists, 79,281 labels: ~1.1 s after a re-import that changed nothing). Instead,
the chain's wallet labels are computed in one hash join and compared with the stored rows; only the rows
that differ are written (the temp table ``exposure_label_changes``), their wallets are flagged (their labels
block or open other actors' paths), and only the seeds of the (tenant, actor, wallet) keys of those rows are
computed again: the actors whose seeds differ are the ones searched again.

The seeds' weights come from the rules' category scores; tracer.store.exposure_refresh saves those with the
search bounds, so a change of the rules makes the next refresh a full one.

Rows of labels deleted since the last refresh (a source replaced or deleted) stay in ``wallet_labels``
until the next one: its readers join ``labels``, so they never see them, and the refresh deletes them here
in one statement (the foreign key's cascade deleted them one label at a time: migration 025).
"""

from __future__ import annotations

import asyncpg

from tracer.store.exposure_search import SEEDS_OF_KEYS_SQL

# How labels are grouped into actors: the actor record a label links to (labels.actor_id, so an OFAC list
# label resolved to its designated owner joins that owner's other labels), else the actor text a source
# names; a label without either stands for whoever controls its address, so the lists that name one
# address without an actor count as one actor.
ACTOR_KEY_SQL = (
    "CASE WHEN l.actor_id IS NOT NULL THEN 'actor_id:' || l.actor_id"
    " WHEN l.actor IS NOT NULL AND l.actor <> '' THEN 'actor:' || l.actor"
    " ELSE 'address:' || l.address_id END"
)
# The chain's wallet labels as the labels and clusters are now.
CURRENT_WALLET_LABELS = f"""
SELECT COALESCE(ac.cluster_id, l.address_id) AS wallet, l.id AS label_id, l.tenant,
       {ACTOR_KEY_SQL} AS actor_key
FROM labels l JOIN addresses a ON a.id = l.address_id
LEFT JOIN address_clusters ac ON ac.address_id = l.address_id
WHERE a.chain = $1
"""
_CHANGES = f"""
CREATE TEMP TABLE exposure_label_changes ON COMMIT DROP AS
SELECT COALESCE(n.wallet, o.wallet) AS wallet, COALESCE(n.label_id, o.label_id) AS label_id,
       o.tenant AS old_tenant, o.actor_key AS old_actor_key,
       n.tenant AS new_tenant, n.actor_key AS new_actor_key
FROM ({CURRENT_WALLET_LABELS}) n
FULL JOIN (SELECT wallet, label_id, tenant, actor_key FROM wallet_labels WHERE chain = $1) o
    ON o.wallet = n.wallet AND o.label_id = n.label_id
WHERE n.label_id IS NULL OR o.label_id IS NULL OR n.tenant <> o.tenant OR n.actor_key <> o.actor_key
"""
_APPLY_CHANGES = [
    """DELETE FROM wallet_labels w USING exposure_label_changes c
       WHERE w.chain = $1 AND c.old_tenant IS NOT NULL AND w.wallet = c.wallet AND w.label_id = c.label_id""",
    """INSERT INTO wallet_labels (chain, wallet, label_id, tenant, actor_key)
       SELECT $1, wallet, label_id, new_tenant, new_actor_key FROM exposure_label_changes
       WHERE new_tenant IS NOT NULL""",
]
_FLAG_RELABELLED = """
INSERT INTO exposure_flagged SELECT DISTINCT wallet FROM exposure_label_changes ON CONFLICT DO NOTHING
"""
# The seed keys whose labels changed: each side of a changed row.
_SEED_KEYS = """
CREATE TEMP TABLE exposure_seed_keys ON COMMIT DROP AS
SELECT old_tenant AS tenant, old_actor_key AS actor_key, wallet FROM exposure_label_changes
WHERE old_tenant IS NOT NULL
UNION
SELECT new_tenant, new_actor_key, wallet FROM exposure_label_changes WHERE new_tenant IS NOT NULL
"""
_NEW_SEEDS = f"CREATE TEMP TABLE exposure_new_seeds ON COMMIT DROP AS {SEEDS_OF_KEYS_SQL}"
_STORED_SEEDS = """
SELECT s.tenant, s.actor_key, s.wallet, s.weight FROM exposure_seeds s
JOIN exposure_seed_keys k ON k.tenant = s.tenant AND k.actor_key = s.actor_key AND k.wallet = s.wallet
WHERE s.chain = $1
"""
# Actors whose seeds (wallets, weights) differ from the stored ones.
_RESEEDED = f"""
INSERT INTO exposure_affected
SELECT tenant, actor_key FROM (
    ({_STORED_SEEDS} EXCEPT SELECT tenant, actor_key, wallet, weight FROM exposure_new_seeds)
    UNION ALL
    (SELECT tenant, actor_key, wallet, weight FROM exposure_new_seeds EXCEPT {_STORED_SEEDS})) d
ON CONFLICT DO NOTHING
"""
_STORE_SEEDS = [
    """DELETE FROM exposure_seeds s USING exposure_seed_keys k
       WHERE s.chain = $1 AND s.tenant = k.tenant AND s.actor_key = k.actor_key AND s.wallet = k.wallet""",
    """INSERT INTO exposure_seeds (chain, tenant, actor_key, wallet, weight)
       SELECT $1, tenant, actor_key, wallet, weight FROM exposure_new_seeds""",
]


async def update_wallet_labels(conn: asyncpg.Connection, chain: str) -> int:
    """Bring the chain's ``wallet_labels`` up to date, keeping the rows that changed in the temp table
    ``exposure_label_changes``. Returns how many."""
    changed = await conn.execute(_CHANGES, chain)  # "SELECT n"
    for statement in _APPLY_CHANGES:
        await conn.execute(statement, chain)
    return int(changed.split()[-1])


async def update_seeds(conn: asyncpg.Connection, chain: str, weights: tuple[list[str], list[float]]) -> None:
    """After ``update_wallet_labels``: the wallets whose labels changed flagged (``exposure_flagged``), the
    seeds of the changed keys computed again and stored, and the actors whose seeds differ added to
    ``exposure_affected``."""
    await conn.execute(_FLAG_RELABELLED)
    await conn.execute(_SEED_KEYS)
    await conn.execute(_NEW_SEEDS, chain, *weights)
    await conn.execute(_RESEEDED, chain)
    for statement in _STORE_SEEDS:
        await conn.execute(statement, chain)
