"""Stablecoin issuer freezes as labels: what the EVM/TRON indexer decodes from token logs, folded into
label changes without I/O (tracer.jobs.labels.apply_freeze_events stores them).

Events (Solidity signatures, from the verified token contracts):
- USDT (TetherToken, Ethereum 0xdAC17F958D2ee523a2206206994597C13D831ec7, and TRON):
  ``AddedBlackList(address _user)``, ``RemovedBlackList(address _user)``,
  ``DestroyedBlackFunds(address _blackListedUser, uint _balance)``;
- USDC (FiatToken Blacklistable, Ethereum 0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48):
  ``Blacklisted(address indexed _account)``, ``UnBlacklisted(address indexed _account)``.
A freeze labels the account ``blacklisted``; an unfreeze removes the label; destroyed funds keep the
account frozen and record the amount destroyed. One source per (chain, token contract).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from chains.addresses import normalize
from chains.model import Chain
from tracer.labels.records import LabelRecord
from tracer.risk.categories import Category

FORMAT = "stablecoin-freeze-events"


class FreezeAction(StrEnum):
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    DESTROY = "destroy"  # the issuer burned a frozen account's balance


FREEZE_EVENTS: dict[str, FreezeAction] = {
    "AddedBlackList": FreezeAction.FREEZE,  # USDT
    "RemovedBlackList": FreezeAction.UNFREEZE,  # USDT
    "DestroyedBlackFunds": FreezeAction.DESTROY,  # USDT
    "Blacklisted": FreezeAction.FREEZE,  # USDC
    "UnBlacklisted": FreezeAction.UNFREEZE,  # USDC
}


@dataclass(frozen=True, slots=True)
class StablecoinFreeze:
    """One decoded freeze log (addresses in any case; ``fold`` normalises and validates them)."""

    chain: Chain
    token: str  # symbol: "USDT", "USDC"
    contract: str  # the token contract that emitted the log
    event: str  # a key of FREEZE_EVENTS
    account: str  # the frozen / unfrozen account
    tx_hash: str
    block: int
    log_index: int
    amount: int | None = None  # DestroyedBlackFunds: token base units destroyed


@dataclass(slots=True)
class FreezeChanges:
    """The net effect of a batch of events of one token contract, in log order."""

    frozen: dict[str, LabelRecord] = field(default_factory=dict)  # account -> its label
    unfrozen: set[str] = field(default_factory=set)


def source_name(chain: Chain, token: str, contract: str) -> str:
    return f"stablecoin-freezes/{chain.value}/{token}/{contract}"


def source_title(chain: Chain, token: str) -> str:
    return f"{token} issuer blacklist ({chain.value}, from contract events)"


def fold(events: Iterable[StablecoinFreeze]) -> FreezeChanges:
    """Net label changes of events of ONE contract; the last event of an account decides."""
    changes = FreezeChanges()
    for event in sorted(events, key=lambda e: (e.block, e.log_index)):
        action = FREEZE_EVENTS.get(event.event)
        if action is None:
            raise ValueError(f"not a freeze event: {event.event!r}")
        account = normalize(event.chain, event.account)  # AddressError if the producer got it wrong
        if action is FreezeAction.UNFREEZE:
            changes.frozen.pop(account, None)
            changes.unfrozen.add(account)
            continue
        changes.unfrozen.discard(account)
        changes.frozen[account] = _label(event, account, changes.frozen.get(account))
    return changes


def _label(event: StablecoinFreeze, account: str, earlier: LabelRecord | None) -> LabelRecord:
    attributes: dict[str, object] = dict(earlier.attributes) if earlier else {}
    attributes.setdefault("frozen_in_tx", event.tx_hash)
    attributes.setdefault("frozen_at_block", event.block)
    if event.amount is not None:  # DestroyedBlackFunds
        attributes["destroyed_amount"] = str(event.amount)  # uint256: a string keeps it exact in JSON
        attributes["destroyed_in_tx"] = event.tx_hash
    attributes.update(token=event.token, contract=event.contract, last_event=event.event)
    return LabelRecord(
        chain=event.chain,
        address=account,
        label=f"{event.token} frozen by its issuer",
        categories=(Category.BLACKLISTED,),
        source_categories=(event.event,),
        confidence="ledger_immanent",  # GraphSense's term: the chain itself records it
        reference=None,
        attributes=attributes,
    )
