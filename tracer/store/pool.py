"""Connection pool: from ``TRACER_DATABASE_URL``, or the embedded server under ``TRACER_HOME``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import orjson

from tracer.config import Settings
from tracer.store import embedded
from tracer.store.errors import translate_errors
from tracer.store.migrations import migrate


async def resolve_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(embedded.start, settings.home)


_JSONB_VERSION = b"\x01"  # jsonb binary wire format version (PostgreSQL jsonb_send)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # Binary format, so COPY (which is binary in asyncpg) can write jsonb too: a version byte, then text.
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda value: _JSONB_VERSION + orjson.dumps(value),
        decoder=lambda data: orjson.loads(data[1:]),
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """A pool's reset that keeps the session as it is (asyncpg still rolls back an open transaction)."""


async def create_pool(
    settings: Settings,
    *,
    run_migrations: bool = True,
    server_settings: dict[str, str] | None = None,
    reset_sessions: bool = True,
) -> asyncpg.Pool:
    """``reset_sessions=False`` skips asyncpg's reset query (RESET ALL, UNLISTEN *, CLOSE ALL, advisory
    unlock) on every release: a round trip per use, for a caller that never changes session state (the
    API: measured one of its three round trips per screen). An open transaction is still rolled back."""
    url = await resolve_url(settings)
    async with translate_errors():
        pool = await asyncpg.create_pool(
            url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            init=_init_connection,
            server_settings=server_settings,
            reset=None if reset_sessions else _keep_session,
            # No idle-connection expiry: its timer is re-armed on every release (measured ~2% of the API's
            # CPU per screen); the pool stays at the size its peak load needed, at most max_size.
            max_inactive_connection_lifetime=0,
        )
        if run_migrations:
            async with pool.acquire() as conn:
                await conn.execute("SET statement_timeout = 0")  # a migration may run long
                await migrate(conn)
                await conn.execute("RESET statement_timeout")  # back to the pool's setting
    return pool


@contextlib.asynccontextmanager
async def open_pool(
    settings: Settings,
    *,
    run_migrations: bool = True,
    server_settings: dict[str, str] | None = None,
    reset_sessions: bool = True,
) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(
        settings,
        run_migrations=run_migrations,
        server_settings=server_settings,
        reset_sessions=reset_sessions,
    )
    try:
        yield pool
    finally:
        await pool.close()


async def refresh_statistics(pool: asyncpg.Pool, tables: tuple[str, ...], *, at_once: bool = False) -> None:
    """ANALYZE after a bulk load: autovacuum gets there eventually, but until it does the planner guesses
    row counts from nothing and picks sequential scans (measured: screening 16 ms -> 7 ms after ANALYZE).
    ``at_once``: each table on its own connection of ``pool``, all at the same time (the caller must hold
    none of them), so a second core analyses the other tables while the largest is read."""
    async with translate_errors():
        if at_once:
            await asyncio.gather(*(pool.execute("ANALYZE " + table) for table in tables))
        else:
            await pool.execute("ANALYZE " + ", ".join(tables))


# ANALYZE a table again once this share of its rows changed since the last ANALYZE (autovacuum's own default
# analyze_scale_factor is 0.1); below MIN rows the planner's guesses do not matter.
STATISTICS_STALE_FRACTION = 0.1
STATISTICS_MIN_ROWS = 1000


async def refresh_grown_statistics(conn: asyncpg.Connection, tables: tuple[str, ...]) -> list[str]:
    """ANALYZE only the tables that grew or changed by a tenth since their last ANALYZE: the cost follows
    what was written, not the size of the database (one new block no longer re-analyses everything).
    Tables never analysed are analysed once whatever their counters say (those are flushed lazily)."""
    # $2 cast explicitly: left to infer, PostgreSQL types it as n_live_tup's bigint and asyncpg sends 0.1
    # as 0, so every table with 1,000 changed rows was analysed after every run (one more block at 1M
    # transactions: ANALYZE of the four chain tables, 1.1-2.9 s of 2.3-7.4 s on a loaded machine).
    stale = await conn.fetch(
        """SELECT relname FROM pg_stat_user_tables
           WHERE relname = ANY($1::text[]) AND schemaname = current_schema()
             AND (n_mod_since_analyze >= greatest($2::float8 * n_live_tup, $3)
                  OR (last_analyze IS NULL AND last_autoanalyze IS NULL))""",
        list(tables),
        STATISTICS_STALE_FRACTION,
        STATISTICS_MIN_ROWS,
    )
    names = [row["relname"] for row in stale]
    if names:
        async with translate_errors():
            await conn.execute("ANALYZE " + ", ".join(names))
    return names
