"""What a heuristic decision carries: the record the API shows as "why".

A ``MergeEvidence`` says that a set of addresses is controlled by one entity, because of one transaction,
and which sub-conditions held. A ``Veto`` says that a heuristic would have merged but did not, and why
(for example: the transaction looks like a CoinJoin). Both are stored, so a cluster can always answer
"why is this address here?" and "why is that one not?".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Heuristic(StrEnum):
    COMMON_INPUT = "common_input"
    CHANGE_FRESH_ADDRESS = "change_fresh_address"
    CHANGE_OPTIMAL = "change_optimal"
    CHANGE_ADDRESS_TYPE = "change_address_type"
    CHANGE_FINGERPRINT = "change_fingerprint"
    DEPOSIT_ADDRESS = "deposit_address"
    AIRDROP = "airdrop"
    SELF_AUTHORIZATION = "self_authorization"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class VetoReason(StrEnum):
    WHIRLPOOL = "coinjoin_whirlpool"
    WASABI_1 = "coinjoin_wasabi1"
    WASABI_2 = "coinjoin_wasabi2"
    JOINMARKET = "coinjoin_joinmarket"
    EQUAL_OUTPUTS = "coinjoin_equal_outputs"
    MULTISIG = "multisig_output"  # change heuristics: a multisig output may be a co-signer's
    AMBIGUOUS = "ambiguous_change"  # no single output qualifies, or several do


@dataclass(frozen=True, slots=True)
class MergeEvidence:
    heuristic: Heuristic
    txid: str
    block_height: int | None
    addresses: tuple[str, ...]  # distinct, sorted: the addresses this decision puts in one cluster
    confidence: Confidence
    conditions: tuple[str, ...] = ()  # the sub-conditions that held, in words a court can read
    parameters: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Veto:
    heuristic: Heuristic
    txid: str
    block_height: int | None
    reason: VetoReason
    detail: str  # which guard matched, with the measured values
    parameters: dict[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NotRun:
    """A heuristic that could not run, and why (for example: no exchange wallets are labelled)."""

    heuristic: Heuristic
    reason: str
