"""Common input over columns: the default Bitcoin clustering (common-input ownership alone) without
rebuilding a transaction object per row.

A span of transactions is read as arrays (tracer.store.cluster_columns): (tx id, input address id) and
(tx id, output value). A transaction with two or more distinct known input addresses is a candidate. Its
decision needs the transaction itself only when two outputs above dust share a value -- every CoinJoin
detector and the CoinJoin resemblance need such a pair (heuristics.common_input.repeats_a_value) -- so
those few are rebuilt and decided by heuristics.common_input.common_input; the rest merge here, their
evidence worded by heuristics.common_input.describe from the same counts the heuristic reads. A test holds
this path to the row path: the same clusters, evidence and vetoes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import numpy as np
import numpy.typing as npt

from heuristics.coinjoin import DUST_THRESHOLD_SAT
from heuristics.common_input import MIN_DISTINCT_ADDRESSES_COUNT, describe
from heuristics.evidence import Heuristic

Ids = npt.NDArray[np.int64]
_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Candidates:
    """The candidates of a span, in tx id order, split into those merged here and those to rebuild."""

    tx_ids: Ids  # merged here
    starts: Ids  # tx_ids[i]'s distinct input addresses are addresses[starts[i] : starts[i] + counts[i]]
    counts: Ids
    addresses: Ids  # sorted within each transaction
    input_counts: Ids
    resolved_counts: Ids
    output_counts: Ids
    rebuild: Ids  # two outputs above dust share a value: decided on the rebuilt transaction

    @property
    def total(self) -> int:
        return int(self.tx_ids.size + self.rebuild.size)


def candidates(inputs: tuple[Ids, Ids], outputs: tuple[Ids, Ids]) -> Candidates:
    """Split the transactions of ``inputs`` = (tx ids, address ids or -1) and ``outputs`` = (tx ids,
    values) into plain candidates and candidates to rebuild."""
    in_tx, in_address = inputs
    order = np.lexsort((in_address, in_tx))
    tx, address = in_tx[order], in_address[order]
    txs, first, input_counts = np.unique(tx, return_index=True, return_counts=True)
    known = address >= 0
    resolved = np.add.reduceat(known.astype(np.int64), first) if tx.size else _EMPTY
    known_tx, known_address = tx[known], address[known]
    distinct = np.ones(known_tx.size, dtype=bool)
    distinct[1:] = (known_tx[1:] != known_tx[:-1]) | (known_address[1:] != known_address[:-1])
    d_tx, d_address = known_tx[distinct], known_address[distinct]
    c_tx, c_start, c_count = np.unique(d_tx, return_index=True, return_counts=True)
    multi = c_count >= MIN_DISTINCT_ADDRESSES_COUNT
    rebuild = np.isin(c_tx, _repeating(*outputs)) & multi
    plain = multi & ~rebuild
    at = np.searchsorted(txs, c_tx[plain])
    return Candidates(
        tx_ids=c_tx[plain].astype(np.int64),
        starts=c_start[plain].astype(np.int64),
        counts=c_count[plain].astype(np.int64),
        addresses=d_address.astype(np.int64),
        input_counts=input_counts[at].astype(np.int64),
        resolved_counts=resolved[at].astype(np.int64),
        output_counts=_counts_of(outputs[0], c_tx[plain]),
        rebuild=c_tx[rebuild].astype(np.int64),
    )


def edges(found: Candidates) -> tuple[Ids, Ids]:
    """Union edges of the plain candidates: each transaction's first address with each of the others."""
    first = np.repeat(found.starts, found.counts)
    offset = np.arange(first.size) - np.repeat(np.cumsum(found.counts) - found.counts, found.counts)
    rest = offset > 0
    return found.addresses[first[rest]], found.addresses[(first + offset)[rest]]


def evidence_rows(
    chain: str, found: Candidates, headers: Sequence[asyncpg.Record]
) -> list[tuple[object, ...]]:
    """merge_evidence rows (tracer.store.clusters.EVIDENCE_COLUMNS) of the plain candidates; ``headers``
    are their (id, txid, block height, position), in the same order."""
    addresses = found.addresses.tolist()
    out: list[tuple[object, ...]] = []
    columns = zip(
        headers, found.starts.tolist(), found.counts.tolist(), found.input_counts.tolist(),
        found.resolved_counts.tolist(), found.output_counts.tolist(), strict=True,
    )  # fmt: skip
    for header, start, count, n_in, resolved, n_out in columns:
        ids = addresses[start : start + count]
        confidence, conditions, parameters = _described(n_in, resolved, count, n_out)
        out.append(
            (chain, Heuristic.COMMON_INPUT.value, header[2], header[3], header[1], header[0], ids, ids[0],
             confidence, list(conditions), dict(parameters))
        )  # fmt: skip
    return out


@functools.lru_cache(maxsize=4096)
def _described(
    n_in: int, resolved: int, distinct: int, n_out: int
) -> tuple[str, tuple[str, ...], tuple[tuple[str, int | str], ...]]:
    d = describe(n_in, resolved, distinct, n_out)
    return d.confidence.value, d.conditions, tuple(d.parameters.items())


def _repeating(out_tx: Ids, values: Ids) -> Ids:
    """Transactions with two outputs above dust of one value (sorted, distinct)."""
    above = values > DUST_THRESHOLD_SAT
    tx, value = out_tx[above], values[above]
    order = np.lexsort((value, tx))
    tx, value = tx[order], value[order]
    same = (tx[1:] == tx[:-1]) & (value[1:] == value[:-1])
    return np.unique(tx[1:][same])


def _counts_of(tx_ids: Ids, wanted: Ids) -> Ids:
    """How many times each of ``wanted`` occurs in ``tx_ids`` (every transaction has outputs)."""
    txs, counts = np.unique(tx_ids, return_counts=True)
    at = np.searchsorted(txs, wanted)
    if wanted.size and (at.max() >= txs.size or not np.array_equal(txs[at], wanted)):
        raise ValueError("a candidate transaction has no stored outputs")
    return counts[at].astype(np.int64)
