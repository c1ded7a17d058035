"""A txid in two blocks (BIP30's repeated coinbases, migration 029): a generated pre-BIP34 chain of version-1
blocks in which block 91,842 repeats block 91,812's coinbase byte for byte, as on mainnet, and block 91,845
spends that outpoint. Served by the replay node, indexed one block at a time and as a first pass with
deferred keys, and across a reorg of the repeating block: both blocks keep their coinbase, the spend
resolves, and rolling the repeat back leaves the earlier coinbase as it was."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import asyncpg
import pytest

from chains.bitcoin.address import b58check_encode_pure, hash160
from indexer.conftest import follow_through_reorg, snapshot
from tracer.devnode.bitcoin_replay import serve_replay
from tracer.devnode.bitcoin_store import ReplayStore
from tracer.jobs.follow import index_from_node
from tracer.store.chaindata import delete_from_height
from tracer.store.trace_reads import UtxoTxs

FIRST, ORIGINAL, REPEAT, SPEND, TIP = 91_810, 91_812, 91_842, 91_845, 91_846
SUBSIDY = 50 * 100_000_000  # sat: the subsidy until block 210,000
FEE = 10_000
BITS = 0x1B04_864C  # mainnet's nBits around block 91,800 (no proof of work is checked)


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _push(data: bytes) -> bytes:
    return bytes((len(data),)) + data


@dataclass(frozen=True)
class _Key:
    pubkey: bytes

    @property
    def script(self) -> bytes:
        return b"\x76\xa9\x14" + hash160(self.pubkey) + b"\x88\xac"

    @property
    def address(self) -> str:
        return b58check_encode_pure(b"\x00" + hash160(self.pubkey))


def _key(n: int) -> _Key:
    return _Key(b"\x02" + hashlib.sha256(b"bip30 key %d" % n).digest())


def _tx(inputs: list[tuple[bytes, int, bytes]], outputs: list[tuple[int, bytes]]) -> tuple[bytes, bytes]:
    """(serialization, txid in internal order) of a version-1 legacy transaction."""
    raw = b"\x01\x00\x00\x00" + bytes((len(inputs),))
    for prev, vout, script_sig in inputs:
        raw += prev + struct.pack("<I", vout) + _push(script_sig) + b"\xff\xff\xff\xff"
    raw += bytes((len(outputs),))
    raw += b"".join(struct.pack("<Q", value) + bytes((len(spk),)) + spk for value, spk in outputs)
    raw += b"\x00\x00\x00\x00"
    return raw, _sha256d(raw)


def _coinbase(tag: bytes, key: _Key) -> tuple[bytes, bytes]:
    """A pre-BIP34 coinbase: no height in its scriptSig, so the same tag and payee give the same txid."""
    return _tx([(bytes(32), 0xFFFF_FFFF, _push(tag))], [(SUBSIDY, key.script)])


def _merkle(hashes: list[bytes]) -> bytes:
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def _block(height: int, prev: bytes, txs: list[tuple[bytes, bytes]]) -> bytes:
    header = struct.pack("<I", 1) + prev + _merkle([t for _, t in txs])
    header += struct.pack("<III", 1_288_000_000 + (height - FIRST) * 600, BITS, height)
    return header + bytes((len(txs),)) + b"".join(raw for raw, _ in txs)


@dataclass(frozen=True)
class Chain:
    blocks: list[bytes]
    repeated: bytes  # the repeated coinbase's txid, display order
    spend: bytes  # the spending transaction's txid, display order
    miner: _Key
    payee: _Key


def build_chain() -> Chain:
    """Blocks FIRST..TIP; ORIGINAL's coinbase again in REPEAT; SPEND spends its output 0."""
    miner, payee = _key(0), _key(1)
    repeated = _coinbase(b"/repeated/", miner)
    blocks, prev = [], _sha256d(b"bip30 chain parent")
    spend = b""
    for height in range(FIRST, TIP + 1):
        coinbase = repeated if height in (ORIGINAL, REPEAT) else _coinbase(b"/h%d/" % height, _key(height))
        txs = [coinbase]
        if height == SPEND:
            sig = b"\x30\x44\x02\x20" + bytes(32) + b"\x02\x20" + bytes(range(32)) + b"\x01"
            paid = _tx([(repeated[1], 0, _push(sig) + _push(miner.pubkey))], [(SUBSIDY - FEE, payee.script)])
            txs.append(paid)
            spend = paid[1]
        raw = _block(height, prev, txs)
        blocks.append(raw)
        prev = _sha256d(raw[:80])
    return Chain(blocks, repeated[1][::-1], spend[::-1], miner, payee)


def chain_store(chain: Chain) -> ReplayStore:
    store = ReplayStore()
    for raw in chain.blocks:
        store.add_raw(raw, "bip30 chain")
    store._assign_heights({_sha256d(chain.blocks[0][:80])[::-1].hex(): FIRST})
    return store


@pytest.fixture(scope="module")
def chain() -> Chain:
    return build_chain()


async def assert_rows(pool: asyncpg.Pool, chain: Chain) -> None:
    """Exactly the rows the chain holds: one transaction per block, two in SPEND, the repeated coinbase
    in both of its blocks with its output, and the spend resolved to the address and value it spent."""
    rows = await snapshot(pool)
    coinbases = [r for r in rows["transactions"] if r[7]]
    assert [r[1] for r in coinbases if r[0] == chain.repeated] == [ORIGINAL, REPEAT]
    assert len(rows["transactions"]) == TIP - FIRST + 2
    assert len({r[0] for r in rows["transactions"]}) == TIP - FIRST + 1
    assert [r for r in rows["outputs"] if r[0] == chain.repeated] == [
        (chain.repeated, height, 0, chain.miner.address, SUBSIDY, "pubkeyhash")
        for height in (ORIGINAL, REPEAT)
    ]
    spend_inputs = [r for r in rows["inputs"] if r[0] == chain.spend]
    assert spend_inputs == [
        (
            chain.spend,
            SPEND,
            0,
            chain.repeated,
            0,
            0xFFFF_FFFF,
            chain.miner.address,
            SUBSIDY,
            "pubkeyhash",
            "stored",
        )
    ]
    assert (
        await pool.fetchval("SELECT count(*) FROM tx_inputs WHERE value IS NULL AND prev_txid IS NOT NULL")
        == 0
    )


@pytest.mark.parametrize("bulk", [False, True], ids=["one-block batches", "first pass, keys deferred"])
async def test_a_repeated_coinbase_is_stored_in_both_blocks(
    chain: Chain, pool: asyncpg.Pool, bulk: bool
) -> None:
    async with serve_replay(chain_store(chain)) as node:
        await index_from_node(
            pool, rpc_url=node.rpc_url, start=FIRST, stop=TIP, batch_blocks=50 if bulk else 1, bulk=bulk
        )
    assert await pool.fetchval("SELECT count(*) FROM bulk_load_dropped") == 0  # the keys were rebuilt
    await assert_rows(pool, chain)
    # A read that picks one transaction by txid takes the latest copy, as Core's UTXO set does.
    async with pool.acquire() as conn:
        coins = await UtxoTxs(conn, "bitcoin").coins_of_transaction(chain.repeated)
    assert coins == [((chain.repeated, 0), SUBSIDY)]
    found = await pool.fetch("SELECT block_height FROM transactions WHERE txid = $1", chain.repeated)
    assert sorted(r[0] for r in found) == [ORIGINAL, REPEAT]


async def test_rolling_back_the_repeat_keeps_the_earlier_coinbase(chain: Chain, pool: asyncpg.Pool) -> None:
    async with serve_replay(chain_store(chain)) as node:
        await index_from_node(pool, rpc_url=node.rpc_url, start=FIRST, stop=TIP, batch_blocks=10)
        before = await snapshot(pool)
        async with pool.acquire() as conn, conn.transaction():
            assert await delete_from_height(conn, "bitcoin", REPEAT) == TIP - REPEAT + 1
        rows = await pool.fetch(
            """SELECT t.block_height, o.vout, o.value FROM transactions t JOIN tx_outputs o ON o.tx_id = t.id
               WHERE t.txid = $1""",
            chain.repeated,
        )
        assert [tuple(r) for r in rows] == [(ORIGINAL, 0, SUBSIDY)]
        await index_from_node(pool, rpc_url=node.rpc_url, start=REPEAT, stop=TIP, batch_blocks=1)
    assert await snapshot(pool) == before


async def test_a_reorg_across_the_repeat_ends_with_the_rows_of_one_run(
    chain: Chain, pool: asyncpg.Pool
) -> None:
    """The node serves a stale branch of its top blocks (the repeat among them), then the real chain: the
    follower replaces the stale blocks and ends with exactly the rows of the chain."""
    report = await follow_through_reorg(
        pool, chain_store(chain), depth=TIP - REPEAT + 1, start=FIRST, batch_blocks=2, seconds=60
    )
    assert report.heights.count(REPEAT) == 2  # stored from the stale branch, then from the real one
    await assert_rows(pool, chain)
