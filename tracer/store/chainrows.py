"""The Bitcoin chain writer's per-batch work that needs no database, as plain loops over a range of rows:
the batch's addresses looked up in the address-id cache, its outputs' slots and address ids, its inputs
resolved from the batch's own outputs and the unspent-output cache, and that cache's commit.

Compiled with mypyc (setup.py; ``tracer.store.compiled`` keeps this source the reference). Its callers
(``tracer.store.chaindata``, ``utxo``, ``addresses``) step through a batch a range at a time, so that the
event loop turns between two ranges (a COPY in flight, ``tracer.store.spare``); no database, no asyncio here.

Fields a row only passes on are read as ``object``: mypyc would otherwise unbox each integer and box it again
(a new int object each time for values over 256), where Python shares the parse worker's objects.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from chains.bitcoin.parse import InRow, OutRow, TxRow

Spent: TypeAlias = tuple[int | None, int, str]  # the spent output's address id, value (sat), script type
Outputs: TypeAlias = list[Spent | None]  # one transaction's outputs by vout, None once spent
SpentRef: TypeAlias = tuple[Outputs, int]  # an output spent: its transaction's list and its vout
# A tx_inputs row (tracer.store.chaindata's _INPUT_COLUMNS); a list: the lookup of misses fills it in later.
InputRow: TypeAlias = list[object]

STORED: Final = "stored"  # chains.model.InputSource.STORED: resolved from our own stored output


def look_up(
    known: dict[str, int], addresses: list[str], found: dict[str, int | None], missing: list[str]
) -> None:
    """Each of ``addresses`` not in ``found`` yet into it with its cached id (``known``) or None; the
    Nones, in order of first sight, onto ``missing``."""
    for address in addresses:
        if address not in found:
            address_id = known.get(address)
            found[address] = address_id
            if address_id is None:
                missing.append(address)


def store_ids(addresses: list[str], first: int, known: dict[str, int], found: dict[str, int | None]) -> None:
    """New ids ``first``, ``first + 1``, ... of ``addresses`` into the cache (``known``) and the batch's."""
    for k in range(len(addresses)):
        address = addresses[k]
        known[address] = first + k
        found[address] = first + k


def look_up_outputs(
    known: dict[str, int],
    outputs: list[OutRow],
    found: dict[str, int | None],
    missing: list[str],
    *,
    start: int,
    end: int,
) -> None:
    """``look_up`` for the addresses of ``outputs[start:end]``."""
    for k in range(start, min(end, len(outputs))):
        address = outputs[k][2]
        if address is not None and address not in found:
            address_id = known.get(address)
            found[address] = address_id
            if address_id is None:
                missing.append(address)


def look_up_inputs(
    known: dict[str, int],
    inputs: list[InRow],
    found: dict[str, int | None],
    missing: list[str],
    *,
    start: int,
    end: int,
) -> None:
    """``look_up`` for the addresses of ``inputs[start:end]`` (those their scripts gave)."""
    for k in range(start, min(end, len(inputs))):
        address = inputs[k][5]
        if address is not None and address not in found:
            address_id = known.get(address)
            found[address] = address_id
            if address_id is None:
                missing.append(address)


def output_slots(
    txs: list[TxRow], new_outputs: dict[bytes, Outputs], slots: list[Outputs], *, start: int, end: int
) -> None:
    """An empty outputs list for each of ``txs[start:end]``, by txid into ``new_outputs`` and in order onto
    ``slots`` (a txid twice in a batch keeps its last list there, as the cache keeps the latest copy)."""
    for k in range(start, min(end, len(txs))):
        tx = txs[k]
        slot: Outputs = [None] * tx[8]  # output_count
        new_outputs[tx[0]] = slot
        slots.append(slot)


def output_rows(
    outputs: list[OutRow],
    ids: dict[str, int | None],
    slots: list[Outputs],
    address_ids: list[int | None],
    *,
    start: int,
    end: int,
) -> None:
    """Each of ``outputs[start:end]``'s address id onto ``address_ids`` and the output into its slot (the
    rest of its row the COPY takes from the block, column-wise). ``ids``: every address of the batch's."""
    for k in range(start, min(end, len(outputs))):
        row = outputs[k]
        address = row[2]
        address_id = ids[address] if address is not None else None
        address_ids.append(address_id)
        slots[row[0]][row[1]] = (address_id, row[3], row[4])


def input_rows(out: InputRows, inputs: list[InRow], tx_ids: list[object], *, start: int, end: int) -> None:
    """The rows of ``inputs[start:end]`` onto ``out``: a spent output found among the batch's own or in the
    unspent-output cache gives an input without its own value its address, value and script type (source
    "stored"); those still without are noted as misses. ``tx_ids``: the block's transactions' ids, by
    position."""
    rows, misses, spent, spent_new = out.rows, out.misses, out.spent, out.spent_new
    ids, batch_outputs, cached = out.ids, out.batch_outputs, out.cached
    for k in range(start, min(end, len(inputs))):
        row = inputs[k]
        prev_txid, prev_vout, value = row[2], row[3], row[6]
        if prev_txid is not None and prev_vout is not None:
            outputs = batch_outputs.get(prev_txid)
            refs = spent_new
            if outputs is None:
                outputs = cached.get(prev_txid)
                refs = spent
            hit = outputs[prev_vout] if outputs is not None and prev_vout < len(outputs) else None
            if outputs is not None and hit is not None:
                refs.append((outputs, prev_vout))
                if value is None:
                    rows.append([tx_ids[row[0]], row[1], prev_txid, prev_vout, row[4], *hit, STORED])
                    continue
            elif value is None:
                misses.append(len(rows))
        address = row[5]
        address_id = ids[address] if address is not None else None
        rows.append([tx_ids[row[0]], row[1], prev_txid, prev_vout, row[4], address_id, value, row[7], row[8]])


class InputRows:
    """A batch's input rows as they are built (``input_rows``), with what the commit and lookup of misses
    need, and what the rows are resolved from: ``ids``, every address of the batch's with its id; the
    batch's own outputs (``batch_outputs``, by txid) and the unspent-output cache's (``cached``)."""

    def __init__(
        self, ids: dict[str, int | None], batch_outputs: dict[bytes, Outputs], cached: dict[bytes, Outputs]
    ) -> None:
        self.ids = ids
        self.batch_outputs = batch_outputs
        self.cached = cached
        self.rows: list[InputRow] = []
        self.misses: list[int] = []  # row numbers whose spent output is still unknown, ascending
        self.spent: list[SpentRef] = []  # found in the cache
        self.spent_new: list[SpentRef] = []  # found among the batch's own outputs


def mark_spent(spent: list[SpentRef], start: int, end: int) -> int:
    """Mark ``spent[start:end]`` spent (None); how many were not marked yet."""
    marked = 0
    for k in range(start, min(end, len(spent))):
        outputs, vout = spent[k]
        if outputs[vout] is not None:
            outputs[vout] = None
            marked += 1
    return marked


def add_outputs(txs: dict[bytes, Outputs], new: list[tuple[bytes, Outputs]], start: int, end: int) -> int:
    """``new[start:end]``'s outputs into ``txs``; how many unspent outputs that adds (a repeated txid, BIP30
    and migration 029, overwrites the earlier copy, as in Bitcoin Core's UTXO set: its unspent ones go)."""
    added = 0
    for k in range(start, min(end, len(new))):
        txid, outputs = new[k]
        replaced = txs.setdefault(txid, outputs)  # one probe of the cache's dict where txid is new
        if replaced is not outputs:
            added -= unspent(replaced)
            txs[txid] = outputs
        added += unspent(outputs)
    return added


def unspent(outputs: Outputs) -> int:
    """How many of a transaction's outputs the cache still holds (a spent one is None)."""
    return len(outputs) - outputs.count(None)
