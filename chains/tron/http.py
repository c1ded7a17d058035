"""TRON blocks from TRON's HTTP API (java-tron FullNode, TronGrid): I/O only, parsed in ``parse.py``.

Endpoints (TRON developer docs, "HTTP API"), each a POST with a JSON body, addresses in hex (``visible``
false, the default):

- ``wallet/getnowblock`` ``{}`` → the newest block; its ``block_header.raw_data.number`` is the tip;
- ``wallet/getblockbynum`` ``{"num": H}`` → block H with its transactions; ``{}`` when the node has no H;
- ``wallet/gettransactioninfobyblocknum`` ``{"num": H}`` → the infos (receipt, logs, internal
  transactions) of H's transactions, a list; ``{}`` or ``[]`` for a block without transactions;
- ``wallet/triggerconstantcontract`` → a read-only contract call (TRC-20 ``symbol()``, ``decimals()``):
  ``constant_result[0]`` is the ABI-encoded answer. A node may refuse it; metadata then stays unknown;
- ``wallet/getassetissuebyid`` ``{"value": "<id>"}`` → a TRC-10 asset's issue record (abbr, name,
  precision); ``{}`` when the node does not have it.

java-tron answers a request it cannot serve with HTTP 200 and ``{"Error": "..."}``: that is a
``NodeProtocolError`` (retrying the same request gets the same answer). HTTP and connection errors are
mapped in ``chains.transport``; retriable ones are retried here with backoff, as ``EsploraNode`` does.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from chains.errors import NodeError, NodeNotSynced, NodeProtocolError
from chains.evm import params as evm_params
from chains.evm.parse import strip0x
from chains.evm.tokens import TokenInfo, decode_decimals, decode_text
from chains.model import AccountBlock
from chains.rest_node import RestNode
from chains.rpc import decode
from chains.transport import PostTransport
from chains.tron import params as p
from chains.tron.address import to_hex
from chains.tron.parse import parse_asset_issue, parse_block

log = logging.getLogger(__name__)


class TronRawBlock(NamedTuple):
    """``getblockbynum`` and ``gettransactioninfobyblocknum`` of one height, as the node answered."""

    block: Any
    infos: list[Any]


def parse_raw_block(raw: TronRawBlock) -> AccountBlock:
    return parse_block(raw.block, raw.infos)


class TronHttpNode(RestNode[PostTransport]):
    """``TronHttpNode("https://api.trongrid.io")`` or ``TronHttpNode(transport=<any PostTransport>)``;
    options (concurrency, rate limit, retries, injectable ``sleep``/``rng``) as ``chains.rest_node``.
    TronGrid throttles keyless clients beyond a few requests a second: give it ``rate_limit``."""

    async def tip_height(self) -> int:
        return block_number(await self._post(p.GET_NOW_BLOCK, {}))

    async def block_hash(self, height: int) -> str:
        return block_id(await self._block(height))

    async def raw_blocks(self, heights: Sequence[int]) -> list[TronRawBlock]:
        """The answers for ``heights``, in that order, ``concurrency`` requests at a time."""
        return list(await asyncio.gather(*(self.raw_block(h) for h in heights)))

    async def raw_block(self, height: int) -> TronRawBlock:
        block, infos = await asyncio.gather(self._block(height), self._infos(height))
        return TronRawBlock(block, infos)

    async def constant_call(self, contract: str, selector: str) -> str | None:
        """``0x`` + the ABI answer of a read-only call without arguments to ``contract`` (base58), or None
        when the call did not succeed."""
        hex_contract = to_hex(contract)
        body = {"owner_address": hex_contract, "contract_address": hex_contract, "data": strip0x(selector)}
        answer = await self._post(p.TRIGGER_CONSTANT_CONTRACT, body)
        results = answer.get("constant_result") if isinstance(answer, dict) else None
        ok = isinstance(answer, dict) and (answer.get("result") or {}).get("result") is True
        return "0x" + str(results[0]) if ok and isinstance(results, list) and results else None

    async def asset_issue(self, asset_id: str) -> dict[str, Any]:
        """The TRC-10 issue record of ``asset_id`` (its numeric id), ``{}`` when the node has none."""
        answer = await self._post(p.GET_ASSET_ISSUE_BY_ID, {"value": asset_id})
        return dict(answer) if isinstance(answer, dict) else {}

    async def _block(self, height: int) -> dict[str, Any]:
        if height < 0:
            raise ValueError(f"block height must be >= 0, got {height}")
        block = await self._post(p.GET_BLOCK_BY_NUM, {"num": height})
        if not block:
            raise NodeNotSynced(f"TRON node has no block {height} yet")
        if block_number(block) != height:
            raise NodeProtocolError(f"asked for TRON block {height}, got {block_number(block)}")
        return dict(block)

    async def _infos(self, height: int) -> list[Any]:
        infos = await self._post(p.GET_TX_INFO_BY_BLOCK_NUM, {"num": height})
        if infos == {}:  # java-tron's answer for a block without transactions (and for block 0)
            return []
        if not isinstance(infos, list):
            raise NodeProtocolError(f"TRON {p.GET_TX_INFO_BY_BLOCK_NUM} {height}: not a list: {infos!r:.200}")
        return infos

    async def _post(self, path: str, body: Mapping[str, object]) -> Any:
        payload = json.dumps(body, separators=(",", ":")).encode()

        answer = decode(await self._guarded(f"TRON POST {path}", lambda: self._transport.post(path, payload)))
        if isinstance(answer, dict) and "Error" in answer:
            raise NodeProtocolError(f"TRON node refused {path} {body}: {str(answer['Error'])[:200]}")
        return answer


def block_number(block: Any) -> int:
    try:
        return int(block["block_header"]["raw_data"].get("number", 0))  # genesis omits a zero number
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise NodeProtocolError(f"TRON block without block_header.raw_data: {block!r:.200}") from exc


def block_id(block: Any) -> str:
    try:
        return strip0x(str(block["blockID"])).lower()
    except (KeyError, TypeError) as exc:
        raise NodeProtocolError(f"TRON block without blockID: {block!r:.200}") from exc


class TronTokenReader:
    """TRC-20 symbol, name and decimals through ``triggerconstantcontract``, TRC-10 abbreviation, name and
    precision through ``getassetissuebyid``. A node that refuses either is remembered, and the metadata of
    every token of that kind stays unknown (amounts are integer base units anyway)."""

    def __init__(self, node: TronHttpNode) -> None:
        self._node = node
        self.refused = False
        self.assets_refused = False

    async def read(
        self, addresses: list[str], *, node_address: dict[str, str] | None = None
    ) -> list[TokenInfo]:
        return [await self._one(a) for a in addresses]

    async def _one(self, address: str) -> TokenInfo:
        if address.startswith(p.TRC10_PREFIX):
            return await self._asset(address)
        if self.refused:
            return TokenInfo(address)
        selectors = (evm_params.SYMBOL_SELECTOR, evm_params.NAME_SELECTOR, evm_params.DECIMALS_SELECTOR)
        try:
            symbol, name, decimals = [await self._node.constant_call(address, s) for s in selectors]
        except NodeError as exc:
            self.refused = True
            log.info("TRON node refuses triggerconstantcontract (%s): token metadata stays unknown", exc)
            return TokenInfo(address)
        return TokenInfo(address, decode_text(symbol), decode_text(name), decode_decimals(decimals))

    async def _asset(self, address: str) -> TokenInfo:
        """A TRC-10 asset (``trc10:<id>``): no contract to call, its issue record instead."""
        if self.assets_refused:
            return TokenInfo(address)
        try:
            answer = await self._node.asset_issue(address.removeprefix(p.TRC10_PREFIX))
        except NodeError as exc:
            self.assets_refused = True
            log.info("TRON node refuses getassetissuebyid (%s): TRC-10 metadata stays unknown", exc)
            return TokenInfo(address)
        symbol, name, decimals = parse_asset_issue(answer)
        return TokenInfo(address, symbol, name, decimals)
