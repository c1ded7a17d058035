"""The deposit-address heuristic for account chains (Victor 2020, "Address clustering heuristics for
Ethereum", FC 2020, s.4.1, Algorithm 1).

An exchange gives each customer a deposit address and sweeps what arrives there to its own wallet. So an
address that forwards (nearly) all it receives to a known exchange wallet, soon after receiving it, is a
deposit address, and the addresses that paid into the same deposit address belong to one customer.
The merge joins those payers only: the exchange wallet and the deposit address stay out of the cluster
(the deposit address is the exchange's key; merging it would join every customer with the exchange).

Works for the native coin (ETH, TRX) and for tokens (ERC-20 / TRC-20, USDT first): a sweep moves the same
asset as the pay-ins. Exchange wallets come from labels (category exchange); with none, the heuristic does
not run and says why (``NotRun``).

Incremental use: a deposit address keeps its customer across runs. ``known_customers`` maps a deposit
address to an address already merged as its customer, so payers seen in a later window join that one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chains.model import Transfer
from heuristics.evidence import Confidence, Heuristic, MergeEvidence, NotRun

# Largest gap between a pay-in and the sweep that forwards it. Tutela (Wu et al. 2022, tutela-app
# DepositCluster t_max) uses 3,200 blocks (~12 h at 13.5 s); etherclust (Victor's code, config.maxBlockDiff)
# 10,000. We take Tutela's, the stricter.
DEPOSIT_MAX_BLOCK_GAP = 3_200  # blocks; Victor 2020 / Tutela
ETHERCLUST_MAX_BLOCK_GAP = 10_000  # blocks; etherclust config.py, for comparison runs
# Largest shortfall of a native sweep against what arrived: the sweep pays its own gas from the deposit
# address. Tutela a_max = 0.01 ether; etherclust config.maxETHDiff = 0.01 ether.
DEPOSIT_MAX_NATIVE_LOSS_WEI = 10**16  # 0.01 ETH; Tutela / etherclust
# Token sweeps pay gas in the native coin, so a token sweep forwards exactly what arrived.
DEPOSIT_MAX_TOKEN_LOSS_UNITS = 0  # token base units; Victor 2020 s.4.1 (token deposits)
MIN_PAYERS_COUNT = 2  # one payer alone merges nothing


@dataclass(frozen=True, slots=True)
class DepositFinding:
    """One sweep of a deposit address to an exchange wallet, and the payers whose pay-ins it forwarded."""

    deposit: str
    exchange: str
    payers: tuple[str, ...]
    sweep: Transfer


@dataclass(frozen=True, slots=True)
class DepositResult:
    evidence: list[MergeEvidence]
    customers: dict[str, str]  # deposit address -> one known customer (new or unchanged entries)


def find_sweeps(
    transfers: Iterable[Transfer],
    exchange_wallets: frozenset[str],
    max_block_gap: int = DEPOSIT_MAX_BLOCK_GAP,
) -> list[DepositFinding]:
    """Every sweep in ``transfers`` (any order) of a deposit address to an exchange wallet, in chain order,
    with the pay-ins of the same asset it forwards: since the deposit's previous sweep, at most
    ``max_block_gap`` blocks before it; the sweep no more than they add up to and short of it by at most
    the loss allowed for the asset. A finding depends only on the transfers of its window, so running over
    the chain in pieces (with windows reaching back ``max_block_gap``) finds the same sweeps."""
    by_deposit: dict[tuple[str, str | None], list[Transfer]] = defaultdict(list)
    for t in transfers:
        if t.from_address in exchange_wallets or t.from_address == t.to_address:
            continue  # withdrawals and internal moves of the exchange; self-transfers
        # a move to an exchange wallet is a possible sweep of its sender; any other, a pay-in of its receiver
        deposit = t.from_address if t.to_address in exchange_wallets else t.to_address
        by_deposit[(deposit, t.asset)].append(t)
    found = [
        finding
        for (deposit, _asset), moves in by_deposit.items()
        for finding in _sweeps(deposit, sorted(moves, key=_order), exchange_wallets, max_block_gap)
    ]
    return sorted(found, key=lambda f: _order(f.sweep))


def _order(t: Transfer) -> tuple[int, str, int]:
    return t.block_height, t.tx_hash, t.index


def _sweeps(
    deposit: str, moves: list[Transfer], exchanges: frozenset[str], max_gap: int
) -> Iterable[DepositFinding]:
    pending: list[Transfer] = []  # pay-ins since the last sweep
    for t in moves:
        if t.to_address == deposit:
            pending.append(t)
        elif t.from_address == deposit and t.to_address in exchanges:
            window = [p for p in pending if t.block_height - p.block_height <= max_gap]
            received = sum(p.amount for p in window)
            loss = DEPOSIT_MAX_NATIVE_LOSS_WEI if t.asset is None else DEPOSIT_MAX_TOKEN_LOSS_UNITS
            if window and received - loss <= t.amount <= received:
                yield DepositFinding(
                    deposit, t.to_address, tuple(sorted({p.from_address for p in window})), t
                )
            pending = []


def deposit_evidence(
    transfers: Iterable[Transfer],
    exchange_wallets: frozenset[str],
    known_customers: Mapping[str, str] | None = None,
    *,
    after_height: int = -1,
    max_block_gap: int = DEPOSIT_MAX_BLOCK_GAP,
) -> DepositResult | NotRun:
    """One merge per sweep above ``after_height`` whose payers, with the deposit's known customer, are two
    or more addresses. ``known_customers`` carries the customer of each deposit address from earlier runs;
    the result's ``customers`` holds the entries to remember."""
    if not exchange_wallets:
        return NotRun(
            Heuristic.DEPOSIT_ADDRESS,
            "no exchange wallets are labelled on this chain (labels with category exchange): "
            "deposit addresses cannot be recognised",
        )
    customers = dict(known_customers or {})
    evidence: list[MergeEvidence] = []
    for f in find_sweeps(transfers, exchange_wallets, max_block_gap):
        if f.sweep.block_height <= after_height:
            continue
        known = customers.get(f.deposit)
        payers = sorted({*f.payers, *([known] if known else [])} - exchange_wallets)
        customers.setdefault(f.deposit, payers[0])
        if len(payers) >= MIN_PAYERS_COUNT:
            evidence.append(_evidence(f, payers, max_block_gap))
    return DepositResult(
        evidence, {d: c for d, c in customers.items() if (known_customers or {}).get(d) != c}
    )


def _evidence(f: DepositFinding, payers: list[str], max_block_gap: int) -> MergeEvidence:
    return MergeEvidence(
        heuristic=Heuristic.DEPOSIT_ADDRESS,
        txid=f.sweep.tx_hash,
        block_height=f.sweep.block_height,
        addresses=tuple(payers),
        confidence=Confidence.MEDIUM,
        conditions=(
            f"{len(f.payers)} addresses paid deposit address {f.deposit} (with its earlier customers: "
            f"{len(payers)})",
            f"which swept {f.sweep.amount} {f.sweep.asset or 'native units'} to exchange wallet "
            f"{f.exchange} within {max_block_gap} blocks",
            "the deposit address and the exchange wallet are not merged",
        ),
        parameters={
            "deposit_address": f.deposit,
            "exchange_wallet": f.exchange,
            "asset": f.sweep.asset or "native",
            "max_block_gap": max_block_gap,
        },
    )
