"""Settings: defaults that work with no configuration; typos fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracer.config import Settings
from tracer.errors import ConfigError


def test_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = Settings.from_env({"XDG_DATA_HOME": str(tmp_path)})
    assert settings.database_url is None  # embedded PostgreSQL
    assert settings.port == 8080


def test_environment_and_flags() -> None:
    settings = Settings.from_env(
        {"TRACER_DATABASE_URL": "postgresql://db/tracer", "TRACER_PORT": "9000", "TRACER_HOME": "/srv/t"},
        port=9100,
    )
    assert settings.database_url == "postgresql://db/tracer"
    assert settings.port == 9100  # a flag beats the environment
    assert settings.home == Path("/srv/t")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [({"TRACER_DATABSE_URL": "x"}, "TRACER_DATABSE_URL"), ({"TRACER_PORT": "eighty"}, "TRACER_PORT")],
)
def test_unknown_or_invalid_settings_fail_loudly(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        Settings.from_env(env)


def test_variables_of_the_install_and_the_tests_are_not_settings() -> None:
    # TRACER_PURE_PYTHON stays exported after an install without compiling; it must not stop every command.
    env = {
        "TRACER_PURE_PYTHON": "1",
        "TRACER_TEST_DATABASE_URL": "postgresql://db/test",
        "TRACER_PORT": "9000",
    }
    assert Settings.from_env(env).port == 9000
