"""Build step: compile the Bitcoin parser's hot modules with mypyc (the pure-Python sources stay the
reference and are used wherever the compiled ones are missing or older: see chains/bitcoin/compiled.py).

``TRACER_PURE_PYTHON=1 pip install -e .`` skips compiling (no C compiler needed).
"""

from __future__ import annotations

import os

from setuptools import setup

# Dependency order; chains/bitcoin/compiled.py lists the same modules.
COMPILED = ["serial", "address", "script", "raito", "parse"]


def ext_modules() -> list[object]:
    if os.environ.get("TRACER_PURE_PYTHON"):
        return []
    from mypyc.build import mypycify

    sources = [f"chains/bitcoin/{name}.py" for name in COMPILED]
    # Our own mypy settings for the compile: pyproject's name a plugin the build environment lacks.
    return list(mypycify(["--config-file", "scripts/mypyc.ini", *sources], opt_level="3"))


setup(ext_modules=ext_modules())
