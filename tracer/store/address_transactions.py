"""The transactions an address took part in, with ids, so each counterparty in a screening can be checked
on any block explorer: per transaction what the address sent and received, and who was on the other side.
``sent`` counts only inputs whose value we know (``sent_value_unknown`` says when some are missing)."""

from __future__ import annotations

import asyncpg

# One row per transaction, newest first. Amounts are sums in base units (NUMERIC: never overflow).
_TRANSACTIONS = """
WITH txs AS (
    SELECT tx_id FROM tx_outputs WHERE address_id = $1
    UNION
    SELECT tx_id FROM tx_inputs WHERE address_id = $1
)
SELECT encode(t.txid, 'hex') AS txid, t.id AS tx_id, t.block_height, t.position,
       COALESCE((SELECT sum(o.value) FROM tx_outputs o WHERE o.tx_id = t.id AND o.address_id = $1), 0)
           AS received,
       COALESCE((SELECT sum(i.value) FROM tx_inputs i WHERE i.tx_id = t.id AND i.address_id = $1), 0) AS sent,
       (SELECT count(*) FROM tx_inputs i WHERE i.tx_id = t.id AND i.address_id = $1) AS inputs_spent,
       EXISTS (SELECT 1 FROM tx_inputs i WHERE i.tx_id = t.id AND i.address_id = $1 AND i.value IS NULL)
           AS sent_value_unknown,
       ARRAY(SELECT DISTINCT a.address FROM tx_inputs i JOIN addresses a ON a.id = i.address_id
             WHERE i.tx_id = t.id AND i.address_id <> $1 ORDER BY a.address) AS senders,
       ARRAY(SELECT DISTINCT a.address FROM tx_outputs o JOIN addresses a ON a.id = o.address_id
             WHERE o.tx_id = t.id AND o.address_id <> $1 ORDER BY a.address) AS recipients
FROM txs JOIN transactions t ON t.id = txs.tx_id
ORDER BY t.block_height DESC, t.position DESC
LIMIT $2 OFFSET $3
"""


async def address_transactions(
    conn: asyncpg.Connection, address_id: int, limit: int, offset: int
) -> list[dict[str, object]]:
    rows = await conn.fetch(_TRANSACTIONS, address_id, limit, offset)
    return [{**dict(r), "received": int(r["received"]), "sent": int(r["sent"])} for r in rows]
