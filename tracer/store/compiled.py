"""The store's compiled module (mypyc, built by setup.py) and its pure-Python reference: ``chainrows``, the
Bitcoin writer's row building (``chains.compiled`` says how the source stays the reference)."""

from __future__ import annotations

from pathlib import Path

from chains.compiled import CompiledModules, is_compiled

__all__ = ["COMPILED_MODULES", "is_compiled", "load_pure", "use_pure_if_stale"]

COMPILED_MODULES = ("chainrows",)  # as in setup.py
_MODULES = CompiledModules("tracer.store", COMPILED_MODULES, Path(__file__).resolve().parent)
load_pure = _MODULES.load_pure
use_pure_if_stale = _MODULES.use_pure_if_stale
