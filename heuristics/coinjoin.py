"""CoinJoin detectors: one pure function per protocol, each returning a ``CoinJoinMatch`` or ``None``.

A CoinJoin's inputs belong to many people, so the common-input-ownership heuristic must not merge them.
Each detector checks numbered guards and returns ``None`` at the first one that fails; a match carries the
veto reason, a sentence with the measured values, and the parameters a court can check.

Missing data: inputs resolved from scripts carry an address but no value. Guards about input values only
look at the inputs whose value is known (the match reports how many were unknown); guards about input script
types skip inputs whose type is unknown. A veto only withholds a merge, so on missing data a detector leans
towards matching.

Not vetoed here, on purpose:
- Whirlpool tx0 (premix outputs + pool fee + OP_RETURN): one wallet builds and signs it, merging its inputs
  is correct.
- Two equal outputs (Stonewall, two-party CoinJoins): common_input lowers its confidence instead.
- PayJoin: indistinguishable from a payment by design.

No detector is gated by block height (Wasabi 2 cannot appear before block 741213, for instance); the
detectors see the transaction only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from chains.model import ScriptType, Tx
from heuristics.evidence import VetoReason


@dataclass(frozen=True, slots=True)
class CoinJoinMatch:
    reason: VetoReason
    detail: str  # which guards held, with the measured values
    parameters: dict[str, int | str] = field(default_factory=dict)


# --- shared -------------------------------------------------------------------------------------------------
# Output values at or below this never count as a CoinJoin amount: dust outputs of token protocols (Omni,
# Counterparty: 546 sat) repeat in ordinary transactions. BlockSci isCoinjoin (src/heuristics/
# tx_identification.cpp) excludes 546 and 2730; graphsense-lib JOINMARKET_DUST_THRESHOLD = 2730.
DUST_THRESHOLD_SAT = 2_730

# --- Samourai Whirlpool (mix transactions) ------------------------------------------------------------------
# Pools 0.001 / 0.01 / 0.05 / 0.5 BTC: https://docs.samourai.io/en/whirlpool (pool table);
# nopara73/Dumplings Constants.cs SamouraiPools. Real mix: block 757753, tx 1d0beced…0535, 5 x 5_000_000 sat.
WHIRLPOOL_POOL_DENOMINATIONS_SAT = frozenset({100_000, 1_000_000, 5_000_000, 50_000_000})
# 5 inputs and 5 outputs since launch (2019); "Surge Cycles" since 2023-05-15 allow 6, 7 or 8 of each, always
# as many inputs as outputs: https://blog.samourai.is/introducing-whirlpool-surge-cycles/ ; graphsense-lib
# _whirlpool_coinjoin_heuristic checks 5..8.
WHIRLPOOL_MIN_PARTICIPANTS_COUNT = 5
WHIRLPOOL_MAX_PARTICIPANTS_COUNT = 8
# A premix input is worth the denomination plus its miner-fee share, at most 0.0011 BTC more: SCDH in
# Stockinger et al. 2021, "Pinpointing and Measuring Wasabi and Samourai CoinJoins" (arXiv:2109.10229);
# Dumplings Scanner.cs; graphsense-lib WHIRLPOOL_EPSILON_MAX = 110_000.
WHIRLPOOL_MAX_MINER_FEE_MARGIN_SAT = 110_000

# --- Wasabi 1.x (ZeroLink, zkSNACKs coordinator, 2018-2022) -------------------------------------------------
# zkSNACKs coordinator fee addresses: nopara73/Dumplings Constants.cs WasabiCoordScripts;
# nopara73/WasabiVsSamourai CoinJoinIndexer.cs; GraphSense tagpack wasabi_collector.yaml (bundled in
# tests/fixtures/labels). Used until about block 610000 (Dumplings FirstWasabiNoCoordAddressBlock).
WASABI1_COORDINATOR_ADDRESSES = frozenset(
    {"bc1qs604c7jv6amk4cxqlnvuxv26hv3e48cds4m0ew", "bc1qa24tsgchvuxsaccp8vrnkfd85hrcpafg20kmjw"}
)
# With a coordinator output, a value repeated more than twice suffices: Dumplings Scanner.cs (blocks before
# 610000) and WasabiVsSamourai CoinJoinIndexer.cs, "count > 2".
WASABI1_COORDINATOR_MIN_EQUAL_OUTPUTS_COUNT = 3
# Without one: at least 10 equal outputs near the 0.1 BTC base denomination, and at least 2 outputs with a
# unique value (a change and the coordinator fee): Dumplings Scanner.cs, ApproximateWasabiBaseDenomination
# = 0.1 BTC, WasabiBaseDenominationPrecision = 0.02 BTC. Mixing levels sit at 2^i times the base.
WASABI1_MIN_EQUAL_OUTPUTS_COUNT = 10
WASABI1_BASE_DENOMINATION_SAT = 10_000_000
WASABI1_BASE_DENOMINATION_TOLERANCE_SAT = 2_000_000
WASABI1_MIN_UNIQUE_OUTPUTS_COUNT = 2
WASABI1_SCRIPT_TYPES = frozenset({ScriptType.P2WPKH})  # bech32-only wallet; Dumplings isNativeSegwitOnly

# --- Wasabi 2.x (WabiSabi, 2022-) ---------------------------------------------------------------------------
# "50 was the minimum input count at the beginning of Wasabi 2": Dumplings Scanner.cs; the BlockSci port
# isWasabi2CoinJoin(minInputCount = 50). (graphsense-lib uses 20 for coordinators after May 2024.)
WASABI2_MIN_INPUTS_COUNT = 50
WASABI2_SCRIPT_TYPES = frozenset({ScriptType.P2WPKH, ScriptType.P2TR})  # Dumplings; coordinator round params
# "Most of the outputs contains the denomination": more than 80 %, Dumplings Scanner.cs.
WASABI2_MIN_STANDARD_OUTPUT_PERCENT = 80
# Outputs are decomposed into standard denominations so that they share values; at least one value must be
# shared by two outputs (graphsense-lib WASABI_20_MIN_DENOM_FREQ = 2).
WASABI2_MIN_SHARED_DENOMINATION_COUNT = 2
# Standard denominations: 2^i, 3^i, 2*3^i, 10^i, 2*10^i, 5*10^i between the smallest and largest allowed
# output: WalletWasabi DenominationBuilder.CreateDenominations; WabiSabiConfig MinRegistrableAmount =
# 0.00005 BTC; 1343.75 BTC maximum as in Dumplings CreateWasabi2Denominations.
WASABI2_MIN_DENOMINATION_SAT = 5_000
WASABI2_MAX_DENOMINATION_SAT = 134_375_000_000

# --- JoinMarket ---------------------------------------------------------------------------------------------
# Taker plus at least two makers; every participant receives the coinjoin amount once and at most one change
# (a sweeping taker has none): JoinMarket-Org/joinmarket-clientserver (minimum_makers = 4 by default, so real
# rounds usually have 5+), graphsense-lib JOINMARKET_MIN_PARTICIPANTS = 3, BlockSci isCoinjoin in
# citp/BlockSci src/heuristics/tx_identification.cpp ("each participant contributes a spend and a change").
JOINMARKET_MIN_EQUAL_OUTPUTS_COUNT = 3

# --- any other equal-output CoinJoin ------------------------------------------------------------------------
# Below 3 equal outputs a two-party CoinJoin looks like a one-wallet Stonewall (graphsense-lib _is_stonewall);
# common_input lowers confidence for those instead of vetoing.
EQUAL_OUTPUTS_MIN_COUNT = 3
# Beyond one equal output and one change per participant, one more output is allowed (a coordinator fee).
EQUAL_OUTPUTS_EXTRA_OUTPUTS_COUNT = 1


def _wasabi2_denominations() -> frozenset[int]:
    values: set[int] = set()
    for base, multipliers in ((2, (1,)), (3, (1, 2)), (10, (1, 2, 5))):
        power = 1
        while power <= WASABI2_MAX_DENOMINATION_SAT:
            values.update(m * power for m in multipliers)
            power *= base
    return frozenset(v for v in values if WASABI2_MIN_DENOMINATION_SAT <= v <= WASABI2_MAX_DENOMINATION_SAT)


WASABI2_STANDARD_DENOMINATIONS_SAT = _wasabi2_denominations()


# --- measurements shared by the detectors -------------------------------------------------------------------
def most_common_output(tx: Tx, *, above_sat: int = DUST_THRESHOLD_SAT) -> tuple[int, int] | None:
    """(value in sat, count) of the most frequent output value above ``above_sat``; ties go to the larger
    value, so the answer does not depend on output order. ``None`` when no output is above it."""
    counts = Counter(out.value for out in tx.outputs if out.value > above_sat)
    if not counts:
        return None
    value, count = max(counts.items(), key=lambda item: (item[1], item[0]))
    return value, count


def _possible_input_owners(tx: Tx) -> int:
    """Distinct known input addresses, plus every input whose address is unknown (it may be anyone's)."""
    known = {i.address for i in tx.inputs if i.address is not None}
    return len(known) + sum(1 for i in tx.inputs if i.address is None)


def _known_input_values(tx: Tx) -> list[int]:
    return [i.value for i in tx.inputs if i.value is not None]


def _script_types_within(tx: Tx, allowed: frozenset[ScriptType]) -> bool:
    """Every output, and every input whose spent script type is known, is of an allowed type."""
    return all(out.script_type in allowed for out in tx.outputs) and all(
        i.script_type is None or i.script_type in allowed for i in tx.inputs
    )


def _distinct_addresses_of(tx: Tx, value: int) -> int:
    return len({o.address for o in tx.outputs if o.value == value and o.address is not None})


def _unknown_values_note(tx: Tx) -> str:
    unknown = sum(1 for i in tx.inputs if i.value is None)
    return f"; {unknown} input values unknown, not checked" if unknown else ""


def _btc(sat: int) -> str:
    return f"{sat / 100_000_000:g} BTC"


# --- detectors ----------------------------------------------------------------------------------------------
def detect_whirlpool(tx: Tx) -> CoinJoinMatch | None:
    """Samourai Whirlpool mix: n inputs, n outputs (5..8), every output one pool denomination."""
    n = len(tx.inputs)
    # 1. not coinbase; as many inputs as outputs, 5..8 of each
    if tx.is_coinbase or len(tx.outputs) != n:
        return None
    if not WHIRLPOOL_MIN_PARTICIPANTS_COUNT <= n <= WHIRLPOOL_MAX_PARTICIPANTS_COUNT:
        return None
    # 2. every output is worth the same pool denomination
    values = {out.value for out in tx.outputs}
    if len(values) != 1 or not values <= WHIRLPOOL_POOL_DENOMINATIONS_SAT:
        return None
    (denomination,) = values
    # 3. no OP_RETURN (that is a tx0) or other script: P2WPKH only; each output to its own address
    if not _script_types_within(tx, frozenset({ScriptType.P2WPKH})):
        return None
    if _distinct_addresses_of(tx, denomination) != n:
        return None
    # 4. no input address twice (the coordinator admits one input per wallet)
    known = [i.address for i in tx.inputs if i.address is not None]
    if len(set(known)) != len(known):
        return None
    # 5. each known input worth the denomination, or at most the miner-fee margin more
    input_values = _known_input_values(tx)
    ceiling = denomination + WHIRLPOOL_MAX_MINER_FEE_MARGIN_SAT
    if not all(denomination <= v <= ceiling for v in input_values):
        return None
    # 6. when every input value is known, a premix input above the denomination pays the miner fee
    premix = sum(1 for v in input_values if v > denomination)
    if len(input_values) == n and premix == 0:
        return None
    return CoinJoinMatch(
        VetoReason.WHIRLPOOL,
        f"{n} inputs and {n} outputs, every output {denomination} sat (the {_btc(denomination)} Whirlpool "
        f"pool) to {n} distinct P2WPKH addresses; {premix} premix inputs carry up to "
        f"{max(input_values, default=denomination) - denomination} sat of miner fee"
        f"{_unknown_values_note(tx)}",
        {"denomination_sat": denomination, "equal_outputs": n, "inputs": n, "premix_inputs": premix},
    )


def detect_wasabi2(tx: Tx) -> CoinJoinMatch | None:
    """WabiSabi round: many segwit inputs, most outputs on the standard denomination set."""
    n_in, n_out = len(tx.inputs), len(tx.outputs)
    # 1. not coinbase; at least 50 inputs
    if tx.is_coinbase or n_in < WASABI2_MIN_INPUTS_COUNT:
        return None
    # 2. P2WPKH and P2TR only
    if not _script_types_within(tx, WASABI2_SCRIPT_TYPES):
        return None
    # 3. more than 80 % of the outputs are standard denominations
    standard = Counter(o.value for o in tx.outputs if o.value in WASABI2_STANDARD_DENOMINATIONS_SAT)
    n_standard = sum(standard.values())
    if n_standard * 100 <= n_out * WASABI2_MIN_STANDARD_OUTPUT_PERCENT:
        return None
    # 4. at least one standard denomination is shared by two or more outputs
    denomination, count = max(standard.items(), key=lambda item: (item[1], item[0]))
    if count < WASABI2_MIN_SHARED_DENOMINATION_COUNT:
        return None
    shared = sum(1 for c in standard.values() if c >= WASABI2_MIN_SHARED_DENOMINATION_COUNT)
    return CoinJoinMatch(
        VetoReason.WASABI_2,
        f"{n_in} P2WPKH/P2TR inputs, {n_standard} of {n_out} outputs on WabiSabi standard denominations, "
        f"{shared} denominations shared, the most common {denomination} sat x {count}",
        {
            "denomination_sat": denomination,
            "equal_outputs": count,
            "inputs": n_in,
            "outputs": n_out,
            "standard_outputs": n_standard,
            "shared_denominations": shared,
        },
    )


def detect_wasabi1(tx: Tx) -> CoinJoinMatch | None:
    """Wasabi 1.x ZeroLink round: P2WPKH only, equal outputs at ~0.1 BTC or a zkSNACKs coordinator output."""
    top = most_common_output(tx)
    # 1. not coinbase; P2WPKH only
    if tx.is_coinbase or top is None or not _script_types_within(tx, WASABI1_SCRIPT_TYPES):
        return None
    denomination, k = top
    # 2. at least as many inputs as equal outputs, each equal output to its own address
    if len(tx.inputs) < k or _distinct_addresses_of(tx, denomination) != k:
        return None
    parameters: dict[str, int | str] = {
        "denomination_sat": denomination,
        "equal_outputs": k,
        "inputs": len(tx.inputs),
        "mixing_levels": _wasabi1_mixing_levels(tx),
    }
    # 3. an output pays a known coordinator address, and a value repeats at least 3 times: a match
    coordinator = sorted({o.address for o in tx.outputs if o.address in WASABI1_COORDINATOR_ADDRESSES})
    if coordinator and k >= WASABI1_COORDINATOR_MIN_EQUAL_OUTPUTS_COUNT:
        parameters["coordinator_address"] = coordinator[0]
        detail = f"pays the zkSNACKs coordinator address {coordinator[0]}; {k} outputs of {denomination} sat"
        return CoinJoinMatch(VetoReason.WASABI_1, f"{detail}, {len(tx.inputs)} P2WPKH inputs", parameters)
    # 4. otherwise (no fixed coordinator address after ~block 610000): at least 10 equal outputs ...
    if k < WASABI1_MIN_EQUAL_OUTPUTS_COUNT:
        return None
    # 5. ... within 0.02 BTC of the 0.1 BTC base denomination ...
    if abs(denomination - WASABI1_BASE_DENOMINATION_SAT) > WASABI1_BASE_DENOMINATION_TOLERANCE_SAT:
        return None
    # 6. ... and at least 2 outputs with a value of their own (a change, the coordinator fee)
    unique = sum(1 for c in Counter(o.value for o in tx.outputs).values() if c == 1)
    if unique < WASABI1_MIN_UNIQUE_OUTPUTS_COUNT:
        return None
    parameters["unique_outputs"] = unique
    return CoinJoinMatch(
        VetoReason.WASABI_1,
        f"{k} outputs of {denomination} sat (within {WASABI1_BASE_DENOMINATION_TOLERANCE_SAT} sat of the "
        f"0.1 BTC base), {len(tx.inputs)} P2WPKH inputs, {unique} uniquely valued outputs, "
        f"{parameters['mixing_levels']} mixing levels",
        parameters,
    )


def _wasabi1_mixing_levels(tx: Tx) -> int:
    """How many of the levels 2^i x 0.1 BTC carry at least two equal outputs (with the same tolerance)."""
    counts = Counter(o.value for o in tx.outputs)
    levels, level = 0, 0
    while (base := WASABI1_BASE_DENOMINATION_SAT << level) <= max(counts, default=0):
        tolerance = WASABI1_BASE_DENOMINATION_TOLERANCE_SAT << level
        if any(c >= 2 and abs(v - base) <= tolerance for v, c in counts.items()):
            levels += 1
        level += 1
    return levels


def detect_joinmarket(tx: Tx) -> CoinJoinMatch | None:
    """JoinMarket-style: n >= 3 equal outputs, one change per participant at most, nothing else repeated."""
    top = most_common_output(tx)
    # 1. not coinbase; the coinjoin amount (most common non-dust value) repeats at least 3 times
    if tx.is_coinbase or top is None or top[1] < JOINMARKET_MIN_EQUAL_OUTPUTS_COUNT:
        return None
    amount, k = top
    # 2. every participant brings an input: at least k inputs from at least k possible owners
    if len(tx.inputs) < k or _possible_input_owners(tx) < k:
        return None
    # 3. each equal output to its own address
    if _distinct_addresses_of(tx, amount) != k:
        return None
    # 4. between 1 and k changes: outputs <= 2 x equal outputs
    changes = [o.value for o in tx.outputs if o.value != amount]
    if not 1 <= len(changes) <= k:
        return None
    # 5. no other value repeats: each change is one participant's own remainder
    if len(set(changes)) != len(changes):
        return None
    # 6. no input worth more than one participant takes out and pays (2 x amount + largest change)
    if not _inputs_fit_one_participant(amount, max(changes), tx):
        return None
    return CoinJoinMatch(
        VetoReason.JOINMARKET,
        f"{k} outputs of {amount} sat to distinct addresses, {len(changes)} distinct change outputs, "
        f"{len(tx.inputs)} inputs from at least {k} owners{_unknown_values_note(tx)}",
        {"denomination_sat": amount, "equal_outputs": k, "inputs": len(tx.inputs), "changes": len(changes)},
    )


def _inputs_fit_one_participant(amount: int, largest_other: int, tx: Tx) -> bool:
    """A single input belongs to one participant, who takes out at most the equal amount plus the largest
    other output and pays fees smaller than one more amount. An input above that funds several payees: a
    payout. (Dumplings Scanner.cs uses a stricter form in place of a subset-sum search; this one keeps a
    taker who pays the fees.)"""
    ceiling = 2 * amount + largest_other
    return all(v <= ceiling for v in _known_input_values(tx))


def detect_equal_outputs(tx: Tx) -> CoinJoinMatch | None:
    """Any other equal-output CoinJoin: many equal outputs, as many input owners, few other outputs.

    The batch-payout guard is 2: a payer paying 40 people from 2 inputs has fewer inputs than equal outputs
    (block 574200, tx 8d34c368…: 2 inputs, 40 x 10 BTC). Its inputs are the payer's, so merging is correct.
    """
    top = most_common_output(tx)
    # 1. not coinbase; a non-dust value repeats at least 3 times
    if tx.is_coinbase or top is None or top[1] < EQUAL_OUTPUTS_MIN_COUNT:
        return None
    amount, k = top
    # 2. at least k inputs from at least k possible owners (one per participant)
    owners = _possible_input_owners(tx)
    if len(tx.inputs) < k or owners < k:
        return None
    # 3. each equal output to its own address
    if _distinct_addresses_of(tx, amount) != k:
        return None
    # 4. at most one change per participant plus one fee output
    others = [o.value for o in tx.outputs if o.value != amount]
    if len(others) > k + EQUAL_OUTPUTS_EXTRA_OUTPUTS_COUNT:
        return None
    # 5. no input worth more than one participant takes out and pays (2 x amount + largest other output)
    if not _inputs_fit_one_participant(amount, max(others, default=0), tx):
        return None
    return CoinJoinMatch(
        VetoReason.EQUAL_OUTPUTS,
        f"{k} outputs of {amount} sat to distinct addresses, {len(others)} other outputs, "
        f"{len(tx.inputs)} inputs from at least {k} of {owners} possible owners{_unknown_values_note(tx)}",
        {
            "denomination_sat": amount,
            "equal_outputs": k,
            "inputs": len(tx.inputs),
            "other_outputs": len(others),
        },
    )


# Most specific first. WabiSabi before Wasabi 1 as in Dumplings: 10_000_000 sat (0.1 BTC) is also a WabiSabi
# standard denomination, so a WabiSabi round can show ten equal outputs at the Wasabi 1 base.
DETECTORS: tuple[tuple[str, Callable[[Tx], CoinJoinMatch | None]], ...] = (
    ("whirlpool", detect_whirlpool),
    ("wasabi2", detect_wasabi2),
    ("wasabi1", detect_wasabi1),
    ("joinmarket", detect_joinmarket),
    ("equal_outputs", detect_equal_outputs),
)


def detect_coinjoin(tx: Tx) -> CoinJoinMatch | None:
    """The first detector in ``DETECTORS`` order that matches, or ``None``."""
    for _name, detector in DETECTORS:
        match = detector(tx)
        if match is not None:
            return match
    return None
