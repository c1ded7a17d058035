"""Numbered SQL migrations, each applied once in its own transaction and recorded.

Files are ``migrations/NNN_name.sql``; the number is the version. An advisory lock keeps two processes
from migrating at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

from tracer.errors import SchemaError

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 7_310_042  # arbitrary, constant: pg_advisory_xact_lock key for migrations


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files("tracer.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise SchemaError(f"migration numbers must run 1..n without gaps, found {versions}")
    return found


async def migrate(conn: asyncpg.Connection, *, until: int | None = None) -> list[int]:
    """Apply what is missing, up to version ``until`` (all by default); return the versions applied now.
    ``until`` lets tests build a database as an older release left it, rows included, and migrate it."""
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               version integer PRIMARY KEY,
               name text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now())"""
    )
    applied_now = []
    # Every command opens the pool through here: read what is applied in one query, and take the lock
    # and a transaction only for what is missing (29 migrations: ~120 round trips less per start-up).
    applied = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
    for migration in available():
        if until is not None and migration.version > until:
            break
        if migration.version in applied:
            continue
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            done = await conn.fetchval(
                "SELECT 1 FROM schema_migrations WHERE version = $1", migration.version
            )
            if done:  # another process applied it meanwhile
                continue
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
            applied_now.append(migration.version)
            log.info("applied migration", extra={"version": migration.version, "migration": migration.name})
    return applied_now
