"""A reorg deletes blocks and their transactions; every row that references them goes by ON DELETE CASCADE,
one lookup per deleted row and referencing table. Each such referencing column must lead an index, or every
lookup is a sequential scan (a top block of a 1M-transaction chain took minutes to delete)."""

from __future__ import annotations

import asyncpg

# Foreign keys into the tables a reorg deletes from, with their referencing columns, and whether some index
# of the referencing table starts with exactly those columns (in any order).
_UNINDEXED = """
SELECT c.conrelid::regclass::text AS table_name, c.confrelid::regclass::text AS referenced,
       array_agg(a.attname ORDER BY a.attname) AS columns
FROM pg_constraint c
JOIN unnest(c.conkey) k (attnum) ON true
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
WHERE c.contype = 'f' AND c.confrelid IN ('blocks'::regclass, 'transactions'::regclass)
  AND NOT EXISTS (
      SELECT 1 FROM pg_index i
      WHERE i.indrelid = c.conrelid
        AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) x)
            = (SELECT array_agg(x ORDER BY x) FROM unnest(c.conkey) x))
GROUP BY c.oid, c.conrelid, c.confrelid
ORDER BY 1, 2
"""


async def test_every_reference_a_reorg_cascades_into_is_indexed(pool: asyncpg.Pool) -> None:
    unindexed = [(r["table_name"], r["referenced"], r["columns"]) for r in await pool.fetch(_UNINDEXED)]
    assert unindexed == []
