"""A scripted history on anvil, the kind tracing cares about: a real ERC-20 (TracerTestToken, with a
USDT-style blacklist) deployed and used — native and token transfers, an approval spent by transferFrom,
a failed transaction, two contract creations, deposits into two fresh addresses swept to an exchange
wallet (one through a forwarding contract: an internal transfer), and a freeze."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chains.evm.address import from_hex
from tracer.devnode.evm_anvil import Anvil, calldata

ETHER = 10**18
TOKEN_UNIT = 10**6  # TracerTestToken is deployed with 6 decimals, like USDT
SUPPLY = 1_000_000 * TOKEN_UNIT
DEPOSIT_1 = "0x1111111111111111111111111111111111111111"  # fresh addresses: no key, impersonated on anvil
DEPOSIT_2 = "0x2222222222222222222222222222222222222222"
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(slots=True)
class Scenario:
    owner: str
    alice: str
    bob: str
    exchange: str
    token: str = ""
    forwarder: str = ""
    failed_tx: str = ""
    txs: dict[str, str] = field(default_factory=dict)  # what -> tx hash


def transfer(to: str, amount: int) -> str:
    return calldata("transfer(address,uint256)", ["address", "uint256"], [to, amount])


async def run_scenario(chain: Anvil) -> Scenario:
    owner, alice, bob, exchange = chain.accounts[:4]
    s = Scenario(owner, alice, bob, exchange)
    s.token = await chain.deploy(
        s.owner,
        "TracerTestToken",
        ["string", "string", "uint8", "uint256"],
        ["Tracer USD", "TUSD", 6, SUPPLY],
    )
    s.forwarder = await chain.deploy(s.owner, "Forwarder", ["address"], [s.exchange])
    s.txs["native"] = await chain.send(s.owner, s.alice, value=ETHER)
    s.txs["token"] = await chain.send(s.owner, s.token, data=transfer(s.alice, 500 * TOKEN_UNIT))
    approve = calldata("approve(address,uint256)", ["address", "uint256"], [s.bob, 200 * TOKEN_UNIT])
    s.txs["approve"] = await chain.send(s.alice, s.token, data=approve)
    pull = calldata(
        "transferFrom(address,address,uint256)",
        ["address", "address", "uint256"],
        [s.alice, s.bob, 150 * TOKEN_UNIT],
    )
    s.txs["transfer_from"] = await chain.send(s.bob, s.token, data=pull)
    # More than alice holds: the token reverts; the transaction is mined, failed, moves nothing.
    s.failed_tx = await chain.send(s.alice, s.token, data=transfer(s.bob, 10**9 * TOKEN_UNIT))
    await _deposits_and_sweeps(chain, s)
    blacklist = calldata("addBlackList(address)", ["address"], [s.bob])
    s.txs["freeze"] = await chain.send(s.owner, s.token, data=blacklist)
    return s


async def _deposits_and_sweeps(chain: Anvil, s: Scenario) -> None:
    s.txs["deposit_1"] = await chain.send(s.owner, s.token, data=transfer(DEPOSIT_1, 30 * TOKEN_UNIT))
    s.txs["deposit_2"] = await chain.send(s.alice, s.token, data=transfer(DEPOSIT_2, 40 * TOKEN_UNIT))
    for deposit in (DEPOSIT_1, DEPOSIT_2):
        await chain.fund_and_impersonate(deposit, ETHER)  # gas money (a state override: no transaction)
    s.txs["sweep_1"] = await chain.send(DEPOSIT_1, s.token, data=transfer(s.exchange, 30 * TOKEN_UNIT))
    s.txs["sweep_2"] = await chain.send(DEPOSIT_2, s.token, data=transfer(s.exchange, 40 * TOKEN_UNIT))
    s.txs["forward"] = await chain.send(DEPOSIT_1, s.forwarder, value=ETHER // 2)


def expected_transfers(s: Scenario) -> set[tuple[str, str | None, str, str, int]]:
    """(kind, asset, from, to, amount) of every value move the scenario makes, canonical addresses."""
    c = from_hex
    token = c(s.token)
    return {
        ("token", token, ZERO, c(s.owner), SUPPLY),  # the mint in the constructor
        ("native", None, c(s.owner), c(s.alice), ETHER),
        ("token", token, c(s.owner), c(s.alice), 500 * TOKEN_UNIT),
        ("token", token, c(s.alice), c(s.bob), 150 * TOKEN_UNIT),  # transferFrom, spent by bob
        ("token", token, c(s.owner), DEPOSIT_1, 30 * TOKEN_UNIT),
        ("token", token, c(s.alice), c(DEPOSIT_2), 40 * TOKEN_UNIT),
        ("token", token, DEPOSIT_1, c(s.exchange), 30 * TOKEN_UNIT),
        ("token", token, c(DEPOSIT_2), c(s.exchange), 40 * TOKEN_UNIT),
        ("native", None, DEPOSIT_1, c(s.forwarder), ETHER // 2),
        ("internal", None, c(s.forwarder), c(s.exchange), ETHER // 2),  # only traces show this one
    }


def asset_rows(activity: Any) -> dict[str, tuple[object, ...]]:
    """A screening answer's per-asset activity as (symbol, decimals, received, sent, in, out) by asset."""
    return {
        a["asset"]: (
            a["symbol"],
            a["decimals"],
            a["received"],
            a["sent"],
            a["transfers_in"],
            a["transfers_out"],
        )
        for a in activity["assets"]
    }
