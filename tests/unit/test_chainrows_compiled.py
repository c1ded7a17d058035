"""The Bitcoin writer's row building compiled (mypyc: tracer.store.compiled) and its pure-Python reference
give identical rows: batches of the generated mainnet-shaped chain (tracer.devnode.chaingen: address reuse,
inputs spending outputs of their own batch and of earlier ones) stepped as the writer steps them, through
an unspent-output cache kept small so that some inputs miss it; and a repeated txid (BIP30) replaces the
earlier copy in both."""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from tracer.devnode.chaingen import DEFAULT_START_HEIGHT, generate_blocks
from tracer.indexer.bitcoin import parse_block
from tracer.store import chainrows
from tracer.store.chaindata import BlockRows
from tracer.store.compiled import is_compiled, load_pure

CHAIN_TXS, TXS_PER_BLOCK, SEED = 6_000, 300, 7  # 21 blocks
BATCH_BLOCKS = 3
STEP_ROWS = 500  # rows a call, as the writer's steps (chaindata._STEP_ROWS)


@cache
def pure() -> ModuleType:
    return load_pure()["chainrows"]


@cache
def batches() -> list[list[BlockRows]]:
    raws = generate_blocks(CHAIN_TXS, seed=SEED, txs_per_block=TXS_PER_BLOCK)
    blocks = [parse_block(raw, DEFAULT_START_HEIGHT + n) for n, raw in enumerate(raws)]
    return [blocks[i : i + BATCH_BLOCKS] for i in range(0, len(blocks), BATCH_BLOCKS)]


def starts(rows: list[Any]) -> range:
    return range(0, len(rows), STEP_ROWS)


def run(m: ModuleType) -> list[tuple[Any, ...]]:
    """Every batch through ``m``'s steps, as the writer takes them; what each batch produced."""
    known: dict[str, int] = {}
    cached: dict[bytes, Any] = {}
    produced: list[tuple[Any, ...]] = []
    next_tx = 1
    for batch in batches():
        found: dict[str, int | None] = {}
        missing: list[str] = []
        for b in batch:
            for s in starts(b.outputs):
                m.look_up_outputs(known, b.outputs, found, missing, start=s, end=s + STEP_ROWS)
            for s in starts(b.inputs):
                m.look_up_inputs(known, b.inputs, found, missing, start=s, end=s + STEP_ROWS)
        m.store_ids(sorted(missing, key=len), len(known) + 1, known, found)  # as fill stores new ids
        new_outputs: dict[bytes, Any] = {}
        slots: list[list[Any]] = []
        address_ids: list[int | None] = []
        for b in batch:
            slots.append([])
            for s in starts(b.txs):
                m.output_slots(b.txs, new_outputs, slots[-1], start=s, end=s + STEP_ROWS)
            for s in starts(b.outputs):
                m.output_rows(b.outputs, found, slots[-1], address_ids, start=s, end=s + STEP_ROWS)
        out = m.InputRows(found, new_outputs, cached)
        for b in batch:
            tx_ids: list[object] = list(range(next_tx, next_tx + len(b.txs)))
            next_tx += len(b.txs)
            for s in starts(b.inputs):
                m.input_rows(out, b.inputs, tx_ids, start=s, end=s + STEP_ROWS)
        spent = [(list(outputs), vout) for outputs, vout in out.spent]  # as found, before the commit
        marked = m.mark_spent(out.spent, 0, len(out.spent))
        m.mark_spent(out.spent_new, 0, len(out.spent_new))
        added = m.add_outputs(cached, list(new_outputs.items()), 0, len(new_outputs))
        found_new = len(out.spent_new)
        produced.append((missing, address_ids, out.rows, out.misses, spent, found_new, marked, added))
        for txid in list(cached)[: len(cached) // 2]:  # a small cache: later inputs miss some outputs
            del cached[txid]
    return produced


def test_compiled_and_pure_build_the_same_rows_on_the_generated_chain() -> None:
    compiled, reference = run(chainrows), run(pure())
    assert compiled == reference
    rows = [row for batch in reference for row in batch[2]]
    assert len(rows) > CHAIN_TXS  # every input of the chain
    assert sum(len(batch[3]) for batch in reference) > 100  # missed the cache: looked up in the database
    assert sum(len(batch[4]) for batch in reference) > 100  # found in the cache
    assert sum(batch[5] for batch in reference) > 100  # spent within their own batch
    assert sum(1 for row in rows if row[8] == chainrows.STORED) > 1_000


@pytest.mark.parametrize("module", ["compiled", "pure"])
def test_a_repeated_txid_replaces_the_earlier_copy(module: str) -> None:
    """BIP30's repeated coinbases (migration 029): the later copy's outputs replace the earlier's in the
    cache, and the count of unspent outputs takes the earlier's off."""
    m = chainrows if module == "compiled" else pure()
    txid = bytes(32)
    earlier, later = [(1, 50, "p2pkh"), None], [(1, 50, "p2pkh"), (2, 7, "p2wpkh")]
    cached = {txid: earlier}
    assert m.add_outputs(cached, [(txid, later)], 0, 1) == 2 - 1
    assert cached[txid] is later


@pytest.mark.skipif(bool(os.environ.get("TRACER_PURE_PYTHON")), reason="installed without compiling")
def test_the_installed_row_building_is_compiled() -> None:
    assert is_compiled(chainrows)  # else: scripts/bootstrap
    assert not is_compiled(pure())
