"""Each wallet's screening answer parts (tracer.risk.answers), stored by the exposure refresh and read by
screening: one indexed row per screened address instead of its exposure rows, actors and paths.

Parts are built for the public lists with the default read limits (``ANSWER_TENANTS``, ``ANSWER_LIMITS``);
a screening that sees a tenant's private labels or reads other limits is answered the reference way
(tracer.risk.screening). A full refresh rebuilds every wallet's parts; an incremental one those of the
wallets whose parts could differ: exposure rows of the actors it searched again (before and after), flows,
totals, clusters or labels it changed, and actors or tokens whose shown details changed (``answer_digests``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from chains.model import Chain
from tracer.labels.records import PUBLIC_TENANT
from tracer.risk.answers import WalletParts, wallet_parts
from tracer.risk.exposure import Actor
from tracer.store.exposure import TARGETS_SQL, Limits, read_wallets

ANSWER_TENANTS = (PUBLIC_TENANT,)
ANSWER_LIMITS = Limits()
_BATCH = 2000  # wallets per read: ~100,000 exposure rows at most
_COLUMNS = (
    "wallet", "address_id", "chain", "score", "level", "labels", "counterparties", "exposure", "reasons"
)  # fmt: skip

# Wallets with parts: those with exposure or labels.
_WALLETS_WITH_PARTS = """
SELECT wallet FROM wallet_exposure WHERE chain = $1 AND tenant = ANY($2::text[])
UNION SELECT wallet FROM wallet_labels WHERE chain = $1 AND tenant = ANY($2::text[])
ORDER BY wallet
"""
# What the parts show of an actor (for each of its labels: wallet, label, source title, actor record) and
# of a token; a wallet's parts change with them even when its exposure rows stay.
_DIGESTS = """
SELECT $1::text AS chain, wl.tenant, wl.actor_key, -1::bigint AS asset_id,
       md5(string_agg(concat_ws('|', wl.wallet, l.id, s.title, act.name, act.category), ','
                      ORDER BY wl.wallet, l.id)) AS digest
FROM wallet_labels wl JOIN labels l ON l.id = wl.label_id JOIN label_sources s ON s.id = l.source_id
LEFT JOIN actors act ON act.id = l.actor_id
WHERE wl.chain = $1 GROUP BY wl.tenant, wl.actor_key
UNION ALL
SELECT $1, '', '', tk.id, md5(concat_ws('|', tk.address, tk.symbol, tk.decimals)) FROM tokens tk
WHERE tk.chain = $1
"""
_NEW_DIGESTS = f"CREATE TEMP TABLE answer_new_digests ON COMMIT DROP AS {_DIGESTS}"
_DROP_DIGESTS = "DELETE FROM answer_digests WHERE chain = $1"
_STORE_DIGESTS = "INSERT INTO answer_digests SELECT * FROM answer_new_digests; DROP TABLE answer_new_digests"
_DIRTY = "CREATE TEMP TABLE IF NOT EXISTS answers_dirty (wallet bigint PRIMARY KEY) ON COMMIT DROP"
# Wallets with rows of the actors the incremental refresh searches again: run before their rows go, and
# after the new ones are written.
_DIRTY_AFFECTED = """
INSERT INTO answers_dirty
SELECT DISTINCT e.wallet FROM exposure_affected a
JOIN wallet_exposure e ON e.chain = $1 AND e.tenant = a.tenant AND e.actor_key = a.actor_key
ON CONFLICT DO NOTHING
"""
# Wallets whose flows (so totals and shares), cluster or labels changed (tracer.store.exposure_changes),
# and those exposed to an actor or token whose digest changed or holding a label of such an actor (an
# actor record's new category changes its owners' reasons while their label rows stay the same).
_DIRTY_CHANGED = """
WITH c AS MATERIALIZED (
    (SELECT tenant, actor_key, asset_id, digest FROM answer_new_digests
     EXCEPT SELECT tenant, actor_key, asset_id, digest FROM answer_digests WHERE chain = $1)
    UNION
    (SELECT tenant, actor_key, asset_id, digest FROM answer_digests WHERE chain = $1
     EXCEPT SELECT tenant, actor_key, asset_id, digest FROM answer_new_digests))
INSERT INTO answers_dirty
SELECT wallet FROM exposure_touched UNION SELECT wallet FROM exposure_regrouped
UNION SELECT wallet FROM exposure_flagged
UNION
SELECT e.wallet FROM c JOIN wallet_exposure e
    ON e.chain = $1 AND e.tenant = c.tenant AND e.actor_key = c.actor_key WHERE c.asset_id = -1
UNION
SELECT l.wallet FROM c JOIN wallet_labels l
    ON l.chain = $1 AND l.tenant = c.tenant AND l.actor_key = c.actor_key WHERE c.asset_id = -1
UNION
SELECT e.wallet FROM wallet_exposure e
WHERE e.chain = $1 AND e.asset_id IN (SELECT asset_id FROM c WHERE asset_id <> -1)
ON CONFLICT DO NOTHING
"""
_DROP_DIRTY = "DELETE FROM wallet_answers a USING answers_dirty d WHERE a.wallet = d.wallet"
_DIRTY_WITH_PARTS = """
SELECT d.wallet FROM answers_dirty d
WHERE EXISTS (SELECT 1 FROM wallet_exposure e WHERE e.wallet = d.wallet AND e.tenant = ANY($1::text[]))
   OR EXISTS (SELECT 1 FROM wallet_labels l WHERE l.wallet = d.wallet AND l.tenant = ANY($1::text[]))
ORDER BY d.wallet
"""


async def rebuild_all(conn: asyncpg.Connection, chain: str) -> int:
    """Every wallet's parts on ``chain`` (a full refresh). Returns how many wallets have parts."""
    await conn.execute("DELETE FROM wallet_answers WHERE chain = $1", chain)
    wallets = [r["wallet"] for r in await conn.fetch(_WALLETS_WITH_PARTS, chain, list(ANSWER_TENANTS))]
    built = await _build(conn, chain, wallets)
    await conn.execute("INSERT INTO answer_chains (chain) VALUES ($1) ON CONFLICT DO NOTHING", chain)
    await conn.execute(_NEW_DIGESTS, chain)
    await _store_digests(conn, chain)
    return built


async def mark_affected(conn: asyncpg.Connection, chain: str) -> None:
    """Note the wallets with rows of the actors searched again (call before and after their new search)."""
    await conn.execute(_DIRTY)
    await conn.execute(_DIRTY_AFFECTED, chain)


async def rebuild_changed(conn: asyncpg.Connection, chain: str) -> int:
    """The parts of the wallets an incremental refresh may have changed (after ``mark_affected``)."""
    await conn.execute(_DIRTY)
    await conn.execute(_NEW_DIGESTS, chain)
    await conn.execute(_DIRTY_CHANGED, chain)
    await conn.execute(_DROP_DIRTY)
    wallets = [r["wallet"] for r in await conn.fetch(_DIRTY_WITH_PARTS, list(ANSWER_TENANTS))]
    built = await _build(conn, chain, wallets)
    await _store_digests(conn, chain)
    await conn.execute("DROP TABLE answers_dirty")
    return built


async def _store_digests(conn: asyncpg.Connection, chain: str) -> None:
    """The digests just computed (``answer_new_digests``) become the stored ones."""
    await conn.execute(_DROP_DIGESTS, chain)
    await conn.execute(_STORE_DIGESTS)


async def _build(conn: asyncpg.Connection, chain: str, wallets: Sequence[int]) -> int:
    built = 0
    for start in range(0, len(wallets), _BATCH):
        batch = wallets[start : start + _BATCH]
        data = await read_wallets(conn, chain, batch, ANSWER_TENANTS, ANSWER_LIMITS)
        actors: dict[tuple[int, str, str], Actor] = {}
        parts = [p for w in batch for p in wallet_parts(Chain(chain), w, data, actors)]
        await conn.copy_records_to_table(
            "wallet_answers", records=[_record(chain, p) for p in parts], columns=_COLUMNS
        )
        built += len(parts)
    return built


def _record(chain: str, p: WalletParts) -> tuple[object, ...]:
    return (
        p.wallet,
        p.address_id,
        chain,
        p.score,
        p.level,
        p.labels,
        p.counterparties,
        p.exposure,
        p.reasons,
    )


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """A screened address as the fast read gives it: where it is, its activity, and its wallet's parts."""

    record: asyncpg.Record  # the TARGETS_SQL columns, ``assets`` (JSON) and ``built``
    parts: WalletParts | None  # None: the wallet has no exposure and no labels

    @property
    def built(self) -> bool:
        """Whether a full refresh built the parts of this chain (else no wallet's parts can be trusted)."""
        return bool(self.record["built"])


# An address's assets, most active first (account chains; none on Bitcoin).
_ASSETS = """(SELECT json_agg(x) FROM (
    SELECT aa.asset_id, aa.received::text AS received, aa.sent::text AS sent, aa.transfers_in,
           aa.transfers_out, tk.address AS contract, tk.symbol, tk.decimals
    FROM address_assets aa LEFT JOIN tokens tk ON tk.id = aa.asset_id WHERE aa.address_id = t.id
    ORDER BY aa.transfers_in + aa.transfers_out DESC, aa.asset_id LIMIT $3) x)"""
# No assets read (Bitcoin): no subquery at all. Even with LIMIT 0 never running it, starting its plan took
# ~8 of a single screen's ~36 us of database time (measured, bitcoin mix).
_NO_ASSETS = "NULL::json"
_BUILT = "EXISTS (SELECT 1 FROM answer_chains WHERE chain = $1)"
# The parts as the address sees them: its own (a labelled member), else those of any member; read once
# per wallet and variant (``nth`` 1), however many of its members are screened together.
_READ_MANY = f"""
SELECT x.*, wa.score, wa.level, wa.labels, wa.counterparties, wa.exposure, wa.reasons
FROM (
    SELECT t.*, {_BUILT} AS built, {{assets}} AS assets,
           v.address_id AS parts_of, row_number() OVER (PARTITION BY t.wallet, v.address_id) AS nth
    FROM ({TARGETS_SQL.format(targets="unnest($2::text[]) x (address)")}) t LEFT JOIN LATERAL (
        SELECT wa.address_id FROM wallet_answers wa WHERE wa.wallet = t.wallet AND wa.address_id IN (t.id, 0)
        ORDER BY wa.address_id DESC LIMIT 1) v ON true) x
LEFT JOIN wallet_answers wa ON x.nth = 1 AND wa.wallet = x.wallet AND wa.address_id = x.parts_of
"""
# One address (a scalar parameter keeps the plan generic, see tracer.store.exposure): its parts from the
# same lateral read that finds them, with no window to number wallets (measured: about half the database's
# work per single screen went to the window's sort and the second read of wallet_answers).
_READ_ONE = f"""
SELECT t.*, {_BUILT} AS built, {{assets}} AS assets, wa.address_id AS parts_of, 1::bigint AS nth,
       wa.score, wa.level, wa.labels, wa.counterparties, wa.exposure, wa.reasons
FROM ({TARGETS_SQL.format(targets="(SELECT $2::text AS address) x")}) t LEFT JOIN LATERAL (
    SELECT wa.* FROM wallet_answers wa WHERE wa.wallet = t.wallet AND wa.address_id IN (t.id, 0)
    ORDER BY wa.address_id DESC LIMIT 1) wa ON true
"""
# (one address, reads assets) -> the statement
_READS = {
    (one, reads): (_READ_ONE if one else _READ_MANY).format(assets=_ASSETS if reads else _NO_ASSETS)
    for one in (True, False)
    for reads in (True, False)
}


async def read_answers(
    conn: asyncpg.Connection, chain: str, addresses: Sequence[str], assets: int
) -> dict[str, AnswerRow]:
    """The known ones of ``addresses`` with their wallets' parts (``ANSWER_TENANTS``), in one statement;
    members of one wallet share its parts (one object, read once). ``assets``: per-asset rows per address
    (0: none, ``assets`` NULL)."""
    one = len(addresses) == 1
    args: list[object] = [chain, addresses[0] if one else list(addresses)]
    if assets > 0:
        args.append(assets)
    rows = await conn.fetch(_READS[one, assets > 0], *args)
    shared = {
        (r["wallet"], r["parts_of"]): _parts(r) for r in rows if r["nth"] == 1 and r["parts_of"] is not None
    }
    return {r["address"]: AnswerRow(r, shared.get((r["wallet"], r["parts_of"]))) for r in rows}


def _parts(r: asyncpg.Record) -> WalletParts:
    return WalletParts(
        r["wallet"],
        r["parts_of"],
        r["score"],
        r["level"],
        r["labels"],
        r["counterparties"],
        r["exposure"],
        r["reasons"],
    )
