"""The CLI contract, as other tools script against it: a real `tracer` process, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRACER = [sys.executable, "-m", "tracer.cli"]
SANCTIONED = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"
PAYER = "3N4aC7aLgUBPjaMsxBsDcSZy14wWGarPng"  # paid SANCTIONED in tx 41f366c2... (block 574200)


def run(
    *args: str,
    database_url: str | None,
    home: Path,
    timeout: float = 300,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACER_")} | (extra_env or {})
    env["TRACER_HOME"] = str(home)
    if database_url:
        env["TRACER_DATABASE_URL"] = database_url
    return subprocess.run(
        [*TRACER, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def test_index_cluster_label_screen(fresh_db: str, tmp_path: Path) -> None:
    block = (
        FIXTURES
        / "bitcoin/raw/btcd/block-0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2.blk.gz"
    )
    indexed = run("index", "bitcoin", "--raw", str(block), database_url=fresh_db, home=tmp_path)
    assert indexed.returncode == 0, indexed.stderr
    assert json.loads(indexed.stdout)["txs"] == 3315  # block 574200
    clustered = run("cluster", database_url=fresh_db, home=tmp_path)
    assert clustered.returncode == 0, clustered.stderr
    (report,) = json.loads(clustered.stdout)["chains"]  # no --chain: every indexed chain
    assert (report["chain"], report["mode"]) == ("bitcoin", "full")
    assert report["merges"] > 0
    imported = run("labels", "import", str(FIXTURES / "labels/ofac"), database_url=fresh_db, home=tmp_path)
    assert imported.returncode == 0, imported.stderr
    screened = run("screen", "bitcoin", SANCTIONED, "--json", database_url=fresh_db, home=tmp_path)
    assert screened.returncode == 0, screened.stderr
    result = json.loads(screened.stdout)
    assert (result["address"], result["risk"]["level"]) == (SANCTIONED, "severe")
    assert "OFAC SDN list (XBT)" in {r["source"] for r in result["risk"]["reasons"]}
    shown = run("coverage", "show", result["coverage"]["id"], database_url=fresh_db, home=tmp_path)
    assert shown.returncode == 0, shown.stderr  # the label sources the answer's coverage id names
    assert "OFAC SDN list (XBT)" in {s["name"] for s in json.loads(shown.stdout)["label_sources"]}
    human = run("screen", "bitcoin", SANCTIONED, database_url=fresh_db, home=tmp_path)
    assert human.stdout.startswith(f"bitcoin {SANCTIONED}: SEVERE")
    # Where did its 0.38796959 BTC come from? Its payers spent outputs of blocks not bundled: poison still
    # names them, with the amount unknown (null and a flag), not 0.
    how = ("--direction", "backward", "--method", "poison", "--hops", "2", "--json")
    traced = run("trace", "bitcoin", SANCTIONED, *how, database_url=fresh_db, home=tmp_path)
    assert traced.returncode == 0, traced.stderr
    trace = json.loads(traced.stdout)
    assert (trace["method"], trace["direction"], trace["parameters"]["hops"]) == ("poison", "backward", 2)
    payers = {f["address"]: f for f in trace["flows"] if f["hop"] == 1}
    assert payers[PAYER]["amount"] is None and payers[PAYER]["amount_known"] is False


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("screen", "bitcoin", "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53e", "--json"), 2, "invalid_address"),
        (("screen", "litecoin", SANCTIONED), 2, "unsupported_chain"),
        (("trace", "bitcoin", SANCTIONED, "--hops", "0"), 2, "invalid_input"),
        (("trace", "litecoin", SANCTIONED), 2, "unsupported_chain"),
        (("trace", "ethereum", SANCTIONED), 2, "invalid_address"),  # a Bitcoin address on Ethereum
        (("index", "bitcoin", "--raw", "/no/such/file.blk"), 2, "no such file"),
        (("index", "bitcoin"), 2, "exactly one of"),
        (("coverage", "show", "nope"), 2, "lowercase hex digits"),
        (("coverage", "show", "0" * 24), 2, "no coverage"),
        (("labels", "import", "/no/such/dir"), 2, "no such file or directory"),
        (("labels", "import", str(FIXTURES / "README.md")), 2, "unsupported_format"),
        (
            ("index", "bitcoin", "--json", str(FIXTURES / "labels/ofac/sanctioned_addresses_XBT.json")),
            2,
            "malformed",
        ),
    ],
)
def test_errors_are_one_line_and_a_nonzero_exit(
    fresh_db: str, tmp_path: Path, args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(*args, database_url=fresh_db, home=tmp_path)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_configured_node_is_used_when_no_source_is_given(fresh_db: str, tmp_path: Path) -> None:
    """TRACER_BTC_RPC_URL is the same code path as --rpc: here a replay node of blocks 1-255."""
    replay = [
        *TRACER,
        "dev",
        "replay-node",
        str(FIXTURES / "bitcoin/raw/btcd/blocks1-256.bz2"),
        "--port",
        "0",
    ]
    with subprocess.Popen(replay, stdout=subprocess.PIPE, text=True) as node:
        try:
            assert node.stdout is not None
            announced = json.loads(node.stdout.readline())
            assert announced["tip"] == 255
            result = run(
                "index",
                "bitcoin",
                "--from",
                "1",
                "--to",
                "10",
                database_url=fresh_db,
                home=tmp_path,
                extra_env={"TRACER_BTC_RPC_URL": announced["rpc_url"]},
            )
        finally:
            node.terminate()
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["blocks"], report["heights"]) == (10, [1, 10])


def test_unreachable_database_is_a_store_error(tmp_path: Path) -> None:
    result = run("cluster", database_url="postgresql://nobody@127.0.0.1:1/none", home=tmp_path)
    assert result.returncode == 3
    assert result.stderr.startswith("tracer: store_unavailable:")


def test_unknown_setting_fails_loudly(tmp_path: Path) -> None:
    env_typo = {**os.environ, "TRACER_DATABSE_URL": "x", "TRACER_HOME": str(tmp_path)}
    result = subprocess.run(
        [*TRACER, "db", "status"], capture_output=True, text=True, env=env_typo, check=False
    )
    assert result.returncode == 1
    assert "TRACER_DATABSE_URL" in result.stderr


@pytest.mark.slow
def test_embedded_database_lifecycle_and_the_readme_demo(tmp_path: Path) -> None:
    """`tracer demo --no-serve` on an empty TRACER_HOME: starts the embedded PostgreSQL, loads everything.
    Then `db status` sees it, a later command reuses it, and `db stop` stops it."""
    home = tmp_path / "home"
    demo = run("demo", "--no-serve", database_url=None, home=home, timeout=900)
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "clustered:" in demo.stdout and "imported" in demo.stdout
    status = json.loads(run("db", "status", database_url=None, home=home).stdout)
    assert status["running"] is True
    screened = run("screen", "bitcoin", SANCTIONED, "--json", database_url=None, home=home)
    assert json.loads(screened.stdout)["risk"]["level"] == "severe"
    assert json.loads(run("db", "stop", database_url=None, home=home).stdout) == {"stopped": True}
    assert json.loads(run("db", "status", database_url=None, home=home).stdout)["running"] is False


async def test_why_explains_a_cluster_merge_by_merge(
    loaded_db: str, loaded_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """The smallest and largest member of the largest cluster (3,804 addresses): JSON as the API gives it."""
    row = await loaded_pool.fetchrow(
        """SELECT (SELECT address FROM addresses WHERE id = c.id) AS a,
                  (SELECT a.address FROM address_clusters ac JOIN addresses a ON a.id = ac.address_id
                   WHERE ac.cluster_id = c.id ORDER BY ac.address_id DESC LIMIT 1) AS b
           FROM clusters c ORDER BY c.size DESC LIMIT 1"""
    )
    assert row is not None
    a, b = row["a"], row["b"]
    done = run("why", "bitcoin", a, b, "--json", database_url=loaded_db, home=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["linked"] is True and body["path"][0]["from"] == a and body["path"][-1]["to"] == b
    human = run("why", "bitcoin", a, b, database_url=loaded_db, home=tmp_path)
    assert human.stdout.startswith(f"{a} and {b} are in cluster")
    bad = run("why", "bitcoin", a, "nonsense", database_url=loaded_db, home=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("tracer: invalid_address")
