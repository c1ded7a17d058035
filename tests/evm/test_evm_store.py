"""tracer.store.transfers on real PostgreSQL with blocks read from anvil: rows exactly, idempotence, reorg
replacement, freeze labels."""

from __future__ import annotations

import asyncpg

from chains.evm.address import from_hex
from chains.evm.node import EvmNode
from chains.model import Chain
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport
from evm.evm_scenario import TOKEN_UNIT, expected_transfers, run_scenario
from tracer.devnode.evm_anvil import Anvil
from tracer.store.transfers import write_account_blocks

TRANSFER_ROWS = """
SELECT t.kind, k.address AS asset, f.address AS sender, r.address AS receiver, t.amount
FROM transfers t JOIN addresses f ON f.id = t.from_id JOIN addresses r ON r.id = t.to_id
LEFT JOIN tokens k ON k.id = t.asset_id
"""


async def test_rows_exactly_idempotent_and_freeze_labels(
    anvil: Anvil, anvil_url: str, pool: asyncpg.Pool
) -> None:
    s = await run_scenario(anvil)
    async with HttpTransport(anvil_url) as transport:
        node = EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)
        blocks = await node.blocks(list(range(await node.tip_height() + 1)))
    issuers = {from_hex(s.token): "tracer-test-issuer"}
    async with pool.acquire() as conn:
        stats = await write_account_blocks(
            conn, blocks, source="rpc", cursor=("rpc", len(blocks)), issuers=issuers
        )
        again = await write_account_blocks(conn, blocks, source="rpc", issuers=issuers)
    assert (stats.blocks, stats.transfers, stats.events) == (len(blocks), 10, 2)
    assert (again.blocks, again.unchanged) == (0, len(blocks))
    rows = {
        (r["kind"], r["asset"], r["sender"], r["receiver"], int(r["amount"]))
        for r in await pool.fetch(TRANSFER_ROWS)
    }
    assert rows == expected_transfers(s)
    failed = await pool.fetchrow(
        "SELECT success, value FROM account_txs WHERE hash = $1", bytes.fromhex(s.failed_tx[2:])
    )
    assert (failed["success"], failed["value"]) == (False, 0)
    assert await pool.fetchval("SELECT next_height FROM index_cursors WHERE chain = 'ethereum'") == len(
        blocks
    )
    label = await pool.fetchrow(
        "SELECT l.label, l.category, l.attributes, s.name FROM labels l"
        " JOIN label_sources s ON s.id = l.source_id JOIN addresses a ON a.id = l.address_id"
        " WHERE a.address = $1",
        from_hex(s.bob),
    )
    assert (label["label"], label["category"]) == ("token frozen by tracer-test-issuer", "blacklisted")
    assert label["name"] == "tracer-test-issuer freeze events (ethereum)"
    approval = await pool.fetchrow("SELECT kind, amount FROM token_events WHERE kind = 'approval'")
    assert int(approval["amount"]) == 200 * TOKEN_UNIT


async def test_a_different_block_at_a_stored_height_replaces_it(
    anvil: Anvil, anvil_url: str, pool: asyncpg.Pool
) -> None:
    await run_scenario(anvil)
    snapshot = await anvil.call("evm_snapshot")
    await anvil.send(anvil.accounts[5], anvil.accounts[6], value=7)
    async with HttpTransport(anvil_url) as transport:
        node = EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)
        tip = await node.tip_height()
        async with pool.acquire() as conn:
            await write_account_blocks(conn, await node.blocks(list(range(tip + 1))), source="rpc")
            await anvil.call("evm_revert", snapshot)
            await anvil.send(anvil.accounts[5], anvil.accounts[7], value=8)
            replaced = await write_account_blocks(conn, await node.blocks([tip]), source="rpc")
    assert (replaced.blocks, replaced.transfers) == (1, 1)
    amounts = [
        int(r["amount"])
        for r in await pool.fetch("SELECT amount FROM transfers WHERE block_height = $1", tip)
    ]
    assert amounts == [8]
