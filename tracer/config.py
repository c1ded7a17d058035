"""Typed settings from ``TRACER_*`` environment variables and CLI flags.

Defaults work with no configuration: an embedded PostgreSQL under ``TRACER_HOME`` and the API on
127.0.0.1:8080. An unknown ``TRACER_*`` variable is an error, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tracer.errors import ConfigError

ENV_PREFIX = "TRACER_"
# Not pydantic: every command builds Settings first, and importing pydantic was ~60 ms of each command's
# start-up (~0.2 s of CPU on a loaded machine; ``tracer index evm`` is timed as a process by
# bench.evm_ingest). The coercions below are the ones the environment and flags need.
# TRACER_* variables that are not settings, so not typos either: the install's and the parsers' loader's
# (setup.py, chains.compiled), and the test suite's.
_READ_ELSEWHERE = frozenset({"pure_python", "test_database_url"})
_TRUE = frozenset({"1", "true", "yes", "on", "t", "y"})
_FALSE = frozenset({"0", "false", "no", "off", "f", "n"})


def default_home() -> Path:
    """Per-user data dir (XDG): where the embedded database lives when no URL is given."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracer"


def _bounds(low: float | None = None, high: float | None = None, *, above: bool = False) -> dict[str, Any]:
    """Field metadata: ``low <= value <= high`` (``low < value`` when ``above``)."""
    return {"low": low, "high": high, "above": above}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    home: Path = field(default_factory=default_home)
    database_url: str | None = None  # a real server; else the embedded one under home
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata=_bounds(0, 65535))
    workers: int = field(
        default=1, metadata=_bounds(1, 64)
    )  # API processes sharing the port (tracer.api.workers)
    reuse_port: bool = False  # listen with SO_REUSEPORT: set for the processes of `serve --workers N`
    log_level: str = "INFO"
    btc_rpc_url: str | None = None  # Bitcoin Core JSON-RPC, e.g. http://user:pass@127.0.0.1:8332
    esplora_url: str | None = None  # Esplora REST base URL
    pool_min_size: int = field(default=1, metadata=_bounds(0))
    pool_max_size: int = field(default=10, metadata=_bounds(1))
    screen_max_counterparties: int = field(default=50, metadata=_bounds(1))  # exposures read per wallet
    bulk_screen_max: int = field(default=10_000, metadata=_bounds(1))  # addresses per POST /v1/screen
    # API keys: "on" unless a single user on their own machine says "off" (the demo does, and says so).
    auth: Literal["on", "off"] = "on"
    key_rate: float = field(default=100.0, metadata=_bounds(0, above=True))  # requests/s of a new key
    max_body_bytes: int = field(default=4 * 1024 * 1024, metadata=_bounds(1024))  # 10,000 addresses ~650 KB
    header_timeout: float = field(default=10.0, metadata=_bounds(0, above=True))  # request line + headers
    body_timeout: float = field(default=10.0, metadata=_bounds(0, above=True))  # seconds to send the body
    request_timeout: float = field(default=30.0, metadata=_bounds(0, above=True))  # the whole answer
    db_timeout: float = field(default=5.0, metadata=_bounds(0, above=True))  # one statement, locks included
    shutdown_timeout: float = field(default=30.0, metadata=_bounds(0))  # for in-flight requests to finish

    def __post_init__(self) -> None:
        problems = []
        for f in dataclasses.fields(self):
            try:
                object.__setattr__(self, f.name, _coerce(f, getattr(self, f.name)))
            except (TypeError, ValueError) as exc:
                problems.append(f"{ENV_PREFIX}{f.name.upper()}: {exc}")
        if problems:
            raise ConfigError(f"invalid settings: {'; '.join(problems)}")

    def model_copy(self, *, update: Mapping[str, Any]) -> Settings:
        """A copy with ``update``'s fields replaced (checked like the originals)."""
        return dataclasses.replace(self, **update)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for key, value in env.items():
            name = key[len(ENV_PREFIX) :].lower()
            if key.startswith(ENV_PREFIX) and value != "" and name not in _READ_ELSEWHERE:
                values[name] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            names = ", ".join(f"{ENV_PREFIX}{name.upper()}" for name in unknown)
            raise ConfigError(f"invalid settings: {names}: unknown setting")
        return cls(**values)


def _coerce(f: dataclasses.Field[Any], value: Any) -> Any:
    """``value`` (from the environment: a string) as field ``f``'s type, within its bounds."""
    kind = f.type
    if value is None:
        if "None" in kind:
            return None
        raise ValueError("may not be empty")
    if kind == "Path":
        return Path(value)
    if kind.startswith("str"):
        return str(value)
    if kind.startswith("Literal"):
        allowed = [part.strip(" '\"") for part in kind[len("Literal[") : -1].split(",")]
        if value not in allowed:
            raise ValueError(f"expected one of {allowed}, got {value!r}")
        return value
    if kind == "bool":
        return _boolean(value)
    number = _number(value, int if kind == "int" else float)
    low, high, above = (f.metadata.get(k) for k in ("low", "high", "above"))
    if low is not None and (number <= low if above else number < low):
        raise ValueError(f"must be {'>' if above else '>='} {low}, got {number}")
    if high is not None and number > high:
        raise ValueError(f"must be <= {high}, got {number}")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(f"expected a boolean, got {value!r}")


def _number(value: Any, kind: type[int] | type[float]) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an integer, got {value!r}")
    try:
        return kind(value) if not (kind is int and isinstance(value, float)) else int(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected {'an integer' if kind is int else 'a number'}, got {value!r}") from None
