"""How taint moves through one transaction: poison, haircut and FIFO. Pure integer arithmetic, no I/O.

A transaction has ordered inputs and outputs with values in base units. Taint sits on one side ("source")
and is carried to the other ("destination"): forward from inputs to outputs (where did it go?), backward
from outputs to inputs (where did it come from?). A value the store does not know is ``None``; a method
that needs it answers ``None`` (unknown), never a guess.

- poison: any tainted source makes every destination wholly tainted (an upper bound; amounts grow).
- haircut: every destination gets its proportional share: value x tainted / pool, rounded down, where the
  pool is the inputs' total (forward: fees take their share too; backward: the tracked amount is split over
  the inputs that paid for it).
- FIFO (first in, first out): inputs and outputs are laid end to end on one line of value, in order (the fee
  is the inputs' tail); a destination's taint is where it overlaps the tainted stretches of the sources.
  Stretches are kept exactly, so FIFO through many hops stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

Stretch = tuple[int, int]  # [start, end) within one coin, in base units


class Method(StrEnum):
    POISON = "poison"
    HAIRCUT = "haircut"
    FIFO = "fifo"


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"


def poison(tainted: Sequence[bool], values: Sequence[int | None]) -> list[int | None]:
    """Destination amounts: every destination wholly, if any source is tainted."""
    if not any(tainted):
        return [0] * len(values)
    return list(values)


def haircut(
    taint: Sequence[int], values: Sequence[int | None], pool: Sequence[int | None]
) -> list[int | None] | None:
    """Destination amounts ``value * sum(taint) // sum(pool)``; None when a value or the pool is unknown."""
    if any(v is None for v in pool) or any(v is None for v in values):
        return None
    total = sum(v for v in pool if v is not None)
    if total <= 0:
        return [0] * len(values)
    tainted = sum(taint)
    return [v * tainted // total for v in values if v is not None]


def fifo(
    source_values: Sequence[int | None],
    source_taint: Sequence[Sequence[Stretch]],
    destination_values: Sequence[int | None],
) -> list[list[Stretch]] | None:
    """Destination stretches: the sources' tainted stretches laid on one line, cut at the destinations'
    boundaries. None when a value on either side is unknown (the line cannot be drawn)."""
    if any(v is None for v in source_values) or any(v is None for v in destination_values):
        return None
    line: list[Stretch] = []
    offset = 0
    for value, stretches in zip(source_values, source_taint, strict=True):
        line.extend((offset + a, offset + b) for a, b in stretches)
        offset += value or 0
    out: list[list[Stretch]] = []
    start = 0
    for value in destination_values:
        end = start + (value or 0)
        out.append(
            [(max(a, start) - start, min(b, end) - start) for a, b in line if max(a, start) < min(b, end)]
        )
        start = end
    return out


def amount_of(stretches: Sequence[Stretch]) -> int:
    return sum(b - a for a, b in stretches)
