"""A server that ``pg_ctl stop`` cannot stop (a full disk did it once) is a clear one-line error -- from
``tracer db stop`` and from an interrupted demo's clean-up -- never an internal error with a traceback.

The data directory here names a live process in its ``postmaster.pid`` but is no cluster, so pg_ctl refuses
it at once, without signalling that process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracer.demo import stop_started_server
from tracer.errors import StoreUnavailable
from tracer.store import embedded

POSTMASTER_PID_LINES = "{pid}\n{pgdata}\n1700000000\n5999\n/tmp\nlocalhost\n  1  2\nready\n"


@pytest.fixture
def unstoppable_home(tmp_path: Path) -> Iterator[Path]:
    """A home whose 'server' is running (its pid is alive) but cannot be stopped by pg_ctl."""
    home = tmp_path / "home"
    pgdata = embedded.pgdata_dir(home)
    pgdata.mkdir(parents=True)
    with subprocess.Popen(["sleep", "120"]) as stand_in:
        (pgdata / "postmaster.pid").write_text(POSTMASTER_PID_LINES.format(pid=stand_in.pid, pgdata=pgdata))
        try:
            yield home
        finally:
            stand_in.kill()


def test_stop_failing_is_store_unavailable_naming_the_data_directory(unstoppable_home: Path) -> None:
    assert embedded.status(unstoppable_home).running
    with pytest.raises(StoreUnavailable) as refused:
        embedded.stop(unstoppable_home)
    assert str(embedded.pgdata_dir(unstoppable_home)) in refused.value.message
    assert "pg_ctl exited with 1" in refused.value.message


def test_db_stop_says_so_in_one_line(unstoppable_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    done = subprocess.run(
        [sys.executable, "-m", "tracer.cli", "--home", str(unstoppable_home), "db", "stop"],
        check=False, capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode != 0
    assert "tracer: store_unavailable: could not stop the embedded PostgreSQL server" in done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr


def test_an_interrupted_demo_says_how_to_stop_what_it_could_not(unstoppable_home: Path) -> None:
    said = asyncio.run(stop_started_server(unstoppable_home))
    assert "could not stop the embedded PostgreSQL server" in said
    assert f"stop it with: tracer --home {unstoppable_home} db stop" in said
