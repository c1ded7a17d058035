"""The index command's options are range-checked before anything starts (``--batch 0`` used to never end);
``tracer db url`` prints the bare URL so ``psql "$(tracer db url)"`` works."""

from __future__ import annotations

import json

import pytest

from indexer.conftest import start_tracer
from tracer.config import Settings


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
