"""Deposit-address, airdrop and self-authorization heuristics on factory transfers (Victor 2020)."""

from __future__ import annotations

from chains.model import Chain, TokenEvent, TokenEventKind, Transfer, TransferKind
from heuristics.airdrop import airdrop_evidence
from heuristics.deposit import (
    DEPOSIT_MAX_BLOCK_GAP,
    DEPOSIT_MAX_NATIVE_LOSS_WEI,
    DepositResult,
    deposit_evidence,
)
from heuristics.evidence import Heuristic, NotRun
from heuristics.self_authorization import self_authorization_evidence

EXCHANGE = "0x" + "e" * 40
DEPOSIT = "0x" + "d" * 40
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
ETH = 10**18


def acct(n: int) -> str:
    return f"0x{n:040x}"


def move(height: int, src: str, dst: str, amount: int, asset: str | None = None, *, n: int = 0) -> Transfer:
    kind = TransferKind.NATIVE if asset is None else TransferKind.TOKEN
    return Transfer(Chain.ETHEREUM, height, f"0x{height:08x}{n:056x}", n, kind, asset, src, dst, amount)


def test_payers_of_one_deposit_address_are_one_customer_and_the_exchange_stays_out() -> None:
    transfers = [
        move(100, acct(1), DEPOSIT, 1 * ETH),
        move(150, acct(2), DEPOSIT, 2 * ETH),
        move(160, DEPOSIT, EXCHANGE, 3 * ETH - 21_000 * 10**9),  # the sweep pays its gas
    ]
    result = deposit_evidence(transfers, frozenset({EXCHANGE}))
    assert isinstance(result, DepositResult)
    (evidence,) = result.evidence
    assert evidence.addresses == (acct(1), acct(2))  # not the deposit address, not the exchange
    assert evidence.heuristic is Heuristic.DEPOSIT_ADDRESS
    assert (evidence.block_height, evidence.parameters["deposit_address"]) == (160, DEPOSIT)


def test_token_sweeps_forward_exactly_what_arrived() -> None:
    exact = [move(1, acct(1), DEPOSIT, 500, USDT, n=1), move(2, acct(2), DEPOSIT, 700, USDT, n=2)]
    swept = deposit_evidence([*exact, move(3, DEPOSIT, EXCHANGE, 1_200, USDT, n=3)], frozenset({EXCHANGE}))
    assert isinstance(swept, DepositResult) and len(swept.evidence) == 1
    short = deposit_evidence([*exact, move(3, DEPOSIT, EXCHANGE, 1_199, USDT, n=3)], frozenset({EXCHANGE}))
    assert short == DepositResult([], {})  # a token sweep short by one unit is not a sweep of these pay-ins


def test_no_merge_when_the_sweep_is_too_late_or_loses_too_much() -> None:
    late = [
        move(0, acct(1), DEPOSIT, ETH),
        move(10, acct(2), DEPOSIT, ETH),
        move(DEPOSIT_MAX_BLOCK_GAP + 5, DEPOSIT, EXCHANGE, 2 * ETH),
    ]
    outside = deposit_evidence(late, frozenset({EXCHANGE}))
    assert outside == DepositResult([], {})  # one pay-in is too early: the sweep forwards more than the rest
    lossy = [move(0, acct(1), DEPOSIT, ETH), move(1, acct(2), DEPOSIT, ETH)]
    lossy.append(move(2, DEPOSIT, EXCHANGE, 2 * ETH - DEPOSIT_MAX_NATIVE_LOSS_WEI - 1))
    assert deposit_evidence(lossy, frozenset({EXCHANGE})) == DepositResult([], {})


def test_without_labelled_exchanges_the_heuristic_says_why_it_did_not_run() -> None:
    result = deposit_evidence([move(1, acct(1), DEPOSIT, ETH)], frozenset())
    assert isinstance(result, NotRun) and "exchange" in result.reason


def test_a_known_customer_joins_payers_of_later_sweeps() -> None:
    later = [move(500, acct(3), DEPOSIT, ETH), move(501, DEPOSIT, EXCHANGE, ETH)]
    result = deposit_evidence(later, frozenset({EXCHANGE}), known_customers={DEPOSIT: acct(1)})
    assert isinstance(result, DepositResult)
    (evidence,) = result.evidence
    assert evidence.addresses == (acct(1), acct(3))
    assert result.customers == {}  # nothing new to remember
    skipped = deposit_evidence(later, frozenset({EXCHANGE}), {DEPOSIT: acct(1)}, after_height=501)
    assert skipped == DepositResult([], {})  # sweeps at or below after_height were handled by an earlier run


def test_airdrop_recipients_that_gather_to_one_address_are_one_entity() -> None:
    distributor, token, collector = acct(900), acct(901), acct(902)
    drop = [move(10 + i // 100, distributor, acct(i), 50, token, n=i) for i in range(1, 21)]
    gathered = [move(40, acct(1), collector, 50, token, n=1), move(41, acct(2), collector, 50, token, n=2)]
    (evidence,) = airdrop_evidence([*drop, *gathered], min_recipients=20)
    assert evidence.addresses == tuple(sorted([acct(1), acct(2), collector]))
    assert airdrop_evidence([*drop, *gathered], min_recipients=21) == []  # too few recipients: no airdrop
    one_forward = airdrop_evidence([*drop, gathered[0]], min_recipients=20)
    assert one_forward == []  # one recipient forwarding proves nothing


def test_self_authorization_links_an_owner_and_the_account_it_approved() -> None:
    owner, spender, router = acct(1), acct(2), acct(3)
    approve = TokenEvent("0xa", 0, TokenEventKind.APPROVAL, USDT, owner, spender, 10**6)
    pulled = move(20, owner, acct(9), 10**6, USDT, n=4)
    (evidence,) = self_authorization_evidence(
        [(10, approve)], [pulled], {pulled.tx_hash: spender}, frozenset()
    )
    assert evidence.addresses == tuple(sorted([owner, spender]))
    to_router = TokenEvent("0xb", 0, TokenEventKind.APPROVAL, USDT, owner, router, 10**6)
    by_router = {pulled.tx_hash: router}
    assert self_authorization_evidence([(10, to_router)], [pulled], by_router, frozenset({router})) == []
    before = self_authorization_evidence([(30, approve)], [pulled], {pulled.tx_hash: spender}, frozenset())
    assert before == []  # a transfer before the approval is not the spender's doing
