"""EVM JSON-RPC answers -> frozen records (``chains.model``). Pure: no I/O.

A block is read from ``eth_getBlockByNumber`` (full transactions, or hashes only as some recordings have
them), its receipts (``eth_getBlockReceipts`` or one ``eth_getTransactionReceipt`` each), and optionally
its call traces. Value moves become ``Transfer`` records:

- NATIVE: a successful transaction's own value (to the created contract for a creation); a failed
  transaction is kept as an ``AccountTx`` with ``success=False`` and moves nothing;
- TOKEN: an ERC-20 ``Transfer`` log with exactly three topics and one data word (ERC-721 puts the token id
  in a fourth topic: not a fungible amount) — the layout ethereum-etl's ``EthTokenTransferExtractor`` reads;
- INTERNAL: a value-carrying call inside a successful transaction, from traces, when the node gave them.

``Approval`` and the stablecoin issuers' freeze events become ``TokenEvent`` records.
Addresses pass through an injected ``codec`` (EIP-55 for Ethereum, base58check for TRON).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from chains.errors import AddressError, ParseError
from chains.evm import address as evm_address
from chains.evm import params as p
from chains.model import (
    AccountBlock,
    AccountTx,
    Chain,
    TokenEvent,
    TokenEventKind,
    Transfer,
    TransferKind,
)

Codec: TypeAlias = Callable[[str], str]  # node hex (20-byte address or 32-byte topic word) -> canonical
Json: TypeAlias = Any

# A block as flat rows (``traced.parse_traced_rows``, ``block_rows``): what the indexer's parser hands its
# writer (tracer.store.transfers), with no frozen record built per transaction and transfer (a record took
# ~1.5 µs to build, a tuple ~0.1). Each row holds its record's fields in their order (``chains.model``),
# kinds as their values; a transfer's row leaves out what its block holds (chain, height, time).
# (hash, index, from_address, to_address, value, success, created): an AccountTx
TxRow: TypeAlias = tuple[str, int, str, str | None, int | None, bool, str | None]
# (tx_hash, index, kind, asset, from_address, to_address, amount): a Transfer
TransferRow: TypeAlias = tuple[str, int, str, str | None, str, str, int]
# (tx_hash, index, kind, token, subject, spender, amount): a TokenEvent
EventRow: TypeAlias = tuple[str, int, str, str, str, str | None, int | None]
# (height, hash, prev_hash, time, txs, transfers, events): an AccountBlock of a chain the caller knows
BlockRowTuple: TypeAlias = tuple[int, str, str, int, list[TxRow], list[TransferRow], list[EventRow]]


@dataclass(frozen=True, slots=True)
class BlockRef:
    """What every record of one block carries: its chain, height and time, and the address codec."""

    chain: Chain
    height: int
    time: int
    codec: Codec = evm_address.from_hex


_WORD_HEX = 64
# Frames whose value leaves one account for another. CALLCODE credits the caller itself and DELEGATECALL
# and STATICCALL carry none (Yellow Paper, appendix H: the CALLCODE / DELEGATECALL opcodes).
_VALUE_CALLS = frozenset({"CALL", "CREATE", "CREATE2", "SELFDESTRUCT"})  # hex digits of one 32-byte ABI word
_FREEZE_KINDS: dict[str, str] = {
    p.ADDED_BLACKLIST_TOPIC: TokenEventKind.FREEZE.value,
    p.BLACKLISTED_TOPIC: TokenEventKind.FREEZE.value,
    p.REMOVED_BLACKLIST_TOPIC: TokenEventKind.UNFREEZE.value,
    p.UNBLACKLISTED_TOPIC: TokenEventKind.UNFREEZE.value,
    p.DESTROYED_BLACK_FUNDS_TOPIC: TokenEventKind.DESTROY.value,
}
_NATIVE, _TOKEN = TransferKind.NATIVE.value, TransferKind.TOKEN.value
_APPROVAL, _DESTROY = TokenEventKind.APPROVAL.value, TokenEventKind.DESTROY.value


def hex_int(value: object, what: str = "quantity") -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise ParseError(f"{what}: expected 0x-hex, got {value!r:.80}")
    try:
        return int(value, 16) if value not in ("0x", "") else 0
    except ValueError as exc:
        raise ParseError(f"{what}: not hex: {value!r:.80}") from exc


def strip0x(value: str) -> str:
    return value[2:] if value.startswith(("0x", "0X")) else value


def parse_block(
    chain: Chain,
    block: Json,
    receipts: Sequence[Json],
    traces: Sequence[Transfer] = (),
    *,
    codec: Codec = evm_address.from_hex,
    values: Mapping[str, int] | None = None,
) -> AccountBlock:
    """One block with its receipts (any order, matched by hash) and its internal transfers. ``values``
    (tx hash -> wei) stands in for transaction bodies when the block came with hashes only."""
    if not isinstance(block, dict):
        raise ParseError(f"block is not an object: {block!r:.80}")
    try:
        ref = block_ref(chain, block, codec)
        by_hash = {str(r["transactionHash"]).lower(): r for r in receipts}
        txs = tuple(
            _tx(entry, i, by_hash, codec, _value(chain, entry, values))
            for i, entry in enumerate(block["transactions"])
        )
    except (KeyError, TypeError, AddressError) as exc:
        raise ParseError(f"block {block.get('number')!r}: {type(exc).__name__}: {exc}") from exc
    transfers: list[Transfer] = []
    events: list[TokenEvent] = []
    for tx in txs:
        native = native_transfer(ref, tx)
        if native is not None:
            transfers.append(native)
        for log in by_hash[tx.hash].get("logs") or ():
            decoded = decode_log(ref, tx.hash, log)
            if isinstance(decoded, Transfer):
                transfers.append(decoded)
            elif decoded is not None:
                events.append(decoded)
    transfers.extend(traces)
    return AccountBlock(
        chain=chain,
        hash=strip0x(str(block["hash"])).lower(),
        height=ref.height,
        prev_hash=strip0x(str(block["parentHash"])).lower(),
        time=ref.time,
        txs=txs,
        transfers=tuple(transfers),
        events=tuple(events),
    )


def block_ref(chain: Chain, block: Json, codec: Codec = evm_address.from_hex) -> BlockRef:
    return BlockRef(chain, hex_int(block["number"], "block number"), hex_int(block["timestamp"]), codec)


def _tx(entry: Json, index: int, receipts: Mapping[str, Json], codec: Codec, value: int | None) -> AccountTx:
    tx_hash = (entry if isinstance(entry, str) else str(entry["hash"])).lower()
    receipt = receipts.get(tx_hash)
    if receipt is None:
        raise ParseError(f"no receipt for transaction {tx_hash}")
    body = entry if isinstance(entry, dict) else receipt  # hashes only: the receipt has from/to
    to = body.get("to")
    created = receipt.get("contractAddress")
    # Pre-Byzantium receipts (before block 4,370,000, EIP-658) carry a state root, no status.
    status = receipt.get("status")
    return AccountTx(
        hash=tx_hash,
        index=index,
        from_address=codec(str(body["from"])),
        to_address=codec(str(to)) if to else None,
        value=value,
        success=status is None or hex_int(status, "status") == 1,
        created=codec(str(created)) if created else None,
    )


def _value(chain: Chain, entry: Json, values: Mapping[str, int] | None) -> int | None:
    """The coin a transaction's own value moves, None where unknown. TRON's JSON-RPC puts into ``value``
    whatever amount the transaction's contract type has (java-tron ``JsonRpcApiUtil.getTransactionAmount``):
    TRX for a ``TransferContract`` and a contract call's call value, but a TRC-10 transfer's token amount, a
    vote count or a frozen amount for others, which it does not tell apart; only a call (``input`` not
    empty) is surely TRX. TRON's HTTP API (``chains.tron``) names the contract type and gives them all."""
    if not isinstance(entry, dict):  # hashes only: ``values`` (from traces) stands in for the bodies
        return None if chain is Chain.TRON else (values or {}).get(str(entry).lower())
    if chain is Chain.TRON and strip0x(str(entry.get("input") or "")) == "":
        return None
    return hex_int(entry["value"], "value")


def native_transfer(ref: BlockRef, tx: AccountTx) -> Transfer | None:
    """The coin a transaction moves (to its recipient, or to the contract it creates); None when it failed
    or moved nothing. EVM and TRON alike: both keep the value on the transaction."""
    receiver = tx.to_address or tx.created
    if not tx.success or not tx.value or receiver is None:
        return None
    return Transfer(
        ref.chain,
        ref.height,
        tx.hash,
        -1,
        TransferKind.NATIVE,
        None,
        tx.from_address,
        receiver,
        tx.value,
        ref.time,
    )


def native_row(tx: TxRow) -> TransferRow | None:
    """``native_transfer`` of a transaction's row, as a row."""
    tx_hash, _, sender, to, value, success, created = tx
    receiver = to or created
    if not success or not value or receiver is None:
        return None
    return tx_hash, -1, _NATIVE, None, sender, receiver, value


def decode_log(ref: BlockRef, tx_hash: str, log: Json) -> Transfer | TokenEvent | None:
    """A Transfer, an Approval or a freeze event; None for any other log or a malformed one (skipped, as
    ethereum-etl skips Transfer logs whose data is not one word)."""
    if log.get("removed"):
        return None
    topics = [str(t) for t in log.get("topics") or ()]
    if not topics:
        return None
    data = str(log.get("data") or "")
    address = str(log["address"])
    return decode_topics(ref, tx_hash, topics, data, address=address, log_index=log.get("logIndex", 0))


def decode_topics(
    ref: BlockRef, tx_hash: str, topics: list[str], data: str, *, address: str, log_index: object
) -> Transfer | TokenEvent | None:
    """``decode_log`` of a log not removed, with at least one topic, read into its parts."""
    row = topics_row(ref.codec, tx_hash, topics, data, address=address, log_index=log_index)
    if row is None:
        return None
    if row[2] == _TOKEN:
        return transfer_record(ref, row)  # type: ignore[arg-type]  # a token kind: a TransferRow
    return event_record(row)  # type: ignore[arg-type]  # any other kind: an EventRow


def topics_row(
    codec: Codec, tx_hash: str, topics: list[str], data: str, *, address: str, log_index: object
) -> TransferRow | EventRow | None:
    """``decode_topics`` as a row: a ``TransferRow`` when its kind (``row[2]``) is ``token``, else an
    ``EventRow``."""
    topic0 = topics[0].lower()  # the codec takes the other topics as the node spells them
    if not topic0.startswith("0x"):
        topic0 = "0x" + topic0
    data = strip0x(data)
    try:
        token = codec(address)
        index = hex_int(log_index, "logIndex")
        if topic0 == p.TRANSFER_TOPIC and len(topics) == p.TRANSFER_TOPICS and len(data) == _WORD_HEX:
            return tx_hash, index, _TOKEN, token, codec(topics[1]), codec(topics[2]), int(data, 16)
        if topic0 == p.APPROVAL_TOPIC and len(topics) == 3 and len(data) == _WORD_HEX:
            return tx_hash, index, _APPROVAL, token, codec(topics[1]), codec(topics[2]), int(data, 16)
        kind = _FREEZE_KINDS.get(topic0)
        frozen = None if kind is None else _frozen(kind, topics, data)
        if kind is not None and frozen is not None:
            return tx_hash, index, kind, token, codec(frozen[0]), None, frozen[1]
    except (AddressError, ValueError, ParseError):
        return None
    return None


def _frozen(kind: str, topics: list[str], data: str) -> tuple[str, int | None] | None:
    """A freeze event's account (its 32-byte word) and destroyed balance; None when malformed."""
    words = [data[i : i + _WORD_HEX] for i in range(0, len(data), _WORD_HEX)]
    # USDC indexes the account (topic 1); USDT puts it, and the destroyed balance, in the data words.
    account = strip0x(topics[1]) if len(topics) > 1 else (words[0] if words else None)
    if account is None or len(account) != _WORD_HEX:
        return None
    amount = int(words[1], 16) if kind == _DESTROY and len(words) > 1 else None
    return account, amount


# --- rows and records ---------------------------------------------------------------------------------------


def transfer_record(ref: BlockRef, row: TransferRow) -> Transfer:
    tx_hash, index, kind, asset, sender, receiver, amount = row
    return Transfer(
        ref.chain, ref.height, tx_hash, index, TransferKind(kind), asset, sender, receiver, amount, ref.time
    )


def event_record(row: EventRow) -> TokenEvent:
    tx_hash, index, kind, token, subject, spender, amount = row
    return TokenEvent(tx_hash, index, TokenEventKind(kind), token, subject, spender, amount)


def block_record(chain: Chain, rows: BlockRowTuple) -> AccountBlock:
    """The ``AccountBlock`` of a block's rows."""
    height, block_hash, prev_hash, time, txs, transfers, events = rows
    ref = BlockRef(chain, height, time)
    return AccountBlock(
        chain=chain,
        hash=block_hash,
        height=height,
        prev_hash=prev_hash,
        time=time,
        txs=tuple(AccountTx(h, i, f, to, v, ok, c) for h, i, f, to, v, ok, c in txs),
        transfers=tuple(transfer_record(ref, t) for t in transfers),
        events=tuple(event_record(e) for e in events),
    )


def block_rows(block: AccountBlock) -> BlockRowTuple:
    """The rows of an ``AccountBlock`` (any account chain: the reference path, TRON's HTTP API)."""
    return (
        block.height,
        block.hash,
        block.prev_hash,
        block.time,
        [(t.hash, t.index, t.from_address, t.to_address, t.value, t.success, t.created) for t in block.txs],
        [
            (t.tx_hash, t.index, t.kind.value, t.asset, t.from_address, t.to_address, t.amount)
            for t in block.transfers
        ],
        [(e.tx_hash, e.index, e.kind.value, e.token, e.subject, e.spender, e.amount) for e in block.events],
    )


# --- traces ------------------------------------------------------------------------------------------------


def parse_call_traces(ref: BlockRef, answer: Sequence[Json], tx_hashes: Sequence[str]) -> list[Transfer]:
    """Internal transfers from geth's ``debug_traceBlockByNumber`` with ``callTracer``: one call tree per
    transaction, in block order; the top frame is the transaction itself (already NATIVE)."""
    if len(answer) != len(tx_hashes):
        raise ParseError(f"block {ref.height}: {len(answer)} call traces for {len(tx_hashes)} transactions")
    transfers: list[Transfer] = []
    for entry, tx_hash in zip(answer, tx_hashes, strict=True):
        frame = entry.get("result", entry) if isinstance(entry, dict) else None
        if not isinstance(frame, dict) or frame.get("error"):
            continue  # a failed transaction moves nothing, not even inside
        for position, call in enumerate(_walk_calls(frame.get("calls") or ()), start=1):
            value = hex_int(call.get("value") or "0x0", "call value")
            if value and call.get("to") and str(call.get("type", "")).upper() in _VALUE_CALLS:
                move = (str(call["from"]), str(call["to"]), value)
                transfers.append(_internal(ref, tx_hash, position, move))
    return transfers


def _internal(ref: BlockRef, tx_hash: str, position: int, move: tuple[str, str, int]) -> Transfer:
    source, target, value = ref.codec(move[0]), ref.codec(move[1]), move[2]
    kind = TransferKind.INTERNAL
    return Transfer(
        ref.chain, ref.height, tx_hash.lower(), position, kind, None, source, target, value, ref.time
    )


def _walk_calls(calls: Iterable[Json]) -> Iterable[Json]:
    """Depth first, skipping reverted frames and everything under them (their value moves were undone)."""
    for call in calls:
        if call.get("error"):
            continue
        yield call
        yield from _walk_calls(call.get("calls") or ())


def parse_parity_traces(ref: BlockRef, answer: Sequence[Json]) -> list[Transfer]:
    """Internal transfers from ``trace_block`` (OpenEthereum / Erigon / Reth / anvil): flat traces with a
    ``traceAddress`` path; a frame whose own or any ancestor's call errored moved nothing."""
    failed: dict[str, list[tuple[int, ...]]] = {}
    positions: dict[str, int] = {}
    transfers: list[Transfer] = []
    for trace in answer:
        tx_hash = trace.get("transactionHash")
        if not tx_hash:
            continue  # block and uncle rewards: not transfers between accounts
        path = tuple(trace.get("traceAddress") or ())
        errored = failed.setdefault(tx_hash, [])
        if trace.get("error") or any(path[: len(bad)] == bad for bad in errored):
            errored.append(path)
            continue
        if not path:
            continue  # the transaction itself
        positions[tx_hash] = positions.get(tx_hash, 0) + 1
        moved = _parity_move(trace)
        if moved is not None:
            transfers.append(_internal(ref, tx_hash, positions[tx_hash], moved))
    return transfers


def _parity_move(trace: Json) -> tuple[str, str, int] | None:
    action, result = trace.get("action") or {}, trace.get("result") or {}
    kind = trace.get("type")
    if kind == "suicide":
        source, target, value = action.get("address"), action.get("refundAddress"), action.get("balance")
    elif kind == "create":
        source, target, value = action.get("from"), result.get("address"), action.get("value")
    else:
        source, target, value = action.get("from"), action.get("to"), action.get("value")
    amount = hex_int(value or "0x0", "trace value")
    moves_value = kind != "call" or action.get("callType") == "call"
    if not amount or not source or not target or not moves_value:
        return None
    return str(source), str(target), amount


def parity_tx_values(answer: Sequence[Json]) -> dict[str, int]:
    """Each transaction's own value (wei) from ``trace_block``: the action of its top frame (empty
    ``traceAddress``). With these, a block fetched with transaction hashes only is complete."""
    values: dict[str, int] = {}
    for trace in answer:
        tx_hash = trace.get("transactionHash")
        if tx_hash and not trace.get("traceAddress"):
            values[str(tx_hash).lower()] = hex_int((trace.get("action") or {}).get("value") or "0x0", "value")
    return values
