"""Taint tracing from an address, a cluster or a transaction, forward (where did the value go?) or backward
(where did it come from?), by poison, haircut or FIFO (tracer.risk.taint), hop by hop over coins.

Work is bounded by hops, by the number of tainted coins followed and by wall time; a search a bound cut
short says so (``truncated``, ``truncated_by``) instead of running on. The method and every parameter are
echoed in the result. Where a value or an address is not known the answer says so (null and a flag) and
the transaction is listed under ``unknown``, never counted as 0.

Hop 0 holds the start coins (what the address or cluster received, or the transaction's outputs), wholly
tainted. Forward, hop k holds the outputs of transactions spending hop k-1 coins; backward, the coins
spent by the transactions that created hop k-1 coins.

Account-model chains (Ethereum, TRON) are traced one asset at a time (``asset``: a token contract; none:
the native coin) over their transfers, each account's balance seen as coins
(tracer.store.account_trace_reads); a coin there is a transfer (vout 0: what the recipient got, vout 1:
the sender's balance after it), its txid the transaction hash.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import asyncpg

from chains.addresses import normalize
from chains.errors import AddressError
from chains.model import Chain
from tracer.errors import InputError, InvalidAddress, NotFound, UnsupportedChain
from tracer.risk.taint import Direction, Method, Stretch, amount_of, fifo, haircut, poison
from tracer.store.account_trace_reads import AccountTxs
from tracer.store.errors import translate_errors
from tracer.store.trace_reads import Coin, TxFlow, TxSource, UtxoTxs, address_ids, cluster_address_ids

MAX_HOPS = 10
_NO_ORIGIN = {
    True: "coinbase: newly minted, nothing further back",
    False: "the sender's balance came from no indexed transfer (genesis, mining, before the indexed range)",
}
_PATHS_SHOWN = 20  # the largest endpoints get their full path


@dataclass(frozen=True, slots=True)
class TraceParams:
    direction: Direction = Direction.FORWARD
    method: Method = Method.HAIRCUT
    hops: int = 3
    max_nodes: int = 5000  # tainted coins followed in all
    max_seconds: float = 5.0
    min_amount: int = 1  # base units: smaller taint is not followed
    asset: str | None = None  # account chains: the token contract traced; None: the native coin

    @classmethod
    def of(cls, source: Any) -> TraceParams:
        """From anything with these attributes by name (CLI arguments, an API body); methods as strings."""
        return cls(
            direction=Direction(source.direction),
            method=Method(source.method),
            hops=source.hops,
            max_nodes=source.max_nodes,
            max_seconds=source.max_seconds,
            min_amount=source.min_amount,
            asset=getattr(source, "asset", None),
        )

    def __post_init__(self) -> None:
        if not 1 <= self.hops <= MAX_HOPS:
            raise InputError(f"hops must lie in 1..{MAX_HOPS}, got {self.hops}")
        if self.max_nodes < 1 or self.max_seconds <= 0 or self.min_amount < 0:
            raise InputError("max_nodes >= 1, max_seconds > 0 and min_amount >= 0 are required")


@dataclass(slots=True)
class Flow:
    """One tainted coin."""

    hop: int
    coin: Coin
    address: str | None
    value: int | None
    amount: int | None  # tainted part; None: unknown
    stretches: tuple[Stretch, ...]  # FIFO only: where in the coin the taint sits
    parent: int | None  # the flow it came from (the largest tainted contributor)
    tx: TxFlow | None  # forward: the tx that created the coin; backward: the tx that spent it
    children: int = 0


Start = tuple[Literal["address", "cluster", "transaction"], str]


@dataclass(slots=True)
class _Search:
    chain: Chain
    params: TraceParams
    source: TxSource
    deadline: float
    flows: list[Flow] = field(default_factory=list)
    unknown: list[dict[str, object]] = field(default_factory=list)
    truncated_by: set[str] = field(default_factory=set)


async def trace(
    chain: Chain, source: TxSource, start: Start, start_coins: list[tuple[Coin, int]], params: TraceParams
) -> dict[str, object]:
    """Trace from ``start_coins`` (coin, value), wholly tainted; the answer echoes ``start``."""
    search = _Search(chain, params, source, time.monotonic() + params.max_seconds)
    frontier = []
    for coin, value in start_coins:
        frontier.append(len(search.flows))
        search.flows.append(Flow(0, coin, None, value, value, ((0, value),), None, None))
    for hop in range(1, params.hops + 1):
        if not frontier:
            break
        if time.monotonic() > search.deadline:
            search.truncated_by.add("max_seconds")
            break
        frontier = await _step(search, hop, frontier)
    if frontier and await _goes_on(search, frontier):
        search.truncated_by.add("hops")
    return _answer(search, start, start_coins)


async def _step(search: _Search, hop: int, frontier: list[int]) -> list[int]:
    by_coin = {search.flows[i].coin: i for i in frontier}
    forward = search.params.direction is Direction.FORWARD
    txs = await (search.source.spending if forward else search.source.creating)(list(by_coin))
    if not forward:
        _note_missing_sources(search, by_coin, txs)
    new: list[int] = []
    for tx in txs:
        if len(search.flows) >= search.params.max_nodes:
            search.truncated_by.add("max_nodes")
            break
        new.extend(_carry(search, hop, tx, by_coin))
    return new


def _carry(search: _Search, hop: int, tx: TxFlow, by_coin: dict[Coin, int]) -> list[int]:
    """Taint through one transaction; the indexes of the new flows."""
    forward = search.params.direction is Direction.FORWARD
    if not forward and all(i.prev is None for i in tx.inputs):
        _unknown(search, tx, _NO_ORIGIN[search.chain is Chain.BITCOIN])
        return []
    src = (
        [by_coin.get(i.prev) if i.prev else None for i in tx.inputs]
        if forward
        else [by_coin.get((tx.txid, vout)) for vout in range(len(tx.outputs))]
    )
    amounts, stretches = _spread(search, tx, [search.flows[s] if s is not None else None for s in src])
    if amounts is None:
        _unknown(search, tx, "a value this method needs is not indexed")
        return []
    tainted = [s for s in src if s is not None]
    parent = max(tainted, key=lambda s: search.flows[s].amount or 0)
    new = []
    for n, amount in enumerate(amounts):
        made = _destination(
            search, tx, n, hop=hop, amount=amount, stretches=stretches[n] if stretches else (), parent=parent
        )
        if made is not None:
            new.append(made)
    for s in tainted:  # every tainted source moved on through this transaction: none is an endpoint
        search.flows[s].children += len(new)
    return new


def _unknown(search: _Search, tx: TxFlow, reason: str) -> None:
    search.unknown.append({"txid": _txid(search.chain, tx.txid), "height": tx.height, "reason": reason})


def _spread(
    search: _Search, tx: TxFlow, sources: list[Flow | None]
) -> tuple[list[int | None] | None, list[list[Stretch]] | None]:
    forward = search.params.direction is Direction.FORWARD
    src_values = [i.value for i in tx.inputs] if forward else [o.value for o in tx.outputs]
    dst_values: list[int | None] = [o.value for o in tx.outputs] if forward else [i.value for i in tx.inputs]
    pool = [i.value for i in tx.inputs]
    method = search.params.method
    if method is Method.POISON:
        return poison([s is not None for s in sources], dst_values), None
    if any(s is not None and s.amount is None for s in sources):
        return None, None  # a tainted source of unknown amount: proportions cannot be computed
    if method is Method.HAIRCUT:
        return haircut([s.amount or 0 for s in sources if s], dst_values, pool), None
    cut = fifo(src_values, [s.stretches if s else () for s in sources], dst_values)
    return (None, None) if cut is None else ([amount_of(c) for c in cut], cut)


def _destination(
    search: _Search,
    tx: TxFlow,
    n: int,
    *,
    hop: int,
    amount: int | None,
    stretches: Sequence[Stretch],
    parent: int,
) -> int | None:
    if amount is not None and amount < max(search.params.min_amount, 1):
        return None
    coin: Coin | None
    value: int | None
    if search.params.direction is Direction.FORWARD:
        out = tx.outputs[n]
        coin, address, value = (tx.txid, n), out.address, out.value
    else:
        inp = tx.inputs[n]
        coin, address, value = inp.prev, inp.address, inp.value
    if coin is None:  # a coinbase input among others (cannot happen on Bitcoin): nothing to follow
        return None
    search.flows.append(Flow(hop, coin, address, value, amount, tuple(stretches), parent, tx))
    return len(search.flows) - 1


def _note_missing_sources(search: _Search, by_coin: dict[Coin, int], txs: list[TxFlow]) -> None:
    found = {tx.txid for tx in txs}
    for txid in sorted({c[0] for c in by_coin} - found):
        search.unknown.append(
            {
                "txid": _txid(search.chain, txid),
                "height": None,
                "reason": "transaction not indexed: where its value came from is unknown",
            }
        )


async def _goes_on(search: _Search, frontier: list[int]) -> bool:
    """Whether the search stopped at the hop limit with tainted coins that move on."""
    if search.params.direction is Direction.BACKWARD:
        return True
    coins = [search.flows[i].coin for i in frontier]
    return bool(await search.source.spending(coins[:1000]))


def _answer(search: _Search, start: Start, start_coins: list[tuple[Coin, int]]) -> dict[str, object]:
    params = search.params
    leaves = [i for i, f in enumerate(search.flows) if f.hop > 0 and f.children == 0]
    leaves.sort(key=lambda i: -(search.flows[i].amount or 0))
    truncated_by = search.truncated_by | search.source.truncated_by
    return {
        "chain": search.chain.value,
        "start": {
            "kind": start[0],
            "id": start[1],
            "coins": len(start_coins),
            "amount": sum(v for _, v in start_coins),
        },
        "method": params.method.value,
        "direction": params.direction.value,
        "parameters": {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(params).items()},
        "unit": search.chain.base_unit if params.asset is None else f"{params.asset} base units",
        "truncated": bool(truncated_by),
        "truncated_by": sorted(truncated_by),
        "flows": [_flow_json(search, i) for i in range(len(search.flows)) if search.flows[i].hop > 0],
        "endpoints": _endpoints(search, leaves),
        "paths": [_path(search, i) for i in leaves[:_PATHS_SHOWN]],
        "unknown": search.unknown,
    }


def _flow_json(search: _Search, i: int) -> dict[str, object]:
    f = search.flows[i]
    return {
        "id": i,
        "hop": f.hop,
        "parent": f.parent if f.parent is not None and search.flows[f.parent].hop > 0 else None,
        "txid": _txid(search.chain, f.tx.txid) if f.tx else None,
        "height": f.tx.height if f.tx else None,
        "time": f.tx.time.isoformat() if f.tx else None,
        "coin": {"txid": _txid(search.chain, f.coin[0]), "vout": f.coin[1]},
        "address": f.address,
        "address_known": f.address is not None,
        "value": f.value,
        "amount": f.amount,
        "amount_known": f.amount is not None,
    }


def _endpoints(search: _Search, leaves: list[int]) -> list[dict[str, object]]:
    by_address: dict[str | None, dict[str, object]] = {}
    for i in leaves:
        f = search.flows[i]
        entry = by_address.setdefault(
            f.address,
            {
                "address": f.address,
                "address_known": f.address is not None,
                "amount": 0,
                "amount_known": True,
                "coins": 0,
                "hops": [],
            },
        )
        entry["coins"] = int(str(entry["coins"])) + 1
        if f.amount is None:
            entry["amount_known"] = False
        else:
            entry["amount"] = int(str(entry["amount"])) + f.amount
        hops = entry["hops"]
        if isinstance(hops, list) and f.hop not in hops:
            hops.append(f.hop)
    return sorted(by_address.values(), key=lambda e: -int(str(e["amount"])))


def _path(search: _Search, leaf: int) -> dict[str, object]:
    steps = []
    i: int | None = leaf
    while i is not None and search.flows[i].hop > 0:
        f = search.flows[i]
        steps.append(
            {
                "hop": f.hop,
                "txid": _txid(search.chain, f.tx.txid) if f.tx else None,
                "time": f.tx.time.isoformat() if f.tx else None,
                "address": f.address,
                "amount": f.amount,
            }
        )
        i = f.parent
    steps.reverse()
    end = search.flows[leaf]
    return {"address": end.address, "amount": end.amount, "hops": end.hop, "steps": steps}


def _txid(chain: Chain, txid: bytes) -> str:
    # An account chain's coin names a transfer: its transaction hash, then kind and index (not shown).
    return txid.hex() if chain is Chain.BITCOIN else "0x" + txid[:32].hex()


TRACEABLE_CHAINS = (Chain.BITCOIN, Chain.ETHEREUM, Chain.TRON)


async def start_coins(
    conn: asyncpg.Connection, chain: Chain, source: TxSource, start: Start, limit: int
) -> list[tuple[Coin, int]]:
    """The coins a trace starts from: what an address or a cluster received (oldest first, at most
    ``limit``), or a transaction's outputs. NotFound when the start is not indexed."""
    kind, ident = start
    if kind == "transaction":
        coins = await source.coins_of_transaction(_parse_txid(ident))
        if coins is None:
            raise NotFound(f"transaction {ident} is not indexed")
        return coins
    if kind == "address":
        ids = await address_ids(conn, chain.value, ident)
    else:
        ids = await cluster_address_ids(conn, chain.value, _parse_cluster(ident), limit)
    if not ids:
        raise NotFound(f"{kind} {ident} is not indexed")
    return await source.coins_of(ids, limit)


def _parse_txid(text: str) -> bytes:
    hex_part = text.lower().removeprefix("0x")
    if len(hex_part) != 64 or any(c not in "0123456789abcdef" for c in hex_part):
        raise InputError("a transaction id is 64 hex digits", txid=text[:80])
    return bytes.fromhex(hex_part)


def _parse_cluster(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError("a cluster id is an integer", cluster=text[:40]) from None


async def run_trace(
    conn: asyncpg.Connection, chain: str, start: Start, params: TraceParams
) -> dict[str, object]:
    """Validate the start at the edge, then trace in one read-only snapshot."""
    parsed = _parse_chain(chain)
    kind, ident = start
    if kind == "address":
        ident = _normalised(parsed, ident)
    if params.asset is not None:
        if parsed is Chain.BITCOIN:
            raise InputError("asset names a token contract of an account chain (ethereum, tron)")
        params = dataclasses.replace(params, asset=_normalised(parsed, params.asset))
    async with translate_errors(), conn.transaction(isolation="repeatable_read", readonly=True):
        source = await _source(conn, parsed, params.asset)
        coins = await start_coins(conn, parsed, source, (kind, ident), params.max_nodes)
        return await trace(parsed, source, (kind, ident), coins, params)


async def _source(conn: asyncpg.Connection, chain: Chain, asset: str | None) -> TxSource:
    if chain is Chain.BITCOIN:
        return UtxoTxs(conn, chain.value)
    if asset is None:
        return AccountTxs(conn, chain.value, None)
    asset_id = await conn.fetchval(
        "SELECT id FROM tokens WHERE chain = $1 AND address = $2", chain.value, asset
    )
    if asset_id is None:
        raise NotFound(f"token {asset} is not indexed on {chain.value}")
    return AccountTxs(conn, chain.value, int(asset_id))


def _parse_chain(chain: str) -> Chain:
    supported = [c.value for c in TRACEABLE_CHAINS]
    try:
        parsed = Chain(chain.strip().lower())
    except ValueError:
        raise UnsupportedChain(f"unsupported chain {chain[:40]!r}", supported=supported) from None
    if parsed not in TRACEABLE_CHAINS:
        raise UnsupportedChain(f"tracing does not cover {parsed.value}", supported=supported)
    return parsed


def _normalised(chain: Chain, address: str) -> str:
    try:
        return normalize(chain, address)
    except AddressError as exc:
        raise InvalidAddress(str(exc), chain=chain.value, address=address[:120]) from exc
