"""The writer's digest (tracer.store.audit_digest) is byte for byte the database's audit_digest, which
`tracer audit verify` recomputes: for generated rows, awkward JSON included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracer.store.audit_digest import jsonb_text, row_digest

_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
_NUMBERS = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 0.0, 1e16, 1e-7, 1.5e300, 5e-324, 0.1, 123456789.123, -2.5e-5]),
)
_JSON = st.recursive(
    st.none() | st.booleans() | _NUMBERS | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_ROW = st.fixed_dictionaries(
    {
        "at": st.datetimes(
            min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ),
        "key_id": st.none() | st.integers(1, 2**40),
        "tenant": _TEXT,
        "client": st.none() | _TEXT,
        "method": st.sampled_from(["GET", "POST"]),
        "path": _TEXT,
        "query": st.dictionaries(_TEXT, _JSON, max_size=4),
        "status": st.integers(100, 599),
        "duration_ms": st.floats(0, 1e7)
        | st.sampled_from([0.0005, 1.2345, 2.0015, 999999.5, 12.3456789, 1.235, 0.5, 2.0, 1234.567, 1e6])
        | st.integers(0, 10**9).map(lambda us: round(us / 1000, 3)),  # as the API rounds them
        "answer": st.none() | st.dictionaries(_TEXT, _JSON, max_size=4),
    }
)

_COLUMNS = ("at", "key_id", "tenant", "client", "method", "path", "query", "status", "duration_ms", "answer")
_INSERT = """
INSERT INTO audit_log (at, key_id, tenant, client, method, path, query, status, duration_ms, answer)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING seq, id, prev_hash, hash
"""


async def test_writer_digest_matches_the_database(pool: asyncpg.Pool) -> None:
    rows: list[dict[str, object]] = []

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_ROW)
    def collect(row: dict[str, object]) -> None:
        rows.append(row)

    collect()
    async with pool.acquire() as conn:
        for row in rows:
            values = [row[column] for column in _COLUMNS]
            stored = await conn.fetchrow(_INSERT, *values)  # no hash given: the trigger computes it
            fields = {"seq": stored["seq"], "id": stored["id"], **row}
            assert row_digest(stored["prev_hash"], fields) == stored["hash"], fields


async def test_an_hour_of_microseconds_round_trips(pool: asyncpg.Pool) -> None:
    """``at`` enters as microseconds since the epoch on both sides, whatever the session time zone."""
    start = datetime(2026, 11, 30, 12, tzinfo=UTC)
    async with pool.acquire() as conn:
        await conn.execute("SET TIME ZONE 'Asia/Kathmandu'")
        for n in range(20):
            at = start + timedelta(microseconds=n * 179_999_999)
            row: tuple[object, ...] = (at, None, "public", None, "GET", "/v1/x", {}, 200, 1.0, None)
            stored = await conn.fetchrow(_INSERT, *row)
            fields: dict[str, object] = dict(zip(_COLUMNS, row, strict=True))
            fields |= {"seq": stored["seq"], "id": stored["id"]}
            assert row_digest(stored["prev_hash"], fields) == stored["hash"]


async def test_every_character_is_escaped_as_the_database_does(pool: asyncpg.Pool) -> None:
    code_points = [c for c in range(1, 0x110000) if not 0xD800 <= c <= 0xDFFF]
    strings = ["".join(map(chr, code_points[i : i + 512])) for i in range(0, len(code_points), 512)]
    rendered = await pool.fetch("SELECT to_jsonb(s)::text AS t FROM unnest($1::text[]) s", strings)
    assert [r["t"] for r in rendered] == [jsonb_text(s) for s in strings]
