"""SQLSTATE classes mapped to the StoreError tree, in one place.

Use ``translate_errors()`` around store calls at the boundary (a job, a request); it re-raises asyncpg and
OS errors as ``StoreError`` subclasses with ``raise ... from``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from tracer.errors import SchemaError, StoreConflict, StoreError, StoreUnavailable

# SQLSTATE class (first two characters) -> error type. https://www.postgresql.org/docs/current/errcodes-appendix.html
_BY_CLASS: dict[str, type[StoreError]] = {
    "08": StoreUnavailable,  # connection exception
    "53": StoreUnavailable,  # insufficient resources
    "57": StoreUnavailable,  # operator intervention (shutdown, cancel)
    "40": StoreConflict,  # transaction rollback (serialization failure, deadlock)
    "23": StoreConflict,  # integrity constraint violation
    "42": SchemaError,  # syntax error or access rule violation (e.g. missing table: not migrated)
}


def classify(exc: BaseException) -> StoreError:
    if isinstance(exc, asyncpg.PostgresError):
        sqlstate = getattr(exc, "sqlstate", "") or ""
        kind = _BY_CLASS.get(sqlstate[:2], StoreError)
        return kind(f"database error {sqlstate}: {exc}", sqlstate=sqlstate)
    if isinstance(exc, OSError | asyncpg.InterfaceError | asyncpg.InternalClientError):
        return StoreUnavailable(f"database unreachable: {exc}")
    return StoreError(str(exc))


@contextlib.asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    try:
        yield
    except StoreError:
        raise
    # InternalClientError: asyncpg's state machine after the server dropped the connection mid-query.
    except (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError) as exc:
        raise classify(exc) from exc
