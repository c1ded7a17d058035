"""``tracer demo`` stopped with SIGTERM stops the embedded PostgreSQL server it started, says so, and exits
143 (128 + SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TRACER = [sys.executable, "-m", "tracer.cli"]
DEADLINE_S = 180.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")}
    env["TRACER_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"  # the demo's progress lines as they come, not at exit
    return env


@pytest.mark.slow
def test_sigterm_stops_the_demo_and_the_server_it_started(tmp_path: Path) -> None:
    home = tmp_path / "home"
    demo = subprocess.Popen(
        [*TRACER, "demo", "--no-serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(home),
    )
    assert demo.stdout is not None
    started = time.monotonic()
    line = demo.stdout.readline()  # the first line comes once the database is up: "replay node on ..."
    assert "replay node" in line, line
    assert time.monotonic() - started < DEADLINE_S
    demo.send_signal(signal.SIGTERM)
    _, err = demo.communicate(timeout=DEADLINE_S)
    assert demo.returncode == 128 + signal.SIGTERM, err
    assert "stopped the embedded PostgreSQL server it started" in err
    assert "Traceback" not in err
    status = subprocess.run(
        [*TRACER, "db", "status"], capture_output=True, text=True, env=_env(home), check=True
    )
    assert json.loads(status.stdout)["running"] is False
