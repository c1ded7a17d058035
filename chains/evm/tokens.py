"""ERC-20 metadata (symbol, name, decimals) read with ``eth_call``, when the node allows it.

The getters are OPTIONAL in EIP-20, and old tokens (MKR, SAI) return ``bytes32`` instead of ``string``;
both are decoded, anything else leaves the field unknown. A node that refuses ``eth_call`` (pruned nodes,
limited providers) is asked once: after that every token's metadata stays unknown and indexing goes on —
amounts are stored in integer base units either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Protocol

from chains.errors import NodeError, RpcError
from chains.evm import params
from chains.evm import requests as rq
from chains.evm.node import unsupported
from chains.rpc import JsonRpcClient

log = logging.getLogger(__name__)

MAX_DECIMALS: Final = 77  # 10**78 > 2**256: a larger "decimals" cannot describe a uint256 amount
MAX_TEXT_CHARS: Final = 64  # longer symbols/names are spam or garbage; kept out of the registry
_WORD = 32  # bytes in an ABI word


@dataclass(frozen=True, slots=True)
class TokenInfo:
    address: str  # canonical form
    symbol: str | None = None
    name: str | None = None
    decimals: int | None = None


class MetadataReader(Protocol):
    """Reads token metadata; a field that cannot be read is None (``TokenReader``, ``TronTokenReader``)."""

    async def read(
        self, addresses: list[str], *, node_address: dict[str, str] | None = None
    ) -> list[TokenInfo]: ...


class TokenReader:
    """Reads metadata of token contracts through one client; remembers a node that refuses eth_call."""

    def __init__(self, client: JsonRpcClient) -> None:
        self._client = client
        self.eth_call_refused = False

    async def read(
        self, addresses: list[str], *, node_address: dict[str, str] | None = None
    ) -> list[TokenInfo]:
        """Metadata for each address (canonical); ``node_address`` maps one to the hex form the node takes
        (TRON's JSON-RPC wants 0x + 20 bytes)."""
        if self.eth_call_refused or not addresses:
            return [TokenInfo(a) for a in addresses]
        selectors = (params.SYMBOL_SELECTOR, params.NAME_SELECTOR, params.DECIMALS_SELECTOR)
        to = node_address or {}
        calls = [rq.eth_call(to.get(a, a), s) for a in addresses for s in selectors]
        try:
            answers = await self._client.batch(calls)
        except RpcError as exc:
            if not unsupported(exc) and exc.code != 3:  # 3: execution reverted (EIP-1474 / geth)
                return await self._one_by_one(addresses, to)
            log.info("node refuses eth_call (%s): token symbols and decimals stay unknown", exc)
            self.eth_call_refused = True
            return [TokenInfo(a) for a in addresses]
        return [
            _info(a, answers[3 * i], answers[3 * i + 1], answers[3 * i + 2]) for i, a in enumerate(addresses)
        ]

    async def _one_by_one(self, addresses: list[str], to: dict[str, str]) -> list[TokenInfo]:
        """A batch failed on one contract (a revert): ask each call alone, a failing getter is unknown."""
        out = []
        for address in addresses:
            fields: list[object] = []
            for selector in (params.SYMBOL_SELECTOR, params.NAME_SELECTOR, params.DECIMALS_SELECTOR):
                try:
                    fields.append(await self._client.call(*rq.eth_call(to.get(address, address), selector)))
                except NodeError:
                    fields.append(None)
            out.append(_info(address, *fields))
        return out


def _info(address: str, symbol: object, name: object, decimals: object) -> TokenInfo:
    return TokenInfo(address, decode_text(symbol), decode_text(name), decode_decimals(decimals))


def _bytes(answer: object) -> bytes | None:
    if not isinstance(answer, str) or not answer.startswith("0x"):
        return None
    try:
        return bytes.fromhex(answer[2:])
    except ValueError:
        return None


def decode_text(answer: object) -> str | None:
    """An ABI ``string``, or a ``bytes32`` padded with zeros (MKR-style); None when neither."""
    raw = _bytes(answer)
    if not raw:
        return None
    text: str | None = None
    if len(raw) >= 64:
        text = abi_string(raw)
    if text is None and len(raw) == 32:
        try:
            text = raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text is None:
        return None
    text = text.strip().replace("\0", "")
    return text if text and len(text) <= MAX_TEXT_CHARS and text.isprintable() else None


def abi_string(raw: bytes) -> str | None:
    """A function's one ``string`` return value as the Solidity ABI encodes it (a word holding the offset
    of a length word, then that many UTF-8 bytes, zero-padded); None when it is not one. Written out: the
    eth_abi package took ~80 ms of CPU to import, in a run that meets a token's metadata once."""
    offset = int.from_bytes(raw[:_WORD], "big")
    if offset % _WORD or offset + _WORD > len(raw):
        return None
    length = int.from_bytes(raw[offset : offset + _WORD], "big")
    start = offset + _WORD
    if start + length > len(raw):
        return None
    try:
        return raw[start : start + length].decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_decimals(answer: object) -> int | None:
    raw = _bytes(answer)
    if raw is None or len(raw) != 32:
        return None
    value = int.from_bytes(raw, "big")
    return value if value <= MAX_DECIMALS else None
