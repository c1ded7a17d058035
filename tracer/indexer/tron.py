"""The TRON adapter of the indexer core over TRON's HTTP API (``chains.tron.http``): TRX transfers
(``TransferContract``, contract call values, internal transactions), TRC-10 ``TransferAssetContract``s,
TRC-20 ``Transfer`` logs from the transaction infos, approvals and the issuers' freeze events. The store
side (rows, token registry, freeze labels, rollback) is the one account chains share
(``tracer.indexer.evm.AccountAdapter``), and so are the cursor, reorg walk-back and batch transactions of
``tracer.indexer.pipeline``.

``tracer index evm --chain tron --tron-api URL`` uses it; ``--rpc URL`` reads TRON through its
Ethereum-compatible JSON-RPC instead (``EvmAdapter``), which shows TRX only as contract calls' call values
(``chains.evm.parse._value``): plain TRX sends and TRC-10 transfers need the HTTP API.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Final

from chains.evm.parse import strip0x
from chains.model import Chain
from chains.tron.http import TronHttpNode, TronRawBlock, TronTokenReader, block_id, parse_raw_block
from tracer.indexer.adapter import Header
from tracer.indexer.evm import AccountAdapter
from tracer.store.transfers import AccountRows, account_rows

SOURCE: Final = "tron-http"  # cursor name: its own position, apart from a JSON-RPC run's "rpc"


def parse_tron_http(raw: TronRawBlock, height: int) -> AccountRows:
    """Worker-process entry point."""
    return account_rows(parse_raw_block(raw))


class TronHttpAdapter(AccountAdapter):
    """``ChainAdapter[TronRawBlock, AccountRows]`` for TRON's HTTP API (see ``tracer.indexer.adapter``)."""

    def __init__(
        self, node: TronHttpNode, *, issuers: Mapping[str, str] | None = None, read_tokens: bool = True
    ) -> None:
        reader = TronTokenReader(node) if read_tokens else None
        super().__init__(Chain.TRON, source=SOURCE, issuers=issuers, reader=reader)
        self.node = node

    async def tip_height(self) -> int:
        return await self.node.tip_height()

    async def block_hash(self, height: int) -> str:
        return await self.node.block_hash(height)

    async def fetch(self, heights: Sequence[int]) -> list[TronRawBlock]:
        return await self.node.raw_blocks(heights)

    def parser(self) -> Callable[[TronRawBlock, int], AccountRows]:
        return parse_tron_http

    def raw_header(self, raw: TronRawBlock, height: int) -> Header:
        parent = strip0x(str(raw.block["block_header"]["raw_data"]["parentHash"])).lower()
        return Header(height, block_id(raw.block), parent)


@contextlib.asynccontextmanager
async def open_tron_http_adapter(
    api_url: str, *, issuers: Mapping[str, str] | None = None, rate_limit: float | None = None
) -> AsyncIterator[TronHttpAdapter]:
    async with TronHttpNode(api_url, rate_limit=rate_limit) as node:
        yield TronHttpAdapter(node, issuers=issuers)
