"""The generated benchmark chain (bench/chaingen.py) is a chain our real parser accepts and can resolve."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from bench.chaingen import SUBSIDY_SAT, generate_blocks, write_blk_files
from chains.bitcoin.parse import double_sha256, iter_blk_frames, parse_block_bytes
from chains.model import Block, InputSource, ScriptType

N_TXS, PER_BLOCK = 6_000, 500


@cache
def raw_chain() -> tuple[bytes, ...]:
    return tuple(generate_blocks(N_TXS, seed=7, txs_per_block=PER_BLOCK))


@cache
def chain() -> tuple[Block, ...]:
    return tuple(parse_block_bytes(raw) for raw in raw_chain())  # heights from BIP34, merkle roots checked


def test_blocks_hold_the_asked_transactions_and_heights_count_up() -> None:
    blocks = chain()
    assert sum(len(b.txs) for b in blocks) == N_TXS
    sizes = [len(b.txs) for b in blocks]  # the first block holds only the funding coinbase
    assert sizes == [1] + [PER_BLOCK] * (N_TXS // PER_BLOCK - 1) + [PER_BLOCK - 1]
    assert [b.height for b in blocks] == list(range(800_000, 800_000 + len(blocks)))


def test_blocks_link_by_parent_hash() -> None:
    raws, blocks = raw_chain(), chain()
    for raw, block, parent in zip(raws[1:], blocks[1:], blocks, strict=False):
        assert block.prev_hash == parent.hash
        assert double_sha256(raw[:80])[::-1].hex() == block.hash


def test_every_input_spends_an_earlier_unspent_output_and_value_is_conserved() -> None:
    unspent: dict[tuple[str, int], tuple[int, str | None]] = {}
    for block in chain():
        fees = 0
        for tx in block.txs[1:]:
            spent = [unspent.pop((i.prevout.txid, i.prevout.vout)) for i in tx.inputs if i.prevout]
            assert len(spent) == len(tx.inputs)  # no coinbase input outside position 0, no double spend
            for txin, (_value, address) in zip(tx.inputs, spent, strict=True):
                if txin.source is InputSource.SCRIPT:  # the spend reveals the key: same address
                    assert txin.address == address
            fee = sum(v for v, _ in spent) - sum(o.value for o in tx.outputs)
            assert fee >= 0
            fees += fee
            unspent.update({(tx.txid, o.index): (o.value, o.address) for o in tx.outputs})
        coinbase = block.txs[0]
        if block.height > 800_000:  # the first block's coinbase is the funding one
            assert sum(o.value for o in coinbase.outputs) == SUBSIDY_SAT + fees
        unspent.update({(coinbase.txid, o.index): (o.value, o.address) for o in coinbase.outputs})


def test_shape_mixes_output_types_and_reuses_addresses_heavily() -> None:
    txs = [tx for b in chain() for tx in b.txs[1:]]
    types = Counter(o.script_type for tx in txs for o in tx.outputs)
    assert {ScriptType.P2PKH, ScriptType.P2SH, ScriptType.P2WPKH, ScriptType.P2TR} <= set(types)
    assert all(o.address for tx in txs for o in tx.outputs)  # every payment output has an address
    assert max(len(tx.inputs) for tx in txs) >= 10  # consolidations
    assert max(len(tx.outputs) for tx in txs) >= 20  # batch payouts
    assert sum(len(tx.inputs) == 1 and len(tx.outputs) == 2 for tx in txs) > len(txs) / 3  # payments
    receipts = Counter(o.address for tx in txs for o in tx.outputs)
    assert receipts.most_common(1)[0][1] >= 20  # heavy-tailed reuse
    assert len(receipts) < sum(receipts.values())


def test_same_seed_same_bytes_other_seed_other_chain() -> None:
    assert tuple(generate_blocks(1_001, seed=7, txs_per_block=PER_BLOCK)) == raw_chain()[:3]
    assert next(generate_blocks(10, seed=8)) != raw_chain()[0]


def test_blk_files_frame_the_blocks_and_split_at_the_size_limit(tmp_path: Path) -> None:
    paths = write_blk_files(tmp_path, raw_chain(), max_file_bytes=1_000_000)
    assert [p.name for p in paths[:2]] == ["blk00000.dat", "blk00001.dat"]
    assert all(p.stat().st_size <= 1_000_000 for p in paths)
    framed = [frame for p in paths for frame in iter_blk_frames(p.read_bytes())]
    assert tuple(framed) == raw_chain()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="n_txs"):
        next(generate_blocks(0))
    with pytest.raises(ValueError, match="start_height"):
        next(generate_blocks(10, start_height=1000))
