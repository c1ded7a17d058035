"""Taint tracing over account-model chains (EVM, TRON): the ``transfers`` of one asset seen as coins.

An account holds one balance per asset, not coins. To trace it by the same methods as a UTXO chain
(tracer.tracing), each account's history of one asset becomes a chain of transactions:
- every incoming transfer is a coin held by its recipient (vout 0);
- every outgoing transfer of account X is a transaction that spends X's balance: its inputs are the
  coin of X's balance after its previous outgoing transfer (vout 1 of that transfer, "change") and the
  transfers X received since, oldest first; its outputs are the transfer to the recipient (vout 0) and
  X's balance after it (vout 1).
So haircut spreads an account's taint over what it sends in proportion, and FIFO sends the oldest value
received first. A coin's txid is the transfer's: its transaction hash, then the transfer kind and index
(``transfer_id``), since one transaction may carry several transfers of one asset.

Unknown stays unknown: value that no indexed transfer brought in (a genesis balance, mining, transfers
before the indexed range) makes an account's balance unknown from its first outgoing transfer that
spends more than it received; that input is listed with no value, and methods that need values say so.
Fees are not transfers: the balance here is what the account received minus what it sent. An account
with more than MAX_LEDGER_TRANSFERS transfers of the asset is read up to that many (oldest first), and
the trace says so (``truncated_by``: ``max_ledger_transfers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from tracer.store.trace_reads import Coin, TxFlow, TxIn, TxOut

_KINDS = {"native": 0, "token": 1, "internal": 2}  # chains.model.TransferKind, one byte in a transfer id
_KIND_NAMES = {code: kind for kind, code in _KINDS.items()}
TO_RECIPIENT, BALANCE_AFTER = 0, 1  # the vouts of a transfer's two coins
MAX_LEDGER_TRANSFERS = 100_000  # an account's transfers of one asset read at most (an exchange has more)

_COLUMNS = """t.tx_hash, t.kind, t.index, t.block_height, b.time, t.from_id, t.to_id, t.amount,
       fa.address AS from_address, ta.address AS to_address"""
_JOINS = """JOIN blocks b ON b.chain = t.chain AND b.height = t.block_height
JOIN addresses fa ON fa.id = t.from_id JOIN addresses ta ON ta.id = t.to_id
LEFT JOIN account_txs x ON x.chain = t.chain AND x.block_height = t.block_height AND x.hash = t.tx_hash"""
_ORDER = "ORDER BY t.block_height, x.position NULLS FIRST, t.tx_hash, t.kind, t.index"
_LEDGER = f"""SELECT {_COLUMNS} FROM transfers t {_JOINS}
WHERE t.chain = $1 AND t.asset_id IS NOT DISTINCT FROM $2 AND (t.from_id = $3 OR t.to_id = $3)
{_ORDER} LIMIT $4"""
_ONE = f"""SELECT {_COLUMNS} FROM transfers t {_JOINS}
WHERE t.chain = $1 AND t.tx_hash = $2 AND t.kind = $3 AND t.index = $4"""
_OF_TX = f"""SELECT {_COLUMNS} FROM transfers t {_JOINS}
WHERE t.chain = $1 AND t.asset_id IS NOT DISTINCT FROM $2 AND t.tx_hash = $3 {_ORDER}"""
_RECEIVED = f"""SELECT {_COLUMNS} FROM transfers t {_JOINS}
WHERE t.chain = $1 AND t.asset_id IS NOT DISTINCT FROM $2 AND t.to_id = ANY($3::bigint[]) {_ORDER} LIMIT $4"""


def transfer_id(tx_hash: bytes, kind: str, index: int) -> bytes:
    return tx_hash + bytes((_KINDS[kind],)) + index.to_bytes(4, "big", signed=True)


def split_transfer_id(tid: bytes) -> tuple[bytes, str, int] | None:
    if len(tid) != 37 or tid[32] not in _KIND_NAMES:
        return None
    return tid[:32], _KIND_NAMES[tid[32]], int.from_bytes(tid[33:], "big", signed=True)


@dataclass(frozen=True, slots=True)
class _Transfer:
    tid: bytes
    height: int
    time: datetime
    from_id: int
    to_id: int
    amount: int
    from_address: str
    to_address: str


@dataclass(slots=True)
class _Ledger:
    """One account's transfers of the asset, in chain order, with what each outgoing one spends."""

    account: int
    events: list[tuple[str, _Transfer]]  # ("in" | "out", transfer); a self-transfer is an out, then an in
    position: dict[tuple[bytes, str], int]  # (tid, "in" | "out") -> index in events
    balance_after: dict[bytes, int | None]  # outgoing tid -> the balance left (None: unknown)


def _ledger(account: int, transfers: list[_Transfer]) -> _Ledger:
    events: list[tuple[str, _Transfer]] = []
    for t in transfers:
        if t.from_id == account:
            events.append(("out", t))
        if t.to_id == account:
            events.append(("in", t))
    position = {(t.tid, way): n for n, (way, t) in enumerate(events)}
    balance_after: dict[bytes, int | None] = {}
    balance: int | None = 0
    for way, t in events:
        if way == "in":
            balance = None if balance is None else balance + t.amount
        else:
            balance = balance - t.amount if balance is not None and balance >= t.amount else None
            balance_after[t.tid] = balance
    return _Ledger(account, events, position, balance_after)


@dataclass(slots=True)
class AccountTxs:
    """tracer.store.trace_reads.TxSource over ``transfers`` of one asset (``asset_id`` None: the native
    coin). Reads each account's ledger once per trace."""

    conn: asyncpg.Connection
    chain: str
    asset_id: int | None
    max_ledger: int = MAX_LEDGER_TRANSFERS
    truncated_by: set[str] = field(default_factory=set)
    _ledgers: dict[int, _Ledger] = field(default_factory=dict)
    _transfers: dict[bytes, _Transfer | None] = field(default_factory=dict)

    async def spending(self, coins: Sequence[Coin]) -> list[TxFlow]:
        """The outgoing transfer of each coin's holder that next spends its balance."""
        found: dict[bytes, TxFlow] = {}
        for tid, vout in coins:
            t = await self._transfer(tid)
            if t is None:
                continue
            holder = t.to_id if vout == TO_RECIPIENT else t.from_id
            ledger = await self._ledger_of(holder)
            at = ledger.position.get((tid, "in" if vout == TO_RECIPIENT else "out"))
            spender = (
                next((e for w, e in ledger.events[at + 1 :] if w == "out"), None) if at is not None else None
            )
            if spender is not None and spender.tid not in found:
                found[spender.tid] = self._flow(ledger, spender)
        return sorted(found.values(), key=lambda f: (f.height, f.txid))

    async def creating(self, coins: Sequence[Coin]) -> list[TxFlow]:
        """The outgoing transfer each coin came out of (both its coins come out of it)."""
        found: dict[bytes, TxFlow] = {}
        for tid, _ in coins:
            t = await self._transfer(tid)
            if t is not None and tid not in found:
                found[tid] = self._flow(await self._ledger_of(t.from_id), t)
        return sorted(found.values(), key=lambda f: (f.height, f.txid))

    async def coins_of(self, address_ids: Sequence[int], limit: int) -> list[tuple[Coin, int]]:
        rows = await self.conn.fetch(_RECEIVED, self.chain, self.asset_id, list(address_ids), limit)
        return [((t.tid, TO_RECIPIENT), t.amount) for t in map(self._remember, rows)]

    async def coins_of_transaction(self, txid: bytes) -> list[tuple[Coin, int]] | None:
        rows = await self.conn.fetch(_OF_TX, self.chain, self.asset_id, txid)
        if not rows:
            found = await self.conn.fetchval(
                "SELECT 1 FROM transfers WHERE chain = $1 AND tx_hash = $2 LIMIT 1", self.chain, txid
            )
            return [] if found else None
        return [((t.tid, TO_RECIPIENT), t.amount) for t in map(self._remember, rows)]

    def _flow(self, ledger: _Ledger, out: _Transfer) -> TxFlow:
        """The transaction an outgoing transfer stands for (see the module docstring)."""
        at = ledger.position[(out.tid, "out")]
        inputs: list[TxIn] = []
        n = at - 1
        while n >= 0 and ledger.events[n][0] == "in":
            n -= 1
        if n >= 0:
            previous = ledger.events[n][1]
            inputs.append(
                TxIn((previous.tid, BALANCE_AFTER), out.from_address, ledger.balance_after[previous.tid])
            )
        for _, received in ledger.events[n + 1 : at]:
            inputs.append(TxIn((received.tid, TO_RECIPIENT), out.from_address, received.amount))
        change = ledger.balance_after[out.tid]
        if change is None and not any(i.value is None for i in inputs):
            inputs.append(TxIn(None, out.from_address, None))  # value no indexed transfer brought in
        outputs = (TxOut(out.to_address, out.amount), TxOut(out.from_address, change))
        return TxFlow(out.tid, out.height, out.time, tuple(inputs), outputs)

    async def _transfer(self, tid: bytes) -> _Transfer | None:
        if tid not in self._transfers:
            parts = split_transfer_id(tid)
            row = await self.conn.fetchrow(_ONE, self.chain, *parts) if parts else None
            self._transfers[tid] = self._remember(row) if row else None
        return self._transfers[tid]

    async def _ledger_of(self, account: int) -> _Ledger:
        if account not in self._ledgers:
            rows = await self.conn.fetch(_LEDGER, self.chain, self.asset_id, account, self.max_ledger)
            if len(rows) >= self.max_ledger:
                self.truncated_by.add("max_ledger_transfers")  # later transfers of this account unread
            self._ledgers[account] = _ledger(account, [self._remember(r) for r in rows])
        return self._ledgers[account]

    def _remember(self, row: asyncpg.Record) -> _Transfer:
        t = _Transfer(
            transfer_id(bytes(row["tx_hash"]), row["kind"], row["index"]),
            row["block_height"],
            row["time"],
            row["from_id"],
            row["to_id"],
            int(row["amount"]),
            row["from_address"],
            row["to_address"],
        )
        self._transfers[t.tid] = t
        return t
