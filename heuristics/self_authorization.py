"""Self-authorization (Victor 2020, "Address clustering heuristics for Ethereum", s.4.3).

An ERC-20 ``approve`` lets a spender move the owner's tokens. When the spender is an externally owned
account (not a contract such as an exchange router or a DEX) and later sends a transaction that moves the
owner's tokens, the owner and the spender are one entity: people authorize their own second account.
Approvals to contracts say nothing about ownership and are left out; the caller says which addresses are
contracts, and which account sent each transaction (``senders``: tx hash -> sender).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from chains.model import TokenEvent, TokenEventKind, Transfer, TransferKind
from heuristics.evidence import Confidence, Heuristic, MergeEvidence


def self_authorization_evidence(
    approvals: Iterable[tuple[int, TokenEvent]],
    transfers: Iterable[Transfer],
    senders: Mapping[str, str],
    contracts: frozenset[str],
) -> list[MergeEvidence]:
    """``approvals``: (block height, event) pairs. One merge per (owner, spender) pair: the spender, not a
    contract, sent a transaction moving the owner's tokens of the approved contract at or after approval."""
    granted: dict[tuple[str, str, str], int] = {}
    for height, event in approvals:
        spender = event.spender
        usable = event.kind is TokenEventKind.APPROVAL and spender is not None and spender not in contracts
        if usable and spender != event.subject and (event.amount or 0) > 0:
            key = (event.token, event.subject, str(spender))
            granted[key] = min(granted.get(key, height), height)
    found: dict[tuple[str, str], MergeEvidence] = {}
    for t in sorted(transfers, key=lambda t: (t.block_height, t.tx_hash, t.index)):
        sender = senders.get(t.tx_hash)
        if t.kind is not TransferKind.TOKEN or t.asset is None or sender is None:
            continue
        approved_at = granted.get((t.asset, t.from_address, sender))
        pair = (t.from_address, sender)
        if approved_at is not None and approved_at <= t.block_height and pair not in found:
            found[pair] = _evidence(t, sender, approved_at)
    return [found[p] for p in sorted(found)]


def _evidence(t: Transfer, spender: str, approved_at: int) -> MergeEvidence:
    return MergeEvidence(
        heuristic=Heuristic.SELF_AUTHORIZATION,
        txid=t.tx_hash,
        block_height=t.block_height,
        addresses=tuple(sorted({t.from_address, spender})),
        confidence=Confidence.MEDIUM,
        conditions=(
            f"{t.from_address} approved {spender} (not a contract) on token {t.asset} at block {approved_at}",
            f"{spender} then sent this transaction, moving {t.amount} units of the owner's tokens",
        ),
        parameters={"token": t.asset or "", "owner": t.from_address, "spender": spender},
    )
