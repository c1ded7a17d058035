"""Modules compiled with mypyc (built by setup.py) and their pure-Python reference, per package.

A package's hot modules are compiled to C extensions at install time; Python imports an extension before
a ``.py`` of the same name. The sources stay the reference:

- ``use_pure_if_stale()`` (run when the package is imported) loads the pure sources instead when an
  extension is older than its source (an edit since the last ``scripts/bootstrap``) or when
  ``TRACER_PURE_PYTHON`` is set, so an edit is never shadowed by a stale build;
- ``load_pure()`` returns the pure modules alongside the compiled ones, for the tests that both give
  identical records and for the benchmarks.

``chains.bitcoin.compiled`` and ``chains.evm.compiled`` name each package's modules.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import os
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["CompiledModules", "is_compiled"]

log = logging.getLogger(__name__)


def is_compiled(module: ModuleType) -> bool:
    return not str(module.__file__).endswith(".py")


class CompiledModules:
    """The compiled modules of ``package`` (a directory ``here``), by short name in dependency order (the
    order setup.py compiles them in and the pure sources are executed in)."""

    def __init__(self, package: str, names: tuple[str, ...], here: Path) -> None:
        self.package = package
        self.names = names
        self._here = here

    def _extension(self, name: str) -> Path | None:
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = self._here / f"{name}{suffix}"
            if candidate.exists():
                return candidate
        return None

    def _exec_sources(self) -> dict[str, ModuleType]:
        """Execute the pure sources in dependency order, each registered in sys.modules and on its package
        under its name (``from package import module`` reads the package's attribute first)."""
        package = sys.modules[self.package]
        modules = {}
        for name in self.names:
            full = f"{self.package}.{name}"
            spec = importlib.util.spec_from_file_location(full, self._here / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[full] = module
            setattr(package, name, module)
            spec.loader.exec_module(module)
            modules[name] = module
        return modules

    def load_pure(self) -> dict[str, ModuleType]:
        """The pure-Python modules by short name, loaded beside (not instead of) whatever is imported now."""
        names = [f"{self.package}.{name}" for name in self.names]
        saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
        package = sys.modules[self.package]
        attributes = {name: getattr(package, name) for name in self.names if hasattr(package, name)}
        try:
            return self._exec_sources()
        finally:
            for n in names:
                sys.modules.pop(n, None)
            sys.modules.update(saved)
            for name in self.names:
                if name in attributes:
                    setattr(package, name, attributes[name])
                elif hasattr(package, name):
                    delattr(package, name)

    def use_pure_if_stale(self) -> None:
        forced = bool(os.environ.get("TRACER_PURE_PYTHON"))
        stale = [
            name
            for name in self.names
            if (ext := self._extension(name)) is not None
            and ext.stat().st_mtime < (self._here / f"{name}.py").stat().st_mtime
        ]
        if not forced and not stale:
            return
        if stale and not forced:
            log.warning("compiled %s older than the source; using pure Python (run scripts/bootstrap)", stale)
        self._exec_sources()
