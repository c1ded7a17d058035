"""Typed settings from ``TRACER_*`` environment variables and CLI flags.

Defaults work with no configuration: an embedded PostgreSQL under ``TRACER_HOME`` and the API on
127.0.0.1:8080. An unknown ``TRACER_*`` variable is an error, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracer.errors import ConfigError

ENV_PREFIX = "TRACER_"


def default_home() -> Path:
    """Per-user data dir (XDG): where the embedded database lives when no URL is given."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracer"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None  # a real server; else the embedded one under home
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)  # API processes sharing the port (tracer.api.workers)
    reuse_port: bool = False  # listen with SO_REUSEPORT: set for the processes of `serve --workers N`
    log_level: str = "INFO"
    btc_rpc_url: str | None = None  # Bitcoin Core JSON-RPC, e.g. http://user:pass@127.0.0.1:8332
    esplora_url: str | None = None  # Esplora REST base URL
    pool_min_size: int = Field(default=1, ge=0)
    pool_max_size: int = Field(default=10, ge=1)
    screen_max_counterparties: int = Field(default=50, ge=1)  # exposures read per wallet, riskiest first
    bulk_screen_max: int = Field(default=10_000, ge=1)  # addresses per POST /v1/screen
    # API keys: "on" unless a single user on their own machine says "off" (the demo does, and says so).
    auth: Literal["on", "off"] = "on"
    key_rate: float = Field(default=100.0, gt=0)  # requests/s of a key created without --rate
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)  # 10,000 addresses are ~650 KB
    header_timeout: float = Field(default=10.0, gt=0)  # seconds to send the request line and headers
    body_timeout: float = Field(default=10.0, gt=0)  # seconds to send the body
    request_timeout: float = Field(default=30.0, gt=0)  # seconds for the whole answer (bulk included)
    db_timeout: float = Field(default=5.0, gt=0)  # seconds one statement may wait or run, locks included
    shutdown_timeout: float = Field(default=30.0, ge=0)  # seconds in-flight requests get to finish

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for key, value in env.items():
            if key.startswith(ENV_PREFIX) and value != "":
                values[key[len(ENV_PREFIX) :].lower()] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"invalid settings: {problems}") from exc
