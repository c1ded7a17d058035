"""Exposure of a screened address's wallet to labelled actors, from the precomputed rows.

Ownership: labels on the address (self) or on another address of its wallet (cluster). Counterparty
exposure: the wallet received value from an actor (incoming, source of funds) or sent value to it
(outgoing, destination), directly (1 hop) or through other wallets (indirect, up to the rules' max hops).
Each exposure names the amount per asset in base units, its share of the wallet's total in that
direction, the path and the transactions that carry it. An amount we do not know is ``null``, not 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from chains.model import Chain
from tracer.risk.categories import SEVERITY, Category
from tracer.risk.rules import Direction, Relation
from tracer.risk.scoring import Finding
from tracer.store.exposure import ExposureRow, LabelRow, ScreeningData, Target

_T = TypeVar("_T")

NATIVE_ASSET = 0  # wallet_flows.asset_id of the chain's own coin


def display_txid(chain: Chain, txid_hex: str) -> str:
    return txid_hex if chain is Chain.BITCOIN else "0x" + txid_hex


class Asset(NamedTuple):
    """How an answer names an asset: ``asset`` is "native" or the token contract; amounts stay integer
    base units (``unit``); ``symbol`` and ``decimals`` (base units per whole coin, a power of ten) are the
    token's own where it said them, else None."""

    asset: str
    unit: str
    symbol: str | None
    decimals: int | None

    def as_dict(self) -> dict[str, object]:
        return {"asset": self.asset, "unit": self.unit, "symbol": self.symbol, "decimals": self.decimals}


def asset_name(chain: Chain, asset_id: int, data: ScreeningData) -> Asset:
    """The native coin in its base unit, or a token (its contract) in its base units, named by its symbol
    when the token said it."""
    if asset_id == NATIVE_ASSET:
        return Asset("native", chain.base_unit, chain.native_symbol, chain.native_decimals)
    contract, symbol, decimals = data.tokens.get(asset_id, (f"token:{asset_id}", None, None))
    return Asset(contract, f"{symbol} base units" if symbol else "token base units", symbol, decimals)


def actor_name(label: LabelRow) -> str:
    """The linked actor record's name, else the actor its source names, else the label itself."""
    return label.actor_name or label.actor or label.label


def ownership_findings(target: Target, labels: list[LabelRow]) -> list[Finding]:
    return [
        Finding(
            actor_key=lb.actor_key,
            actor=actor_name(lb),
            relation=Relation.SELF if lb.address_id == target.id else Relation.CLUSTER,
            category=Category(lb.category),
            label=lb.label,
            source=lb.source,
            labelled_address=lb.address,
            actor_id=lb.actor_id,
            actor_category=lb.actor_category,
        )
        for lb in labels
    ]


@dataclass(frozen=True, slots=True)
class Actor:
    """What every exposure to one actor (its labels on one wallet) shares, worked out once per screening."""

    labels: tuple[LabelRow, ...]  # the actor's labels on its wallet where the path starts
    categories: tuple[Category, ...]  # of each label
    name: str
    worst: Category
    sources: tuple[str, ...]
    labelled_addresses: tuple[str, ...]

    @classmethod
    def of(cls, labels: list[LabelRow]) -> Actor:
        categories = tuple(Category(lb.category) for lb in labels)
        return cls(
            labels=tuple(labels),
            categories=categories,
            name=actor_name(labels[0]),
            worst=min(categories, key=lambda c: (-SEVERITY[c], c.value)),
            sources=tuple(sorted({lb.source for lb in labels})),
            labelled_addresses=tuple(sorted({lb.address for lb in labels})),
        )


@dataclass(frozen=True, slots=True)
class Exposure:
    """One precomputed exposure of the screened wallet, resolved to names, amounts and transactions."""

    row: ExposureRow
    actor_info: Actor
    asset: Asset
    amount: int | None
    share: float | None
    path: tuple[tuple[int, str | None], ...]  # (wallet, its address) in the direction funds moved
    txids: tuple[str, ...]
    path_txids: tuple[str, ...]

    @property
    def labels(self) -> tuple[LabelRow, ...]:
        return self.actor_info.labels

    @property
    def actor(self) -> str:
        return self.actor_info.name

    def as_dict(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "actor_id": self.labels[0].actor_id,
            "category": self.actor_info.worst.value,
            "direction": self.row.direction,
            "exposure": "direct" if self.row.hops == 1 else "indirect",
            "hops": self.row.hops,
            **self.asset.as_dict(),
            "amount": self.amount,
            "amount_is_lower_bound": self.row.unknown_txs > 0 and self.amount is not None,
            "txs_value_unknown": self.row.unknown_txs,
            "share": self.share,
            "tx_count": self.row.tx_count,
            "txids": list(self.txids),
            "path": [{"wallet": w, "address": a} for w, a in self.path],
            "path_txids": list(self.path_txids),
            "labelled_addresses": list(self.actor_info.labelled_addresses),
            "sources": list(self.actor_info.sources),
        }

    def findings(self) -> list[Finding]:
        path = tuple(a or str(w) for w, a in self.path)
        direction = Direction(self.row.direction)
        return [
            Finding(
                actor_key=self.row.actor_key,
                actor=self.actor,
                relation=Relation.COUNTERPARTY,
                category=category,
                label=lb.label,
                source=lb.source,
                labelled_address=lb.address,
                hops=self.row.hops,
                direction=direction,
                amount=self.amount,
                amount_is_lower_bound=self.row.unknown_txs > 0,
                share=self.share,
                asset=self.asset.asset,
                unit=self.asset.unit,
                symbol=self.asset.symbol,
                decimals=self.asset.decimals,
                tx_count=self.row.tx_count,
                path=path,
                txids=self.txids,
                actor_id=lb.actor_id,
                actor_category=lb.actor_category,
            )
            for lb, category in zip(self.labels, self.actor_info.categories, strict=True)
        ]

    def as_counterparty(self) -> dict[str, object]:
        """Direct exposure in the shape of the answer's ``counterparties`` (kept for existing clients)."""
        return {
            "address": self.labels[0].address,
            "cluster_id": self.row.path[0],
            "direction": "sent_to" if self.row.direction == Direction.OUTGOING else "received_from",
            **self.asset.as_dict(),
            "amount": self.amount,
            "tx_count": self.row.tx_count,
            "actor": self.actor,
            "category": self.actor_info.worst.value,
            "sources": list(self.actor_info.sources),
        }


def exposures_of(
    chain: Chain, target: Target, data: ScreeningData, actors: dict[tuple[int, str, str], Actor] | None = None
) -> list[Exposure]:
    """The target wallet's exposures; ``actors`` caches each actor's shared part across the targets of one
    screening."""
    actors = {} if actors is None else actors
    out = []
    for row in data.exposures.get(target.wallet, []):
        key = (row.path[0], row.tenant, row.actor_key)
        actor = actors.get(key)
        if actor is None:
            labels = data.actor_labels.get(key, [])
            if not labels:
                continue  # the actor's labels went away after the refresh; nothing to name
            actor = actors[key] = Actor.of(labels)
        amount = _amount(row)
        out.append(
            Exposure(
                row=row,
                actor_info=actor,
                asset=asset_name(chain, row.asset_id, data),
                amount=amount,
                share=_share(row, amount, data),
                path=tuple((w, _shown(w, target, actor.labels, data)) for w in _flow_order(row, row.path)),
                txids=tuple(display_txid(chain, t) for t in row.txids),
                path_txids=tuple(display_txid(chain, t) for t in _flow_order(row, row.path_txids)),
            )
        )
    return out


def _shown(wallet: int, target: Target, labels: Sequence[LabelRow], data: ScreeningData) -> str | None:
    """The address that stands for a wallet on a path: the screened one, the labelled one, else the
    wallet's smallest."""
    if wallet == target.wallet:
        return target.address
    if wallet == labels[0].wallet:
        return labels[0].address
    return data.addresses.get(wallet)


def _amount(row: ExposureRow) -> int | None:
    # A path whose known part is 0 but has transactions of unknown value: the amount is unknown.
    return None if row.amount == 0 and row.unknown_txs > 0 else row.amount


def _share(row: ExposureRow, amount: int | None, data: ScreeningData) -> float | None:
    incoming, outgoing = data.totals.get((row.wallet, row.asset_id), (0, 0))
    total = incoming if row.direction == Direction.INCOMING else outgoing
    if amount is None or total <= 0:
        return None
    return round(min(amount / total, 1.0), 6)


def _flow_order(row: ExposureRow, items: list[_T]) -> list[_T]:
    # Paths are stored from the actor outwards; outgoing funds flow the other way.
    return list(items) if row.direction == Direction.INCOMING else list(reversed(items))
