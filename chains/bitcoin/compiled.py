"""The parser's compiled modules (mypyc, built by setup.py) and their pure-Python reference.

``serial``, ``address``, ``script``, ``raito`` and ``parse`` are compiled to C extensions at install time;
Python imports an extension before a ``.py`` of the same name. The sources stay the reference:

- ``use_pure_if_stale()`` (run when ``chains.bitcoin`` is imported) loads the pure sources instead when
  an extension is older than its source (an edit since the last ``scripts/bootstrap``) or when
  ``TRACER_PURE_PYTHON`` is set, so an edit is never shadowed by a stale build;
- ``load_pure()`` returns the pure modules alongside the compiled ones, for the test that both give
  identical records and for ``bench.bitcoin_parse``.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["COMPILED_MODULES", "is_compiled", "load_pure", "use_pure_if_stale"]

log = logging.getLogger(__name__)

PACKAGE = "chains.bitcoin"
COMPILED_MODULES = ("serial", "address", "script", "raito", "parse")  # dependency order, as in setup.py
_HERE = Path(__file__).resolve().parent


def _extension(name: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = _HERE / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def is_compiled(module: ModuleType) -> bool:
    return not str(module.__file__).endswith(".py")


def _exec_sources() -> dict[str, ModuleType]:
    """Execute the pure sources in dependency order, each registered in sys.modules under its name."""
    modules = {}
    for name in COMPILED_MODULES:
        full = f"{PACKAGE}.{name}"
        spec = importlib.util.spec_from_file_location(full, _HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules


def load_pure() -> dict[str, ModuleType]:
    """The pure-Python modules by short name, loaded beside (not instead of) whatever is imported now."""
    names = [f"{PACKAGE}.{name}" for name in COMPILED_MODULES]
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    try:
        return _exec_sources()
    finally:
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


def use_pure_if_stale() -> None:
    forced = bool(os.environ.get("TRACER_PURE_PYTHON"))
    stale = [
        name
        for name in COMPILED_MODULES
        if (ext := _extension(name)) is not None
        and ext.stat().st_mtime < (_HERE / f"{name}.py").stat().st_mtime
    ]
    if not forced and not stale:
        return
    if stale and not forced:
        log.warning("compiled %s older than the source; using pure Python (run scripts/bootstrap)", stale)
    _exec_sources()
