"""Pure clustering heuristics: transaction records in, evidence or vetoes out; no I/O."""

from heuristics.coinjoin import CoinJoinMatch, detect_coinjoin
from heuristics.common_input import common_input

__all__ = ["CoinJoinMatch", "common_input", "detect_coinjoin"]
