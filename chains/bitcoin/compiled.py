"""The Bitcoin parser's compiled modules (mypyc, built by setup.py) and their pure-Python reference:
``serial``, ``address``, ``script``, ``raito`` and ``parse`` (``chains.compiled`` says how the sources stay
the reference)."""

from __future__ import annotations

from pathlib import Path

from chains.compiled import CompiledModules, is_compiled

__all__ = ["COMPILED_MODULES", "is_compiled", "load_pure", "use_pure_if_stale"]

COMPILED_MODULES = ("serial", "address", "script", "raito", "parse")  # dependency order, as in setup.py
_MODULES = CompiledModules("chains.bitcoin", COMPILED_MODULES, Path(__file__).resolve().parent)
load_pure = _MODULES.load_pure
use_pure_if_stale = _MODULES.use_pure_if_stale
