"""The index command's options are range-checked before anything starts (``--batch 0`` used to never end);
``--rest`` needs a Bitcoin Core node that serves REST, and indexes what JSON-RPC does; ``tracer db url``
prints the bare URL so ``psql "$(tracer db url)"`` works."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from indexer.conftest import Snapshot, snapshot, start_tracer
from indexer.test_workers import finish, index_args
from tracer.config import Settings
from tracer.devnode.bitcoin_replay import ReplayNode, serve_replay
from tracer.devnode.bitcoin_store import ReplayStore


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--batch", "0", "--batch must be between 1 and 10000, got 0"),
        ("--batch", "-5", "--batch must be between 1 and 10000, got -5"),
        ("--workers", "0", "--workers must be between 1 and 64, got 0"),
        ("--from", "-1", "--from must be at least 0, got -1"),
        ("--confirmations", "-2", "--confirmations must be between 0 and 1000, got -2"),
        ("--lease-seconds", "0", "--lease-seconds must be between 1.0 and 3600.0, got 0.0"),
    ],
)
def test_out_of_range_options_are_one_line_and_exit_2(
    option: str, value: str, message: str, settings: Settings
) -> None:
    run = start_tracer("index", "bitcoin", "--rpc", "http://127.0.0.1:9/", option, value, settings=settings)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 2
    assert err.strip().splitlines() == [f"tracer: invalid_input: {message}"]
    assert out == ""


def test_db_url_is_bare_and_json_on_request(settings: Settings) -> None:
    run = start_tracer("db", "url", settings=settings)
    out, _ = run.communicate(timeout=60)
    assert out.strip() == settings.database_url
    run = start_tracer("db", "url", "--json", settings=settings)
    out, _ = run.communicate(timeout=60)
    assert json.loads(out) == {"url": settings.database_url}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["index", "bitcoin", "--esplora", "http://127.0.0.1:9", "--rest"], "give --rpc URL"),
        (["index", "evm", "--rest"], "use it with index bitcoin --rpc URL"),
    ],
)
def test_rest_without_a_bitcoin_rpc_node_is_refused(
    args: list[str], message: str, settings: Settings
) -> None:
    run = start_tracer(*args, settings=settings)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2
    assert err.startswith("tracer: invalid_input: --rest ") and message in err


async def test_rest_against_a_node_without_it_says_how_to_start_one(
    settings: Settings, chain_store: ReplayStore
) -> None:
    async with serve_replay(chain_store, rest=False) as node:
        run = start_tracer("index", "bitcoin", "--rpc", node.rpc_url, "--rest", settings=settings)
        _, err = await asyncio.to_thread(run.communicate, timeout=60)
    assert run.returncode == 2
    assert "does not serve Bitcoin Core's REST interface (404): start bitcoind with -rest" in err


async def test_rest_indexes_the_clean_rows(
    pool: asyncpg.Pool,
    settings: Settings,
    chain_node: ReplayNode,
    chain_range: tuple[int, int],
    clean_rows: Snapshot,
) -> None:
    """Blocks as bytes from the REST interface, hashes over JSON-RPC: the rows of the JSON-RPC run."""
    first, last = chain_range
    run = start_tracer(*index_args(chain_node, first, last, "--rest"), settings=settings)
    code, out, err = await asyncio.to_thread(finish, run)
    assert code == 0, err
    assert json.loads(out)["blocks"] == last - first + 1
    assert await snapshot(pool) == clean_rows
