"""The EVM adapter of the indexer core: blocks, receipts and traces from any Ethereum-compatible JSON-RPC
node (Ethereum, or TRON's JSON-RPC for blocks and TRC-20 logs), parsed in worker processes into
``AccountRows`` (flat rows, no records), written by ``tracer.store.transfers``.

Token metadata (symbol, name, decimals) is read with ``eth_call`` the first time a contract is seen, inside
the batch that first stores it; a node that refuses ``eth_call`` leaves it unknown (NULL) and indexing goes
on. Freeze events of the known stablecoin issuers (``chains.evm.params``) become labels.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import asyncpg

from chains.evm import params
from chains.evm.address import from_hex as evm_from_hex
from chains.evm.node import EvmNode, RawBlock, parse_raw
from chains.evm.parse import Codec, strip0x
from chains.evm.tokens import MetadataReader, TokenReader
from chains.evm.traced import parse_traced_rows
from chains.model import Chain
from chains.rpc import JsonRpcClient, fast_decode
from chains.stdhttp import StdlibHttpTransport
from chains.tron.address import from_hex as tron_from_hex
from tracer.errors import InputError
from tracer.indexer.adapter import BatchStats, Header
from tracer.store import bulkload
from tracer.store.chaindata import delete_from_height, stored_hashes
from tracer.store.freeze_labels import freeze_subjects_from, refresh_freeze_labels
from tracer.store.pool import refresh_grown_statistics
from tracer.store.tokens import save_token_metadata
from tracer.store.transfers import (
    ACCOUNT_TABLES,
    AccountRows,
    IdCaches,
    account_rows,
    stored_tokens,
    tokens_of,
    write_account_rows,
)

EXPECTED_CHAIN_IDS: Final = {Chain.ETHEREUM: params.ETHEREUM_CHAIN_ID, Chain.TRON: params.TRON_CHAIN_ID}
ISSUERS: Final = {Chain.ETHEREUM: params.ETHEREUM_ISSUERS, Chain.TRON: params.TRON_ISSUERS}


def parse_ethereum(raw: RawBlock, height: int) -> AccountRows:
    """Worker-process entry point for Ethereum blocks."""
    return _parse_rows(Chain.ETHEREUM, raw, evm_from_hex)


def parse_tron(raw: RawBlock, height: int) -> AccountRows:
    """Worker-process entry point for TRON blocks read through its Ethereum-compatible JSON-RPC."""
    return _parse_rows(Chain.TRON, raw, tron_from_hex)


def _parse_rows(chain: Chain, raw: RawBlock, codec: Codec) -> AccountRows:
    """``parse_raw``'s records as rows: straight from the fast path (``chains.evm.traced``), else the
    reference path's records mapped (which tries the fast path again first: it refuses only odd blocks)."""
    rows = None if raw.logs is None else parse_traced_rows(chain, raw.block, raw.traces, raw.logs, codec)
    return AccountRows(*rows) if rows is not None else account_rows(parse_raw(chain, raw, codec))


_PARSERS: Final = {Chain.ETHEREUM: parse_ethereum, Chain.TRON: parse_tron}
_CODECS: Final = {Chain.ETHEREUM: evm_from_hex, Chain.TRON: tron_from_hex}


@dataclass(slots=True)
class TokenRegistry:
    """Contracts whose metadata is stored (committed) or being stored (in the open batch)."""

    known: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)

    def commit(self) -> None:
        self.known |= self.pending
        self.pending.clear()

    def abort(self) -> None:
        self.pending.clear()


class AccountAdapter:
    """The store side of an account-chain adapter (Ethereum, TRON): rows, the token registry, freeze
    labels, rollback. Subclasses add the node side (``EvmAdapter``: JSON-RPC; ``TronHttpAdapter``: TRON's
    HTTP API)."""

    def __init__(
        self,
        chain: Chain,
        *,
        source: str,
        issuers: Mapping[str, str] | None = None,
        reader: MetadataReader | None = None,
    ) -> None:
        self._chain = chain
        self._source = source
        self.issuers = dict(ISSUERS.get(chain, {}) if issuers is None else issuers)
        self.tokens = TokenRegistry()
        self.ids = IdCaches.create(chain.value)  # address and token ids across batches
        self.reader = reader
        # Freeze labels rewritten by committed batches since the job last refreshed the exposure that
        # screening reads (``tracer.jobs.evm_index``); pending while their batch is open.
        self.labels_changed = False
        self._labels_pending = False
        self._bulk = False  # this run defers checks and indexes (before_run)

    @property
    def chain(self) -> str:
        return self._chain.value

    @property
    def source(self) -> str:
        return self._source

    def tx_count(self, parsed: AccountRows) -> int:
        return len(parsed.txs)

    @property
    def keeps_caches(self) -> bool:
        # Nothing big lives across batches (the token registry is a few addresses); what the collector
        # would walk is the raw JSON of the batches fetched ahead. Measured on bench.evm_ingest (2,003
        # blocks): collecting and freezing after every batch took a third of the indexer's own CPU.
        return False

    async def stored_hashes(self, conn: asyncpg.Connection, first: int, last: int) -> dict[int, str]:
        return await stored_hashes(conn, self.chain, first, last)

    def upcoming(self, parsed: asyncio.Future[list[AccountRows | None]]) -> None:
        """Nothing to prepare ahead: a batch's rows are built while its own COPYs run."""

    async def write(
        self, conn: asyncpg.Connection, blocks: Sequence[AccountRows], *, replace: Sequence[int]
    ) -> BatchStats:
        await self._register_tokens(conn, blocks)
        stats = await write_account_rows(
            conn,
            self.chain,
            blocks,
            source=self._source,
            replace=replace,
            issuers=self.issuers,
            caches=self.ids,
        )
        self._labels_pending |= stats.labels_refreshed > 0
        rows = {"transfers": stats.transfers, "token_events": stats.events}
        return BatchStats(stats.blocks, stats.txs, rows)

    async def _register_tokens(self, conn: asyncpg.Connection, blocks: Sequence[AccountRows]) -> None:
        new = tokens_of(blocks) - self.tokens.known - self.tokens.pending
        if not new:
            return
        new -= await stored_tokens(conn, self.chain, new)
        if new and self.reader is not None:
            infos = await self.reader.read(sorted(new), node_address=self._node_addresses(new))
            await save_token_metadata(conn, self.chain, infos)
        self.tokens.pending |= new

    def _node_addresses(self, addresses: set[str]) -> dict[str, str] | None:
        if self._chain is not Chain.TRON:
            return None
        from chains.tron.address import to_hex
        from chains.tron.params import TRC10_PREFIX

        return {a: "0x" + to_hex(a)[2:] for a in addresses if not a.startswith(TRC10_PREFIX)}

    async def rollback(self, conn: asyncpg.Connection, from_height: int) -> int:
        subjects = await freeze_subjects_from(conn, self.chain, from_height)
        dropped = await delete_from_height(conn, self.chain, from_height)
        if subjects and self.issuers:
            await refresh_freeze_labels(conn, self.chain, subjects, self.issuers)
            self._labels_pending = True
        return dropped

    def committed(self) -> None:
        self.tokens.commit()
        self.ids.commit()
        self.labels_changed |= self._labels_pending
        self._labels_pending = False

    def aborted(self) -> None:
        self.tokens.abort()
        self.ids.abort()
        self._labels_pending = False

    async def before_run(self, conn: asyncpg.Connection, *, heights: int, bulk: bool | None) -> None:
        """A first pass over a long range defers the rows' foreign keys and address indexes
        (``tracer.store.bulkload``); any other run rebuilds what a killed first pass left deferred."""
        self._bulk = bulk = await bulkload.wanted(conn, self.chain, heights, bulk)
        if bulk:
            await bulkload.enter(conn, bulkload.ACCOUNT)
        elif await bulkload.active(conn, bulkload.ACCOUNT):
            await bulkload.leave(conn, bulkload.ACCOUNT)

    async def after_run(self, pool: asyncpg.Pool) -> None:
        if self._bulk:
            await bulkload.leave_concurrently(pool, bulkload.ACCOUNT, analyze=ACCOUNT_TABLES)
            self._bulk = False
        async with pool.acquire() as conn:
            await refresh_grown_statistics(conn, ACCOUNT_TABLES)


class EvmAdapter(AccountAdapter):
    """``ChainAdapter[RawBlock, AccountRows]`` for Ethereum and TRON's JSON-RPC (``indexer.adapter``)."""

    def __init__(
        self,
        node: EvmNode,
        *,
        source: str = "rpc",
        issuers: Mapping[str, str] | None = None,
        read_tokens: bool = True,
    ) -> None:
        reader = TokenReader(node.client) if read_tokens else None
        super().__init__(node.chain, source=source, issuers=issuers, reader=reader)
        self.node = node

    async def tip_height(self) -> int:
        return await self.node.tip_height()

    async def block_hash(self, height: int) -> str:
        return await self.node.block_hash(height)

    async def fetch(self, heights: Sequence[int]) -> list[RawBlock]:
        return await self.node.raw_blocks(heights)

    def parser(self) -> Callable[[RawBlock, int], AccountRows]:
        return _PARSERS[self.node.chain]

    def raw_header(self, raw: RawBlock, height: int) -> Header:
        block = raw.block
        return Header(height, strip0x(str(block["hash"])).lower(), strip0x(str(block["parentHash"])).lower())


@contextlib.asynccontextmanager
async def open_evm_adapter(
    rpc_url: str,
    chain: Chain,
    *,
    chain_id: int | None = None,
    traces: bool = True,
    issuers: Mapping[str, str] | None = None,
    rate_limit: float | None = None,
) -> AsyncIterator[EvmAdapter]:
    """The adapter for a node URL, after checking the node serves ``chain`` (eth_chainId)."""
    if chain not in _PARSERS:
        raise InputError(f"chain {chain.value!r} is not an EVM chain: use ethereum or tron")
    async with StdlibHttpTransport(rpc_url) as transport:  # not aiohttp: see chains.stdhttp
        node = EvmNode(
            JsonRpcClient(transport, rate_limit=rate_limit, decoder=fast_decode),
            chain,
            codec=_CODECS[chain],
            traces=traces,
        )
        await node.check_chain_id(chain_id if chain_id is not None else EXPECTED_CHAIN_IDS[chain])
        yield EvmAdapter(node, issuers=issuers)
