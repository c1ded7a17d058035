"""Build step: compile the Bitcoin and EVM parsers' hot modules and the Bitcoin writer's row building with mypyc
(the pure-Python sources stay the reference and are used wherever the compiled ones are missing or older: see
chains/compiled.py).

``TRACER_PURE_PYTHON=1 pip install -e .`` skips compiling (no C compiler needed).
"""

from __future__ import annotations

import os

from setuptools import setup

# Dependency order; chains/bitcoin/compiled.py, chains/evm/compiled.py, tracer/store/compiled.py and
# scripts/bootstrap list the same modules.
COMPILED = {
    "chains/bitcoin": ["serial", "address", "script", "raito", "parse"],
    "chains/evm": ["address", "tracereceipts", "parse", "traced"],
    "tracer/store": ["chainrows"],
}


def ext_modules() -> list[object]:
    if os.environ.get("TRACER_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    sources = [f"{package}/{name}.py" for package, names in COMPILED.items() for name in names]
    # Our own mypy settings for the compile: pyproject's name a plugin the build environment lacks.
    return list(mypycify(["--config-file", "scripts/mypyc.ini", *sources], opt_level="3"))


setup(ext_modules=ext_modules())
