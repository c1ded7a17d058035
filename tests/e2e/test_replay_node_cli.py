"""``tracer dev replay-node`` serving a generated chain with faults and a reorg, and its option errors."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

TRACER = [sys.executable, "-m", "tracer.cli"]


def test_generated_chain_with_a_scripted_reorg_is_served() -> None:
    args = ["dev", "replay-node", "--generate", "900", "--txs-per-block", "300", "--port", "0"]
    args += ["--reorg-depth", "1", "--reorg-after", "1", "--rpc-user", "u", "--rpc-password", "p"]
    with subprocess.Popen([*TRACER, *args], stdout=subprocess.PIPE, text=True) as node:
        try:
            assert node.stdout is not None
            announced = json.loads(node.stdout.readline())
            assert announced["tip"] == 800_003 and "u:p@" in announced["rpc_url"]
            url = announced["rpc_url"].replace("u:p@", "")
            hashes = [rpc_call(url, "getbestblockhash") for _ in range(2)]
        finally:
            node.terminate()
    assert hashes[0] != hashes[1]  # the stale tip first, the real one after the reorg


def rpc_call(url: str, method: str) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(url, body, {"Authorization": "Basic dTpw"})  # u:p
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())["result"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "or --generate N"),
        (("--generate", "10", "--fault-rate", "0.5", "--faults", "500,bogus"), "fault kinds must be"),
        (("--generate", "10", "--rpc-user", "u"), "go together"),
    ],
)
def test_option_errors_are_one_line(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    env = {"TRACER_HOME": str(tmp_path), "PATH": ""}
    result = subprocess.run(
        [*TRACER, "dev", "replay-node", *args, "--port", "0"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
