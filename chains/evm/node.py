"""Fetch EVM blocks from a node: block, receipts, traces. I/O only: calls are built in ``requests.py``,
parsed in ``parse.py``.

What a node offers is detected once and remembered (per ``EvmNode``):

- receipts: ``eth_getBlockReceipts`` (geth >= 1.13, Erigon, Reth, anvil, most providers) is one call per
  block; a node without it gets one ``eth_getTransactionReceipt`` per transaction instead, batched;
- with ``trace_block``, receipts are rebuilt from each transaction's top frame and the block's logs
  (``chains.evm.tracereceipts``): a node serves those at a fraction of the cost of receipts. The logs come
  from one ``eth_getLogs`` over each range of blocks, checked block by block against the blocks' hashes and
  blooms (``chains.evm.rangelogs``); a block they do not match (a reorg between the requests) is asked for
  by its hash, and a node that refuses both gets the receipts calls above;
- traces (internal transfers): ``trace_block`` (Erigon / Reth / OpenEthereum / anvil), else
  ``debug_traceBlockByNumber`` with geth's ``callTracer``, else none — the block is still indexed, without
  INTERNAL transfers. ``traces=False`` skips the probe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any, Final, NamedTuple

import msgspec

from chains.errors import NodeNotSynced, NodeProtocolError, ParseError, RpcError
from chains.evm import answers, params, rangelogs, tracereceipts
from chains.evm import requests as rq
from chains.evm.parse import (
    Codec,
    block_ref,
    hex_int,
    parity_tx_values,
    parse_block,
    parse_call_traces,
    parse_parity_traces,
    strip0x,
)
from chains.evm.traced import parse_traced
from chains.model import AccountBlock, Chain, Transfer
from chains.rpc import JsonRpcClient

log = logging.getLogger(__name__)

# Requests are sized by what they carry. A block with transaction hashes only is ~2 kB plus 66 bytes a
# transaction; with bodies, receipts or traces it grows with its transactions (mainnet: ~200 a block, a
# receipt ~1.5 kB). Fewer, larger requests cost the client less (bench.evm_ingest, small anvil blocks: ~8%
# of the indexer's CPU went from 50 to 250 blocks a request), but a mainnet answer must stay a few MB.
BLOCK_BATCH: Final = 250  # blocks per eth_getBlockByNumber request with transaction hashes only
BODY_BATCH: Final = 50  # blocks per eth_getBlockByNumber request with full transaction bodies
TXS_PER_REQUEST: Final = 5_000  # receipts or traces per request: whole blocks up to this many transactions
RECEIPT_BATCH: Final = 200  # eth_getTransactionReceipt calls per HTTP request when falling back
# Transactions whose blocks one eth_getLogs range spans: a few thousand logs on mainnet, well under what
# providers cap a range's answer at (Infura: 10,000 logs).
TXS_PER_LOG_RANGE: Final = 1_000
# Times a batch is asked for again when its traces or logs came from another branch than its blocks (a reorg
# between our requests); more in a row means a node that contradicts itself: the error then stands.
BRANCH_SWITCH_RETRIES: Final = 3


class TraceApi(StrEnum):
    PARITY = "trace_block"
    GETH = "debug_traceBlockByNumber"
    NONE = "none"


class WrongChain(NodeProtocolError):
    """The node serves another chain than the one we index (eth_chainId differs)."""


def unsupported(exc: RpcError) -> bool:
    """The node does not offer this method (or refuses it): a capability answer, not a failure."""
    return exc.code in params.UNSUPPORTED_CODES


class EvmNode:
    """An Ethereum-compatible JSON-RPC node, e.g.
    ``EvmNode(JsonRpcClient(HttpTransport(url)), Chain.ETHEREUM, codec=from_hex)``."""

    def __init__(
        self,
        client: JsonRpcClient,
        chain: Chain,
        *,
        codec: Codec,
        traces: bool = True,
        block_batch: int = BLOCK_BATCH,
    ) -> None:
        self._client = client
        self.chain = chain
        self._codec = codec
        self._block_batch = block_batch
        self.block_receipts: bool | None = None  # None: not probed yet
        self.logs_by_range: bool | None = None  # eth_getLogs with fromBlock/toBlock; None: not tried yet
        self.logs_by_hash: bool | None = None  # eth_getLogs with a blockHash filter; None: not tried yet
        self.trace_api: TraceApi | None = None if traces else TraceApi.NONE

    @property
    def client(self) -> JsonRpcClient:
        return self._client

    async def check_chain_id(self, expected: int) -> None:
        actual = hex_int(await self._client.call(*rq.chain_id()), "eth_chainId")
        if actual != expected:
            raise WrongChain(f"node serves chain id {actual}, expected {expected} for {self.chain.value}")

    async def tip_height(self) -> int:
        return hex_int(await self._client.call(*rq.block_number()), "eth_blockNumber")

    async def block_hash(self, height: int) -> str:
        """The node's block hash at ``height``, lower-case hex without 0x (header only)."""
        block = await self._client.call(*rq.get_block(height, full=False))
        if block is None:
            raise NodeNotSynced(f"node has no block {height} yet")
        return strip0x(str(block["hash"])).lower()

    async def blocks(self, heights: Sequence[int]) -> list[AccountBlock]:
        """Blocks at ``heights``, in that order, ``block_batch`` heights per round of requests."""
        return [parse_raw(self.chain, raw, self._codec) for raw in await self.raw_blocks(heights)]

    async def raw_blocks(self, heights: Sequence[int]) -> list[RawBlock]:
        """The node's answers for ``heights``, unparsed (the indexer parses them in worker processes)."""
        out: list[RawBlock] = []
        for start in range(0, len(heights), self._block_batch):
            out += await self._fetch(heights[start : start + self._block_batch])
        return out

    async def _fetch(self, heights: Sequence[int]) -> list[RawBlock]:
        for attempt in range(1, BRANCH_SWITCH_RETRIES + 1):
            try:
                return await self._fetch_once(heights)
            except tracereceipts.OtherBranch as exc:
                if attempt == BRANCH_SWITCH_RETRIES:
                    raise
                log.warning("node switched branches under a batch (%s); asking again", exc)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch_once(self, heights: Sequence[int]) -> list[RawBlock]:
        if self.trace_api is None:
            self.trace_api = await self._probe_traces(heights[0])
        # trace_block carries every transaction's value (its top frame): then the block's transaction
        # hashes suffice, and nodes serialise full transaction bodies slowly (anvil: ~25x the cost).
        full = self.trace_api is not TraceApi.PARITY
        calls = [rq.get_block(h, full=full) for h in heights]
        per_request = min(self._block_batch, BODY_BATCH) if full else self._block_batch
        raw = await self._client.batch(calls, max_batch=per_request, decoder=answers.BLOCKS)
        for height, block in zip(heights, raw, strict=True):
            if block is None:
                raise NodeNotSynced(f"node has no block {height} yet")
        per_request = blocks_per_request(raw, self._block_batch)
        if self.trace_api is TraceApi.PARITY and (
            self.logs_by_range is not False or self.logs_by_hash is not False
        ):
            rebuilt = await self._from_traces_and_logs(heights, raw, per_request)
            if rebuilt is not None:
                return rebuilt
        receipts, traces = await asyncio.gather(
            self._receipts(heights, raw, per_request), self._traces(heights, per_request)
        )
        for block, block_receipts, block_traces in zip(raw, receipts, traces, strict=True):
            _same_branch(block, block_receipts, self.trace_api, block_traces)
        api = self.trace_api or TraceApi.NONE
        return [
            RawBlock(block, rs, api.value, ts) for block, rs, ts in zip(raw, receipts, traces, strict=True)
        ]

    async def _from_traces_and_logs(
        self, heights: Sequence[int], raw: Sequence[Any], per_request: int
    ) -> list[RawBlock] | None:
        """Blocks whose receipts are rebuilt from traces and logs (``tracereceipts``); None when the node
        answers some block's logs neither by range nor by hash. Both answers stay undecoded where the
        parser can rebuild them alone; the others are decoded and rebuilt here, asking the node for what
        traces lack."""
        traces, logs = await asyncio.gather(
            self._traces(heights, per_request, decoder=answers.RAW), self._logs(heights, raw, per_request)
        )
        if logs is None:
            return None
        out: list[RawBlock] = []
        api = TraceApi.PARITY.value
        for block, block_traces, block_logs in zip(raw, traces, logs, strict=True):
            if isinstance(block_traces, msgspec.Raw):
                undecoded = bytes(block_traces)
                block_hash = str(block["hash"]).lower()
                if tracereceipts.rebuildable(undecoded, len(block["transactions"]), block_hash):
                    out.append(RawBlock(block, None, api, undecoded, block_logs))
                    continue
            decoded = _decoded(block_traces, answers.PARITY_TRACES_RESULT) or []
            receipts = await self._rebuilt_receipts(block, decoded, answers.LOGS_RESULT(block_logs))
            out.append(RawBlock(block, receipts, api, decoded))
        return out

    async def _receipts(
        self, heights: Sequence[int], raw: Sequence[Any], per_request: int
    ) -> list[list[Any]]:
        if self.block_receipts is not False:
            try:
                answer = await self._client.batch(
                    [rq.get_block_receipts(h) for h in heights],
                    max_batch=per_request,
                    decoder=answers.RECEIPTS,
                )
                self.block_receipts = True
                return [list(r or ()) for r in answer]
            except RpcError as exc:
                if self.block_receipts or not unsupported(exc):
                    raise
                log.info("node has no eth_getBlockReceipts (%s); one receipt per transaction instead", exc)
                self.block_receipts = False
        hashes = [[_tx_hash(tx) for tx in block["transactions"]] for block in raw]
        flat = await self._client.batch(
            [rq.get_receipt(h) for hs in hashes for h in hs], max_batch=RECEIPT_BATCH
        )
        out, at = [], 0
        for hs in hashes:
            out.append(flat[at : at + len(hs)])
            at += len(hs)
        return out

    async def _logs(self, heights: Sequence[int], raw: Sequence[Any], per_request: int) -> list[bytes] | None:
        """Each block's logs, undecoded: by range where they match the blocks (``rangelogs``), the others by
        block hash; None when a block's logs are answered neither way."""
        logs: list[bytes | None] = [None for _ in raw]
        if self.logs_by_range is not False:
            logs = await self._logs_by_range(heights, raw, per_request)
        left = [at for at, found in enumerate(logs) if found is None]
        if left:
            by_hash = await self._logs_by_hash([raw[at] for at in left], per_request)
            if by_hash is None:
                return None
            for at, found in zip(left, by_hash, strict=True):
                logs[at] = found
        return [found for found in logs if found is not None]

    async def _logs_by_range(
        self, heights: Sequence[int], raw: Sequence[Any], per_request: int
    ) -> list[bytes | None]:
        """``rangelogs.split`` of one ``eth_getLogs`` per run of consecutive heights of up to
        ``TXS_PER_LOG_RANGE`` transactions; all None when the node refuses a range (remembered when it
        never answered one)."""
        spans = rangelogs.spans(heights, blocks_per_request(raw, per_request, TXS_PER_LOG_RANGE))
        calls = [rq.get_logs_of_range(heights[first], heights[last]) for first, last in spans]
        try:  # a request each: a range's answer is as large as a batch of by-hash calls
            found = await asyncio.gather(*(self._client.call(*c, decoder=answers.RAW_ONE) for c in calls))
        except RpcError as exc:  # a node may bound a range's blocks or logs: these go by hash
            if not self.logs_by_range:
                log.info("node refuses eth_getLogs over a range of blocks (%s); one call a block", exc)
                self.logs_by_range = False
            else:
                first, last = heights[0], heights[-1]
                log.warning("eth_getLogs over blocks %d-%d failed (%s); one call a block", first, last, exc)
            return [None for _ in raw]
        self.logs_by_range = True
        out: list[bytes | None] = []
        for (first, last), answer in zip(spans, found, strict=True):
            out += rangelogs.split(bytes(answer), raw[first : last + 1])
        return out

    async def _logs_by_hash(self, raw: Sequence[Any], per_request: int) -> list[bytes] | None:
        """Each block's logs by its hash (EIP-234), undecoded; None when the node refuses that
        ``eth_getLogs`` (remembered). A block whose bloom names logs but got none is not the node's
        any more (a reorg since we read it): the batch is asked for again (``OtherBranch``)."""
        if self.logs_by_hash is False:
            return None
        calls = [rq.get_logs_of_block(str(block["hash"])) for block in raw]
        try:
            answer = await self._client.batch(calls, max_batch=per_request, decoder=answers.RAW)
        except RpcError as exc:
            if self.logs_by_hash or not unsupported(exc):
                raise
            if await self._left_chain(raw):  # a block gone by a reorg (anvil: -32000 "unknown block")
                raise tracereceipts.OtherBranch(
                    f"blocks left the node's chain before their logs ({exc})"
                ) from exc
            log.info("node refuses eth_getLogs by block hash (%s); reading receipts instead", exc)
            self.logs_by_hash = False
            return None
        self.logs_by_hash = True
        out = [bytes(found) for found in answer]
        for block, found in zip(raw, out, strict=True):
            if rangelogs.has_logs(block) and b"{" not in found:  # no log object in the answer
                raise tracereceipts.OtherBranch(f"no logs for block {block['hash']}, whose bloom names some")
        return out

    async def _left_chain(self, raw: Sequence[Any]) -> bool:
        """Whether any of ``raw``'s blocks is no longer the node's at its height: then a by-hash request's
        error means a reorg (providers answer an unknown hash with the codes they use for "unsupported")."""
        heights = [hex_int(block["number"], "number") for block in raw]
        found = await self._client.batch([rq.get_block(h, full=False) for h in heights])
        return any(
            now is None or str(now["hash"]).lower() != str(block["hash"]).lower()
            for block, now in zip(raw, found, strict=True)
        )

    async def _rebuilt_receipts(self, block: Any, traces: Sequence[Any], logs: Any) -> list[Any]:
        """Receipts from traces and logs; the few that cannot be rebuilt are read from the node."""
        receipts, missing = tracereceipts.rebuild(block, traces, logs or ())
        if missing:
            found = await self._client.batch([rq.get_receipt(h) for h in missing], max_batch=RECEIPT_BATCH)
            by_hash = dict(zip(missing, found, strict=True))
            receipts = [r if r is not None else by_hash[_hash_at(block, i)] for i, r in enumerate(receipts)]
        return receipts

    async def _traces(
        self, heights: Sequence[int], per_request: int, decoder: Callable[[bytes], Any] | None = None
    ) -> list[Any]:
        if self.trace_api is None:
            self.trace_api = await self._probe_traces(heights[0])
        if self.trace_api is TraceApi.NONE:
            return [None for _ in heights]
        calls = [
            rq.trace_block(h) if self.trace_api is TraceApi.PARITY else rq.debug_trace_block(h)
            for h in heights
        ]
        if decoder is None:  # call trees: untyped
            decoder = answers.PARITY_TRACES if self.trace_api is TraceApi.PARITY else None
        return list(await self._client.batch(calls, max_batch=per_request, decoder=decoder))

    async def _probe_traces(self, height: int) -> TraceApi:
        for api, call in ((TraceApi.PARITY, rq.trace_block), (TraceApi.GETH, rq.debug_trace_block)):
            try:
                await self._client.call(*call(height))
            except RpcError as exc:
                log.info("node refuses %s (%s)", api.value, exc)
                continue
            log.info("internal transfers from %s", api.value)
            return api
        log.info("node offers no traces: internal transfers are not indexed")
        return TraceApi.NONE


def blocks_per_request(blocks: Sequence[Any], limit: int, txs: int = TXS_PER_REQUEST) -> int:
    """Blocks per receipts or traces request: whole blocks, up to ``txs`` transactions at these blocks'
    average, at most ``limit``."""
    average = sum(len(block.get("transactions") or ()) for block in blocks) / max(len(blocks), 1)
    return max(1, min(limit, int(txs / max(average, 1))))


class RawBlock(NamedTuple):
    """One block as the node answered: the block, its receipts, and its traces in ``trace_api``'s form
    (None without traces). Plain JSON in a tuple: it crosses to parser processes cheaply. With ``logs``,
    the receipts are None and ``traces`` and ``logs`` the undecoded answers of ``trace_block`` and
    ``eth_getLogs``: the parser decodes them and rebuilds the receipts (``tracereceipts``)."""

    block: Any
    receipts: list[Any] | None
    trace_api: str
    traces: Any
    logs: bytes | None = None


def parse_raw(chain: Chain, raw: RawBlock, codec: Codec) -> AccountBlock:
    if raw.logs is not None:
        fast = parse_traced(chain, raw.block, raw.traces, raw.logs, codec)
        if fast is not None:
            return fast
        raw = _rebuild(raw)
    internal: list[Transfer] = []
    values = None
    if raw.traces is not None:
        ref = block_ref(chain, raw.block, codec)
        if raw.trace_api == TraceApi.PARITY.value:
            internal = parse_parity_traces(ref, raw.traces)
            values = parity_tx_values(raw.traces)
        else:
            hashes = [_tx_hash(tx) for tx in raw.block["transactions"]]
            internal = parse_call_traces(ref, raw.traces, hashes)
    return parse_block(chain, raw.block, raw.receipts or (), internal, codec=codec, values=values)


def _rebuild(raw: RawBlock) -> RawBlock:
    traces = answers.PARITY_TRACES_RESULT(raw.traces) or []
    receipts, missing = tracereceipts.rebuild(raw.block, traces, answers.LOGS_RESULT(raw.logs or b"[]") or ())
    if missing:  # ``tracereceipts.rebuildable`` said they would all be there
        raise ParseError(f"block {raw.block.get('number')}: no top frame for {missing[:3]}")
    return RawBlock(raw.block, receipts, raw.trace_api, traces)


def _decoded(answer: Any, decoder: Callable[[bytes], Any]) -> Any:
    return decoder(bytes(answer)) if isinstance(answer, msgspec.Raw) else answer


def _tx_hash(tx: Any) -> str:
    return str(tx if isinstance(tx, str) else tx["hash"])


def _hash_at(block: Any, index: int) -> str:
    return _tx_hash(block["transactions"][index]).lower()


def _same_branch(block: Any, receipts: Sequence[Any], trace_api: TraceApi | None, traces: Any) -> None:
    """Receipts and traces read by block number belong to the block read before them, unless the node
    switched branches in between (a reorg at the tip): then the batch is asked for again (``OtherBranch``).
    Receipts and ``trace_block``'s traces name their block; geth's call traces name their transaction."""
    block_hash = str(block["hash"]).lower()
    tracereceipts.same_block(block_hash, receipts, "receipts")
    if traces is None:
        return
    if trace_api is TraceApi.PARITY:
        tracereceipts.same_block(block_hash, traces, "trace_block's traces")
    elif trace_api is TraceApi.GETH:
        for entry, tx in zip(traces, block["transactions"], strict=False):
            named = entry.get("txHash") if isinstance(entry, dict) else None  # geth >= 1.11 names it
            if named is not None and str(named).lower() != _tx_hash(tx).lower():
                raise tracereceipts.OtherBranch(
                    f"call traces for block {block_hash} name transaction {named}"
                )
