"""Bitcoin blocks from an Esplora REST API (Blockstream electrs, mempool.space), as a ``BitcoinNode``.

Endpoints used (https://github.com/Blockstream/esplora/blob/master/API.md):
``GET /blocks/tip/height`` → decimal text, ``GET /block-height/:height`` → hash text (404 beyond the tip),
``GET /block/:hash`` → JSON with ``height``, ``GET /block/:hash/raw`` → the serialized block.

HTTP errors are mapped in ``chains.transport`` (the one boundary); here a 404 on a height becomes
``NodeNotSynced``. Esplora has no batching, so ``blocks`` runs a bounded number of requests at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Final

from chains.bitcoin.node import parse_off_loop
from chains.bitcoin.parse import parse_block_bytes
from chains.errors import NodeNotSynced, NodeProtocolError, RpcError
from chains.model import Block
from chains.rest_node import RestNode
from chains.transport import RestTransport

log = logging.getLogger(__name__)

HTTP_NOT_FOUND: Final = 404


class EsploraNode(RestNode[RestTransport]):
    """``EsploraNode("https://blockstream.info/api")`` or ``EsploraNode(transport=<any RestTransport>)``;
    options (concurrency, rate limit, retries, injectable ``sleep``/``rng``) as ``chains.rest_node``."""

    async def tip_height(self) -> int:
        return int(await self._text("blocks/tip/height"))

    async def block_hash(self, height: int) -> str:
        if height < 0:
            raise ValueError(f"block height must be >= 0, got {height}")
        try:
            return await self._text(f"block-height/{height}")
        except RpcError as exc:
            if exc.code == HTTP_NOT_FOUND:
                raise NodeNotSynced(f"esplora has no block at height {height}: {exc.message}") from exc
            raise

    async def block(self, ref: int | str) -> Block:
        if isinstance(ref, int):
            block_hash, height = await self.block_hash(ref), ref
        else:
            block_hash, height = ref, await self._height_of(ref)
        raw = await self._get(f"block/{block_hash}/raw")
        return await parse_off_loop(parse_block_bytes, len(raw), raw, height)

    async def blocks(self, heights: Sequence[int]) -> list[Block]:
        """Blocks at ``heights`` in that order, ``concurrency`` requests at a time."""
        return list(await asyncio.gather(*(self.block(h) for h in heights)))

    async def _height_of(self, block_hash: str) -> int:
        info = json.loads(await self._get(f"block/{block_hash}"))
        if not isinstance(info, dict) or not isinstance(info.get("height"), int):
            raise NodeProtocolError(f"esplora block/{block_hash} has no height: {info!r:.200}")
        return int(info["height"])

    async def _text(self, path: str) -> str:
        return (await self._get(path)).decode("ascii").strip()

    async def _get(self, path: str) -> bytes:
        return await self._guarded(f"esplora GET {path}", lambda: self._transport.get(path))
