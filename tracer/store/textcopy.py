"""PostgreSQL COPY in text format, for rows whose fields are integers, booleans, hex digests and known-safe
words (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format").

asyncpg's ``copy_records_to_table`` sends binary COPY, whose ``numeric`` encoder takes ~1 µs a value
(a Python int goes through its decimal digits); account chains store every amount as numeric(78,0), two a
transaction. Text rows cost ``str(int)`` instead, and a hash stays the hex the node sent (``\\x`` + hex is
bytea's text input), with no ``bytes.fromhex`` per row. Measured on bench.evm_ingest (20,003 blocks, 160k
amounts): see ``tracer.store.transfers``.

Only fields that cannot hold a tab, newline or backslash may go in unescaped: callers pass integers,
booleans, ``NULL``, hex checked by ``hex_field``, and fixed words (chain names, kinds).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import asyncpg

NULL = "\\N"


def hex_field(text: str) -> str:
    """bytea's text input for a hex digest, 0x or not: checked to be hex (``ValueError`` if not), so it
    cannot break out of its field."""
    digits = text[2:] if text.startswith(("0x", "0X")) else text
    # fromhex skips whitespace (tabs, newlines: field and row separators); then fewer bytes come out
    if len(bytes.fromhex(digits)) * 2 != len(digits):
        raise ValueError(f"not a hex digest: {text!r:.80}")
    return "\\\\x" + digits  # COPY turns \\ into \, bytea reads \x...


async def copy_text(conn: asyncpg.Connection, table: str, columns: Sequence[str], lines: list[str]) -> None:
    """COPY ``lines`` (each one row: tab-separated fields, newline-terminated) into ``table``."""
    if lines:
        payload = io.BytesIO("".join(lines).encode())
        await conn.copy_to_table(table, source=payload, columns=list(columns), format="text")
