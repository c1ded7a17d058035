"""What every command shares: JSON on stdout, exit codes by error class."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeAlias

import orjson

from tracer.config import Settings
from tracer.errors import InputError, SourceError, StoreError, TracerError
from tracer.jsonwrite import dumps

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]
if TYPE_CHECKING:  # argparse's class is generic only to type checkers
    # What ``register(sub)`` of each command module receives: the top-level parser's subcommands.
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def emit(data: object) -> None:
    sys.stdout.write(dumps(data, orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def exit_code(exc: TracerError) -> int:
    if isinstance(exc, InputError):
        return 2
    if isinstance(exc, StoreError):
        return 3
    if isinstance(exc, SourceError):
        return 4
    return 1


def bigint_id(kind: str) -> Callable[[str], int]:
    """An argparse type: a positive PostgreSQL bigint, else a usage error naming ``kind``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind}: {text!r}") from None
        if not 1 <= value < 2**63:
            raise argparse.ArgumentTypeError(f"not a {kind} (1 to 2^63-1): {text!r}")
        return value

    return parse


def check_range(option: str, value: float | None, low: float, high: float | None = None) -> None:
    """Numeric options are range-checked up front: ``--batch 0`` is an input error (exit 2), not a hang."""
    if value is None:
        return
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InputError(f"{option} must be {bounds}, got {value}")
