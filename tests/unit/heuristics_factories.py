"""Small factories for heuristics tests: plain functions that build ``chains.model`` records.

Addresses are synthetic strings (``addr("a", 3)`` -> ``"bc1qa0003"``): the detectors compare addresses, they
never decode them. Values are satoshi; every factory spends a little more than it pays out (a positive fee).
"""

from __future__ import annotations

from collections.abc import Sequence

from chains.model import InputSource, OutPoint, ScriptType, Tx, TxIn, TxOut

P2WPKH = ScriptType.P2WPKH
P2TR = ScriptType.P2TR
P2PKH = ScriptType.P2PKH

WASABI1_COORDINATOR = "bc1qs604c7jv6amk4cxqlnvuxv26hv3e48cds4m0ew"  # zkSNACKs fee address (Dumplings)


def addr(prefix: str, i: int) -> str:
    return f"bc1q{prefix}{i:04d}"


def txin(address: str | None, value: int | None, script_type: ScriptType = P2WPKH) -> TxIn:
    """An input; ``address=None`` makes it unresolved (no address, no script type)."""
    if address is None:
        return TxIn(0, OutPoint("00" * 32, 0), 0xFFFFFFFF, InputSource.UNRESOLVED, None, value, None)
    return TxIn(0, OutPoint("00" * 32, 0), 0xFFFFFFFF, InputSource.PREVOUT, address, value, script_type)


def txout(value: int, address: str | None, script_type: ScriptType = P2WPKH) -> TxOut:
    return TxOut(0, value, script_type, address)


def op_return() -> TxOut:
    return TxOut(0, 0, ScriptType.NULLDATA, None)


def make_tx(inputs: Sequence[TxIn], outputs: Sequence[TxOut], txid: str = "ab" * 32) -> Tx:
    """A transaction; inputs and outputs are re-indexed in order, each input spends its own outpoint."""
    ins = tuple(
        TxIn(n, OutPoint(f"{n + 1:064x}", 0), i.sequence, i.source, i.address, i.value, i.script_type)
        for n, i in enumerate(inputs)
    )
    outs = tuple(TxOut(n, o.value, o.script_type, o.address) for n, o in enumerate(outputs))
    return Tx(txid, 1, 2, 0, ins, outs)


def coinbase_tx(address: str = "bc1qminer") -> Tx:
    cb = TxIn(0, None, 0xFFFFFFFF, InputSource.COINBASE)
    return Tx("cc" * 32, 0, 1, 0, (cb,), (txout(625_000_000, address),))


def payment(n_inputs: int = 3, *, distinct: bool = True) -> Tx:
    """An ordinary payment: n inputs (from distinct addresses, or all from one), a payee and a change."""
    ins = [txin(addr("in", i if distinct else 0), 1_000_000 + i) for i in range(n_inputs)]
    return make_tx(
        ins, [txout(n_inputs * 700_000, addr("pay", 0)), txout(n_inputs * 290_000, addr("chg", 0))]
    )


def whirlpool_mix(denomination: int = 1_000_000, n: int = 5, premix: int = 2, fee_share: int = 550) -> Tx:
    """A Whirlpool mix: ``premix`` new entrants carry the miner fee, the other inputs remix at d."""
    ins = [txin(addr("wi", i), denomination + (fee_share if i < premix else 0)) for i in range(n)]
    return make_tx(ins, [txout(denomination, addr("wo", i)) for i in range(n)])


def whirlpool_tx0(denomination: int = 1_000_000, premix: int = 5) -> Tx:
    """A Whirlpool tx0: one wallet splits a deposit into premix outputs, a pool fee and an OP_RETURN."""
    outs = [txout(denomination + 550, addr("pre", i)) for i in range(premix)]
    outs += [txout(50_000, addr("poolfee", 0)), op_return(), txout(123_456, addr("tx0chg", 0))]
    total = sum(o.value for o in outs) + 2_000
    return make_tx([txin(addr("dep", 0), total - 100_000), txin(addr("dep", 1), 100_000)], outs)


def wasabi1_round(
    participants: int = 30, denomination: int = 10_003_000, *, coordinator: str | None = None
) -> Tx:
    """A ZeroLink round: one input and one equal output per participant, a change each, a coordinator fee."""
    ins = [txin(addr("zi", i), denomination + 5_000_000 + 1_000 * i) for i in range(participants)]
    outs = [txout(denomination, addr("zo", i)) for i in range(participants)]
    outs += [txout(4_980_000 + 1_000 * i, addr("zc", i)) for i in range(participants)]
    outs.append(txout(90_000, coordinator or addr("coord", 0)))
    return make_tx(ins, outs)


# Standard WabiSabi denominations: 2^20, 2*10^6, 3^13, 3^12, 2*10^5, 2^18, 10^5, 3^14.
WABISABI_SAMPLE_DENOMINATIONS_SAT = (
    1_048_576,
    2_000_000,
    1_594_323,
    531_441,
    200_000,
    262_144,
    100_000,
    4_782_969,
)


def wasabi2_round(inputs: int = 60, standard_outputs: int = 72, changes: int = 5) -> Tx:
    """A WabiSabi round: P2WPKH/P2TR inputs; outputs decomposed into standard denominations, plus changes."""
    ins = [txin(addr("wsi", i), 3_000_000 + 7_919 * i, P2TR if i % 3 else P2WPKH) for i in range(inputs)]
    sample = WABISABI_SAMPLE_DENOMINATIONS_SAT
    outs = [
        txout(sample[i % len(sample)], addr("wso", i), P2TR if i % 2 else P2WPKH)
        for i in range(standard_outputs)
    ]
    outs += [txout(123_457 + i, addr("wsc", i)) for i in range(changes)]  # not standard denominations
    return make_tx(ins, outs)


def joinmarket_tx(makers: int = 4, amount: int = 6_300_000, *, taker_sweeps: bool = False) -> Tx:
    """A taker (input 0) and makers: each an input and an equal output; makers earn 250 sat each in their
    change; the taker pays those and a 5_000 sat miner fee, from its change or (sweeping) from its input."""
    maker_ins = [txin(addr("jm", i), amount + 2_000_000 + 10_000 * i) for i in range(makers)]
    maker_changes = [txout(2_000_000 + 10_000 * i + 250, addr("jmc", i)) for i in range(makers)]
    taker_cost = 250 * makers + 5_000
    if taker_sweeps:
        taker_in, taker_change = txin(addr("jt", 0), amount + taker_cost), []
    else:
        taker_in, taker_change = (
            txin(addr("jt", 0), amount + 3_000_000),
            [txout(3_000_000 - taker_cost, addr("jtc", 0))],
        )
    outs = [txout(amount, addr("jo", i)) for i in range(makers + 1)] + maker_changes + taker_change
    return make_tx([taker_in, *maker_ins], outs)


def batch_payout(
    n_inputs: int = 2,
    equal: int = 40,
    amount: int = 1_000_000_000,
    others: int = 6,
    *,
    same_address: bool = False,
    script_type: ScriptType = P2PKH,
) -> Tx:
    """A payer's batch: few large inputs, many payees (``equal`` of them paid the same amount), a change."""
    total = amount * equal + 100_000_000 * others + 5_000_000_000 + 50_000
    ins = [
        txin(addr("payer", 0 if same_address else i), total // n_inputs + 1, script_type)
        for i in range(n_inputs)
    ]
    outs = [txout(amount, addr("payee", i), script_type) for i in range(equal)]
    outs += [txout(100_000_000 + 17 * i, addr("other", i), script_type) for i in range(others)]
    outs.append(txout(5_000_000_000, addr("change", 0), script_type))
    return make_tx(ins, outs)
