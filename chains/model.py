"""Shared frozen records for every chain.

Parsers in ``chains/<chain>/parse.py`` produce these; heuristics read them; the store writes them.
Amounts are integers in the chain's base unit (satoshi for Bitcoin). Hashes and txids are lower-case
hex in display byte order (the order block explorers and RPC use). Addresses are normalised strings:
base58check as encoded, bech32/bech32m lower-case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Chain(StrEnum):
    BITCOIN = "bitcoin"
    ETHEREUM = "ethereum"
    TRON = "tron"

    @property
    def base_unit(self) -> str:
        """The integer unit amounts are stored in."""
        return _BASE_UNITS[self]

    @property
    def native_symbol(self) -> str:
        return _NATIVE[self][0]

    @property
    def native_decimals(self) -> int:
        """Base units per coin, as a power of ten."""
        return _NATIVE[self][1]


_BASE_UNITS = {Chain.BITCOIN: "sat", Chain.ETHEREUM: "wei", Chain.TRON: "sun"}
# 1 BTC = 10**8 sat (Bitcoin Core COIN), 1 ether = 10**18 wei (Yellow Paper), 1 TRX = 10**6 sun (TRON docs).
_NATIVE = {Chain.BITCOIN: ("BTC", 8), Chain.ETHEREUM: ("ETH", 18), Chain.TRON: ("TRX", 6)}


class ScriptType(StrEnum):
    """Output script templates (names follow Bitcoin Core's ``scriptPubKey.type``)."""

    P2PK = "pubkey"
    P2PKH = "pubkeyhash"
    P2SH = "scripthash"
    MULTISIG = "multisig"
    P2WPKH = "witness_v0_keyhash"
    P2WSH = "witness_v0_scripthash"
    P2TR = "witness_v1_taproot"
    WITNESS_UNKNOWN = "witness_unknown"
    NULLDATA = "nulldata"
    NONSTANDARD = "nonstandard"


class InputSource(StrEnum):
    """Where an input's address and value came from; courts ask how we know."""

    COINBASE = "coinbase"  # new coins: no spent output
    PREVOUT = "prevout"  # the source carried the spent output (getblock v3, raito, UTXO set)
    STORED = "stored"  # our own stored output of the spending transaction
    SCRIPT = "script"  # derived from scriptSig / witness (address only, no value)
    UNRESOLVED = "unresolved"  # kept as an outpoint; resolved later when the spent tx is indexed


@dataclass(frozen=True, slots=True)
class OutPoint:
    txid: str
    vout: int


@dataclass(frozen=True, slots=True)
class TxOut:
    index: int
    value: int  # satoshi
    script_type: ScriptType
    address: str | None  # None for OP_RETURN, bare multisig and non-standard scripts


@dataclass(frozen=True, slots=True)
class TxIn:
    index: int
    prevout: OutPoint | None  # None for the coinbase input
    sequence: int
    source: InputSource
    address: str | None = None
    value: int | None = None  # satoshi; None unless the spent output is known
    script_type: ScriptType | None = None  # of the spent output, when known or derivable
    witness_items: int = 0  # number of witness stack items (0 for legacy spends)


@dataclass(frozen=True, slots=True)
class Tx:
    txid: str
    index: int  # position in its block
    version: int
    locktime: int
    inputs: tuple[TxIn, ...]
    outputs: tuple[TxOut, ...]
    size: int = 0  # bytes, serialized with witness
    vsize: int = 0  # virtual bytes (BIP141)

    @property
    def is_coinbase(self) -> bool:
        return len(self.inputs) == 1 and self.inputs[0].prevout is None

    @property
    def output_value(self) -> int:
        return sum(out.value for out in self.outputs)

    @property
    def fee(self) -> int | None:
        """Fee in satoshi, when every input's value is known; coinbase has none."""
        if self.is_coinbase or any(i.value is None for i in self.inputs):
            return None
        return sum(i.value for i in self.inputs if i.value is not None) - self.output_value


@dataclass(frozen=True, slots=True)
class Block:
    chain: Chain
    hash: str
    height: int
    prev_hash: str
    time: int  # unix seconds, from the header
    txs: tuple[Tx, ...]


class TransferKind(StrEnum):
    """How value moved between two accounts on an account-model chain (EVM, TRON)."""

    NATIVE = "native"  # a transaction's own value (ETH, TRX)
    TOKEN = "token"  # an ERC-20 / TRC-20 Transfer log
    INTERNAL = "internal"  # a value-carrying call inside a transaction (traces)


@dataclass(frozen=True, slots=True)
class Transfer:
    """One movement of the native coin or of a fungible token, from one account to another.

    Shared by the EVM and TRON parsers, the store and the account-model heuristics (deposit address,
    airdrop). Addresses are canonical for their chain, as ``chains.addresses.normalize`` gives them
    (EVM: EIP-55 checksum form, as labels are stored; TRON: base58check ``T...``).
    """

    chain: Chain
    block_height: int
    tx_hash: str  # lower-case 0x hex
    index: int  # log index for TOKEN; -1 for NATIVE; the trace's position in its tx for INTERNAL
    kind: TransferKind
    asset: str | None  # the token contract (canonical address); None for the native coin
    from_address: str
    to_address: str
    amount: int  # base units (wei, sun, token units): uint256, never float
    time: int = 0  # unix seconds of the block

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return _by_fields(self)


@dataclass(frozen=True, slots=True)
class AccountTx:
    """One transaction of an account-model chain, as its receipt settled it."""

    hash: str  # lower-case 0x hex
    index: int  # position in its block
    from_address: str
    to_address: str | None  # None for a contract creation
    value: int | None  # base units; None when the source carried no transaction body (hashes only)
    success: bool  # receipt status: a failed transaction moves no value
    created: str | None = None  # the contract a creation made

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return _by_fields(self)


class TokenEventKind(StrEnum):
    """Token events other than Transfer that the indexer keeps."""

    APPROVAL = "approval"  # ERC-20 Approval(owner, spender, value)
    FREEZE = "freeze"  # USDT AddedBlackList / USDC Blacklisted
    UNFREEZE = "unfreeze"  # USDT RemovedBlackList / USDC UnBlacklisted
    DESTROY = "destroy"  # USDT DestroyedBlackFunds: a frozen balance burnt


@dataclass(frozen=True, slots=True)
class TokenEvent:
    tx_hash: str
    index: int  # log index in the block
    kind: TokenEventKind
    token: str  # the emitting contract (canonical address)
    subject: str  # the owner (approval) or the frozen account
    spender: str | None = None  # approval only
    amount: int | None = None  # approval allowance, or the destroyed balance; base units

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return _by_fields(self)


@dataclass(frozen=True, slots=True)
class AccountBlock:
    """A block of an account-model chain reduced to what tracing needs: who moved what to whom."""

    chain: Chain
    hash: str  # lower-case hex without 0x (the form Bitcoin's hashes have, so the blocks table serves both)
    height: int
    prev_hash: str
    time: int  # unix seconds
    txs: tuple[AccountTx, ...]
    transfers: tuple[Transfer, ...]
    events: tuple[TokenEvent, ...] = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return _by_fields(self)


def _by_fields(record: Any) -> tuple[type, tuple[object, ...]]:
    """Pickles an account-chain record as its class and field values: a parse process hands back tens of
    thousands of them per batch, and unpickling one this way (a constructor call) takes half the time of
    the default (slot state restored field by field through frozen ``__setattr__`` guards)."""
    return type(record), tuple(getattr(record, name) for name in record.__slots__)
