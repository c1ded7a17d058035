"""Airdrop multi-participation (Victor 2020, "Address clustering heuristics for Ethereum", s.4.2).

A token distributor pays the same amount to very many addresses within a few blocks (an airdrop). Someone
who claimed it with several addresses usually gathers the tokens afterwards: several recipients forward
that same amount of that token to one address. The recipients and the gathering address are one entity.
Weak (off by default, heuristics.catalog): a shared service address can gather too.
Constants from etherclust (Victor's code, config.py): minAirDropRecipients, maxMedianAirdropBlockDiff,
minAggregations.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable

from chains.model import Transfer, TransferKind
from heuristics.evidence import Confidence, Heuristic, MergeEvidence

AIRDROP_MIN_RECIPIENTS_COUNT = 1_000  # etherclust minAirDropRecipients
AIRDROP_MAX_MEDIAN_BLOCK_GAP = 2  # blocks between consecutive airdrop payments; maxMedianAirdropBlockDiff
AIRDROP_MIN_AGGREGATIONS_COUNT = 2  # recipients forwarding to one address; etherclust minAggregations


def airdrop_evidence(
    transfers: Iterable[Transfer], min_recipients: int = AIRDROP_MIN_RECIPIENTS_COUNT
) -> list[MergeEvidence]:
    """One merge per gathering address: it and the airdrop recipients that forwarded the airdrop to it."""
    tokens = [t for t in transfers if t.kind is TransferKind.TOKEN and t.asset is not None and t.amount > 0]
    drops: dict[tuple[str, str, int], list[Transfer]] = defaultdict(list)
    for t in tokens:
        drops[(t.from_address, t.asset or "", t.amount)].append(t)
    out: list[MergeEvidence] = []
    for (distributor, asset, amount), payments in sorted(drops.items()):
        if len({p.to_address for p in payments}) < min_recipients or not _dense(payments):
            continue
        recipients = {p.to_address for p in payments}
        gathered: dict[str, list[Transfer]] = defaultdict(list)
        for t in tokens:
            same = t.asset == asset and t.amount == amount and t.from_address in recipients
            if same and t.to_address != distributor and t.to_address not in recipients:
                gathered[t.to_address].append(t)
        for collector, forwards in sorted(gathered.items()):
            senders = sorted({f.from_address for f in forwards})
            if len(senders) >= AIRDROP_MIN_AGGREGATIONS_COUNT:
                out.append(_evidence((distributor, asset, amount), collector, senders, forwards))
    return out


def _dense(payments: list[Transfer]) -> bool:
    heights = sorted(p.block_height for p in payments)
    gaps = [b - a for a, b in itertools.pairwise(heights)]
    return not gaps or statistics.median(gaps) <= AIRDROP_MAX_MEDIAN_BLOCK_GAP


def _evidence(
    drop: tuple[str, str, int], collector: str, senders: list[str], forwards: list[Transfer]
) -> MergeEvidence:
    distributor, asset, amount = drop
    last = max(forwards, key=lambda t: (t.block_height, t.tx_hash, t.index))
    return MergeEvidence(
        heuristic=Heuristic.AIRDROP,
        txid=last.tx_hash,
        block_height=last.block_height,
        addresses=tuple(sorted({collector, *senders})),
        confidence=Confidence.LOW,
        conditions=(
            f"{distributor} airdropped {amount} units of {asset}",
            f"{len(senders)} recipients forwarded exactly that amount to {collector}",
        ),
        parameters={
            "distributor": distributor,
            "asset": asset,
            "amount": str(amount),
            "collector": collector,
        },
    )
