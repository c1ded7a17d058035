"""Screening: who controls an address (its cluster), what it is linked to, and how risky that is.

The same JSON comes out of the CLI (``tracer screen``) and the API (``POST /v1/screen``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import orjson

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.config import Settings
from tracer.errors import InvalidAddress, UnsupportedChain
from tracer.labels.records import PUBLIC_TENANT, check_tenant
from tracer.risk.answers import label_json, plain
from tracer.risk.exposure import Actor, asset_name, exposures_of, ownership_findings
from tracer.risk.scoring import assess
from tracer.store.coverage_cache import read_coverage_cached
from tracer.store.errors import translate_errors
from tracer.store.exposure import (
    AssetActivity,
    Limits,
    ScreeningData,
    Stats,
    asset_activity,
    read_screening,
    stats_of,
)
from tracer.store.wallet_answers import ANSWER_LIMITS, ANSWER_TENANTS, AnswerRow, read_answers

# Bitcoin from tx_inputs / tx_outputs, Ethereum and TRON from transfers (tracer.store.flows).
SCREENABLE_CHAINS = (Chain.BITCOIN, Chain.ETHEREUM, Chain.TRON)


PUBLIC_TENANTS = (PUBLIC_TENANT,)  # shared lists; a tenant's private labels are added to these


@dataclass(frozen=True, slots=True)
class ScreeningOptions:
    """``tenants``: whose labels a screen sees: the public lists, plus the caller's own private labels
    (``for_tenant``) and no one else's. The API sets the caller's tenant once keys carry one."""

    tenants: tuple[str, ...] = PUBLIC_TENANTS
    limits: Limits = field(default_factory=Limits)

    @classmethod
    def from_settings(cls, settings: Settings, tenant: str | None = None) -> ScreeningOptions:
        return cls(
            tenants=tenants_for(tenant),
            limits=Limits(exposures_per_wallet=settings.screen_max_counterparties),
        )


def tenants_for(tenant: str | None) -> tuple[str, ...]:
    """The label tenants a caller of ``tenant`` sees (None or "public": the public lists only)."""
    if tenant is None or tenant == PUBLIC_TENANT:
        return PUBLIC_TENANTS
    return (PUBLIC_TENANT, check_tenant(tenant))


def parse_target(chain: str, address: str) -> tuple[Chain, str]:
    """Validate and normalise at the edge: InputError subclasses for anything wrong."""
    try:
        parsed_chain = Chain(chain.strip().lower())
    except ValueError:
        raise UnsupportedChain(
            f"unsupported chain {chain!r}", supported=[c.value for c in SCREENABLE_CHAINS]
        ) from None
    if parsed_chain not in SCREENABLE_CHAINS:
        raise UnsupportedChain(
            f"chain {parsed_chain.value!r} is not screenable yet",
            supported=[c.value for c in SCREENABLE_CHAINS],
        )
    try:
        return parsed_chain, normalize(parsed_chain, address)
    except AddressError as exc:
        raise InvalidAddress(str(exc), chain=parsed_chain.value, address=address[:120]) from exc


async def screen(
    pool: asyncpg.Pool, chain: str, address: str, options: ScreeningOptions = ScreeningOptions()
) -> dict[str, object]:
    parsed_chain, normalised = parse_target(chain, address)
    async with translate_errors(), pool.acquire() as conn:
        return await screen_on(conn, parsed_chain, normalised, options)


async def screen_on(
    conn: asyncpg.Connection, chain: Chain, address: str, options: ScreeningOptions
) -> dict[str, object]:
    batch = await screen_many(conn, chain, [address], options)
    return {**plain(batch.results[0]), "coverage": batch.coverage}


@dataclass(frozen=True, slots=True)
class Screened:
    results: list[dict[str, object]]  # in the order asked
    coverage: dict[str, object]  # what all of them covered: chains and heights, and the id of the rest


async def screen_many(
    conn: asyncpg.Connection,
    chain: Chain,
    addresses: Sequence[str],
    options: ScreeningOptions,
    *,
    precomputed: bool = True,
) -> Screened:
    """Screen normalised addresses of one chain, set-based (not one statement per address): one round
    trip for the addresses whose wallets' answer parts the refresh stored (tracer.store.wallet_answers;
    their ``labels``, ``counterparties``, ``exposure`` and ``risk.reasons`` are JSON fragments), one more
    for the rest.
    The coverage reference is mostly cached (it changes with indexing, imports and refreshes, not per
    screen); its full block is at ``GET /v1/coverage/{id}``. ``precomputed=False`` answers every address
    the reference way (the oracle the stored parts are checked against)."""
    screened_at = datetime.now(UTC).isoformat(timespec="seconds")
    coverage = await read_coverage_cached(conn, options.tenants)
    answers: dict[str, dict[str, object]] = {}
    if precomputed and options.tenants == ANSWER_TENANTS and options.limits == ANSWER_LIMITS:
        # Bitcoin shows no per-asset activity (_activity): 0 reads none
        assets = 0 if chain is Chain.BITCOIN else options.limits.assets_per_address
        rows = await read_answers(conn, chain.value, addresses, assets)
        for address in addresses:
            row = rows.get(address)
            if row is None:
                answers[address] = _answer(chain, address, ScreeningData(), screened_at, {})  # not known
            elif row.built:
                answers[address] = _from_parts(chain, row, screened_at)
    rest = [a for a in addresses if a not in answers]
    if rest:  # the reference way: from the exposure rows, actors and paths
        data = await read_screening(conn, chain.value, rest, options.tenants, options.limits)
        actors: dict[tuple[int, str, str], Actor] = {}  # each actor's shared part, worked out once
        answers.update((a, _answer(chain, a, data, screened_at, actors)) for a in rest)
    return Screened([answers[a] for a in addresses], coverage)


def _from_parts(chain: Chain, row: AnswerRow, screened_at: str) -> dict[str, object]:
    """An address's answer from its wallet's stored parts (as the address sees them: its own labels)."""
    r = row.record
    data = ScreeningData()
    for a in orjson.loads(r["assets"] or "[]"):
        data.assets[r["id"]].append(asset_activity(a))
        if a["contract"] is not None:
            data.tokens[a["asset_id"]] = (a["contract"], a["symbol"], a["decimals"])
    stats = stats_of(r) if r["tx_count"] is not None else None
    result: dict[str, object] = {
        "chain": chain.value,
        "address": r["address"],
        "screened_at": screened_at,
        "known": True,
        "cluster": {"id": r["wallet"], "size": r["wallet_size"]},
        "activity": _activity(chain, stats, data, r["id"]),
    }
    if row.parts is None:  # no labels, no exposure
        result.update(labels=[], counterparties=[], exposure=[], risk=assess([]).as_dict())
    else:
        result.update(row.parts.fill(r["address"]))
    return result


def _answer(
    chain: Chain,
    address: str,
    data: ScreeningData,
    screened_at: str,
    actors: dict[tuple[int, str, str], Actor],
) -> dict[str, object]:
    result: dict[str, object] = {"chain": chain.value, "address": address, "screened_at": screened_at}
    target = data.targets.get(address)
    if target is None:
        result.update(known=False, cluster=None, labels=[], counterparties=[], exposure=[])
        result.update(risk=assess([]).as_dict())
        return result
    own = data.labels.get(target.wallet, [])
    exposures = exposures_of(chain, target, data, actors)
    findings = ownership_findings(target, own) + [f for e in exposures for f in e.findings()]
    result.update(
        known=True,
        cluster={"id": target.wallet, "size": target.wallet_size},
        activity=_activity(chain, data.stats.get(target.id), data, target.id),
        labels=[label_json(lb, "self" if lb.address_id == target.id else "cluster") for lb in own],
        counterparties=[e.as_counterparty() for e in exposures if e.row.hops == 1],
        exposure=[e.as_dict() for e in exposures],
        risk=assess(findings).as_dict(),
    )
    return result


def _activity(chain: Chain, stats: Stats | None, data: ScreeningData, address_id: int) -> dict[str, object]:
    """An address's activity as of the last exposure refresh. ``sent`` is null when some spends have no
    known value (their spent outputs are not indexed): ``sent_known`` is then what we can sum. Account
    chains add ``assets``: received and sent per asset (native coin and tokens), in base units."""
    if stats is None:  # labelled, never seen in a transaction (or indexed after the last refresh)
        stats = Stats(0, 0, 0, 0, 0, None, None)
    unknown = stats.spends_value_unknown
    activity: dict[str, object] = {
        "tx_count": stats.tx_count,
        "received": stats.received,
        "sent": None if unknown else stats.sent,
        "sent_known": stats.sent,
        "inputs_value_unknown": unknown,
        "first_block": stats.first_height,
        "last_block": stats.last_height,
    }
    if chain is not Chain.BITCOIN:
        activity["assets"] = [_asset_activity(chain, a, data) for a in data.assets.get(address_id, ())]
    return activity


def _asset_activity(chain: Chain, activity: AssetActivity, data: ScreeningData) -> dict[str, object]:
    return {
        **asset_name(chain, activity.asset_id, data).as_dict(),
        "received": activity.received,
        "sent": activity.sent,
        "transfers_in": activity.transfers_in,
        "transfers_out": activity.transfers_out,
    }
