"""The EVM parser's compiled modules (mypyc, built by setup.py) and their pure-Python reference:
``address``, ``tracereceipts``, ``parse`` and ``traced`` (``chains.compiled`` says how the sources stay the
reference). Compiled, a block of the bench chain (bench.evm_ingest) parses in 20.8 µs instead of 24.2
(``chains.evm.traced``)."""

from __future__ import annotations

from pathlib import Path

from chains.compiled import CompiledModules, is_compiled

__all__ = ["COMPILED_MODULES", "is_compiled", "load_pure", "use_pure_if_stale"]

COMPILED_MODULES = ("address", "tracereceipts", "parse", "traced")  # dependency order, as in setup.py
_MODULES = CompiledModules("chains.evm", COMPILED_MODULES, Path(__file__).resolve().parent)
load_pure = _MODULES.load_pure
use_pure_if_stale = _MODULES.use_pure_if_stale
