"""Screening: who controls an address (its cluster), what it is linked to, and how risky that is.

The same JSON comes out of the CLI (``tracer screen``) and the API (``POST /v1/screen``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.config import Settings
from tracer.errors import InvalidAddress, UnsupportedChain
from tracer.labels.records import PUBLIC_TENANT, check_tenant
from tracer.risk.categories import Category
from tracer.risk.scoring import Finding, Relation, assess
from tracer.store import account_screening
from tracer.store import screening as q
from tracer.store.errors import translate_errors

SCREENABLE_CHAINS = (Chain.BITCOIN, Chain.ETHEREUM, Chain.TRON)  # chains with indexed transactions


PUBLIC_TENANTS = (PUBLIC_TENANT,)  # shared lists; a tenant's private labels are added to these


@dataclass(frozen=True, slots=True)
class ScreeningOptions:
    """``tenants``: whose labels a screen sees: the public lists, plus the caller's own private labels
    (``for_tenant``) and no one else's. The API sets the caller's tenant once keys carry one."""

    tenants: tuple[str, ...] = PUBLIC_TENANTS
    max_counterparties: int = 5000  # per direction, largest amounts first

    @classmethod
    def from_settings(cls, settings: Settings, tenant: str | None = None) -> ScreeningOptions:
        return cls(tenants=tenants_for(tenant), max_counterparties=settings.screen_max_counterparties)


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
    result: dict[str, object] = {
        "chain": chain.value,
        "address": address,
        "screened_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        row = await q.find_address(conn, chain.value, address)
        if row is None:
            result.update(known=False, cluster=None, labels=[], counterparties=[], risk=assess([]).as_dict())
            return result
        own = await q.cluster_labels(conn, row.cluster_id, options.tenants)
        # Account chains (transfers per asset) and Bitcoin (inputs/outputs) have their own queries.
        flows = account_screening if chain in account_screening.ACCOUNT_CHAINS else q
        # Payments inside one wallet (change, consolidation) are not exposure to anyone else.
        all_parties = await flows.counterparties(conn, row.id, options.max_counterparties)
        parties = [c for c in all_parties if c.cluster_id != row.cluster_id]
        party_labels = await q.labels_of(
            conn, [c.address_id for c in parties], sorted({c.cluster_id for c in parties}), options.tenants
        )
        seen = await flows.activity(conn, row.id)
    findings = [_finding(lb, Relation.SELF if lb.address_id == row.id else Relation.CLUSTER) for lb in own]
    labelled_parties = _counterparty_findings(parties, party_labels, findings, chain.base_unit)
    result.update(
        known=True,
        cluster={"id": row.cluster_id, "size": row.cluster_size},
        activity={
            "tx_count": seen.tx_count,
            "received": seen.received,
            "sent": seen.sent,
            "inputs_value_unknown": seen.inputs_value_unknown,
            "first_block": seen.first_height,
            "last_block": seen.last_height,
            **({"assets": seen.assets} if isinstance(seen, account_screening.AccountActivity) else {}),
        },
        labels=[label_json(label, "self" if label.address_id == row.id else "cluster") for label in own],
        counterparties=labelled_parties,
        exposure={
            "counterparties": len({c.address_id for c in parties}),
            "labelled_counterparties": len(labelled_parties),
            "truncated": len(all_parties) >= options.max_counterparties,
        },
        risk=assess(findings).as_dict(),
    )
    return result


def _finding(
    label: q.LabelRow, relation: Relation, party: q.CounterpartyRow | None = None, unit: str = "base units"
) -> Finding:
    return Finding(
        relation=relation,
        labelled_address=label.address,
        label=label.label,
        category=Category(label.category),
        source=label.source,
        actor=label.actor,
        confidence=label.confidence,
        counterparty=party.address if party else None,
        direction=party.direction if party else None,
        amount=party.amount if party else None,
        tx_count=party.tx_count if party else None,
        unit=unit,
    )


def _counterparty_findings(
    parties: Sequence[q.CounterpartyRow], labels: Sequence[q.LabelRow], findings: list[Finding], unit: str
) -> list[dict[str, object]]:
    """Append a finding per (counterparty, label); return the labelled counterparties for the JSON."""
    by_address: dict[int, list[q.LabelRow]] = defaultdict(list)
    by_cluster: dict[int, list[q.LabelRow]] = defaultdict(list)
    for label in labels:
        by_address[label.address_id].append(label)
        by_cluster[label.cluster_id].append(label)
    out = []
    for party in parties:
        own = by_address.get(party.address_id, [])
        wallet = [lb for lb in by_cluster.get(party.cluster_id, []) if lb.address_id != party.address_id]
        if not own and not wallet:
            continue
        asset = party if isinstance(party, account_screening.AssetCounterpartyRow) else None
        party_unit = asset.unit(unit) if asset else unit
        findings.extend(_finding(lb, Relation.COUNTERPARTY, party, party_unit) for lb in own)
        findings.extend(_finding(lb, Relation.COUNTERPARTY_CLUSTER, party, party_unit) for lb in wallet)
        out.append(
            {
                "address": party.address,
                "direction": party.direction,
                "amount": party.amount,
                **(asset.asset_json() if asset else {}),
                "tx_count": party.tx_count,
                "cluster_id": party.cluster_id,
                "labels": [label_json(lb, "counterparty") for lb in own]
                + [label_json(lb, "counterparty_cluster") for lb in wallet],
            }
        )
    return out


def label_json(label: q.LabelRow, relation: str) -> dict[str, object]:
    return {
        "address": label.address,
        "relation": relation,
        "label": label.label,
        "category": label.category,
        "source": label.source,
        "actor": label.actor,
        "confidence": label.confidence,
        "reference": label.reference,
    }
