"""A local Ethereum "node" that replays recorded mainnet JSON-RPC answers over real HTTP (tests, demo).

The real client stack (``HttpTransport`` + ``JsonRpcClient`` + ``chains.evm.node.EvmNode``) talks to it as to
any node. It answers ``eth_chainId`` (0x1), ``eth_blockNumber`` (the highest recorded block),
``eth_getBlockByNumber`` (the block as recorded: full transactions, or hashes only where the recording has
only those; ``null`` for a block it does not have, as geth does), ``eth_getBlockReceipts`` and
``eth_getTransactionReceipt``. It refuses ``eth_call`` and the trace methods with -32601 "method not found",
as pruned nodes and limited providers do — so the indexer's degraded paths run on real data.

Recordings it reads (``EvmReplayStore.from_dir``):

- a16z/helios ``block.json`` + ``receipts.json.gz`` (a block with every receipt);
- ethereum-etl ``web3_response.eth_getBlockByNumber_<hex>_true.json`` and
  ``web3_response.eth_getTransactionReceipt_<hash>.json`` (JSON-RPC envelopes).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from tracer.devnode.serving import serving

log = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
METHOD_NOT_FOUND: Final = -32601  # JSON-RPC 2.0 spec
INVALID_PARAMS: Final = -32602
PARSE_ERROR: Final = -32700
MAINNET_CHAIN_ID: Final = "0x1"


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class EvmReplayStore:
    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-case tx hash
    block_receipts: bool = True  # answer eth_getBlockReceipts (False: per-transaction only)
    chain_id: str = MAINNET_CHAIN_ID  # eth_chainId's answer: TRON mainnet's for its recorded block

    @property
    def tip(self) -> int:
        return max(self.blocks, default=0)

    def add_block(self, block: dict[str, Any], receipts: Iterable[dict[str, Any]] = ()) -> None:
        self.blocks[int(block["number"], 16)] = block
        for receipt in receipts:
            self.receipts[str(receipt["transactionHash"]).lower()] = receipt

    @classmethod
    def from_dirs(cls, *directories: Path, block_receipts: bool = True) -> EvmReplayStore:
        store = cls(block_receipts=block_receipts)
        for directory in directories:
            helios = directory / "block.json"
            if helios.exists():
                with gzip.open(directory / "receipts.json.gz", "rt") as fh:
                    store.add_block(json.loads(helios.read_text()), json.load(fh))
            for path in sorted(directory.glob("web3_response.eth_getBlockByNumber_0x*_true.json")):
                store.add_block(_envelope(path))
            for path in sorted(directory.glob("web3_response.eth_getTransactionReceipt_*.json")):
                receipt = _envelope(path)
                store.receipts[str(receipt["transactionHash"]).lower()] = receipt
        return store

    def dispatch(self, method: str, params: list[Any]) -> Any:
        if method == "eth_chainId":
            return self.chain_id
        if method == "eth_blockNumber":
            return hex(self.tip)
        if method == "eth_getBlockByNumber":
            return self.blocks.get(self._height(params))
        if method == "eth_getBlockReceipts" and self.block_receipts:
            block = self.blocks.get(self._height(params))
            return None if block is None else [self._receipt(tx) for tx in block["transactions"]]
        if method == "eth_getTransactionReceipt" and params:
            return self.receipts.get(str(params[0]).lower())
        raise RpcFailure(METHOD_NOT_FOUND, f"the method {method} does not exist/is not available")

    def _height(self, params: list[Any]) -> int:
        if not params or not isinstance(params[0], str):
            raise RpcFailure(INVALID_PARAMS, "missing block number")
        if params[0] == "latest":
            return self.tip
        try:
            return int(params[0], 16)
        except ValueError as exc:
            raise RpcFailure(INVALID_PARAMS, f"invalid block number {params[0]!r}") from exc

    def _receipt(self, tx: Any) -> dict[str, Any]:
        tx_hash = str(tx if isinstance(tx, str) else tx["hash"]).lower()
        if tx_hash not in self.receipts:
            raise RpcFailure(-32000, f"receipt {tx_hash} was not recorded")
        return self.receipts[tx_hash]


def _envelope(path: Path) -> dict[str, Any]:
    result = json.loads(path.read_text())["result"]
    if not isinstance(result, dict):
        raise ValueError(f"{path}: result is not an object")
    return result


def _answer(store: EvmReplayStore, request: Any) -> dict[str, Any]:
    request_id = request.get("id") if isinstance(request, dict) else None
    try:
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            raise RpcFailure(-32600, "invalid request")
        params = request.get("params") or []
        result = store.dispatch(request["method"], params if isinstance(params, list) else [params])
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
    except RpcFailure as exc:
        return {"jsonrpc": "2.0", "id": request_id, "error": {"code": exc.code, "message": str(exc)}}


_STORE_KEY: Final = web.AppKey("evm_replay_store", EvmReplayStore)


async def _rpc(request: web.Request) -> web.Response:
    store = request.app[_STORE_KEY]
    try:
        body = json.loads(await request.read())
    except ValueError:
        error = {"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "parse error"}}
        return web.json_response(error)
    if isinstance(body, list):
        return web.json_response([_answer(store, item) for item in body])
    return web.json_response(_answer(store, body))


def make_evm_replay_app(store: EvmReplayStore) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[_STORE_KEY] = store
    app.router.add_post("/", _rpc)
    return app


@asynccontextmanager
async def serve_evm_replay(
    store: EvmReplayStore, host: str = DEFAULT_HOST, port: int = 0
) -> AsyncIterator[str]:
    """Serves ``store`` until the block exits; yields the JSON-RPC URL (``port=0``: a free port)."""
    async with serving(make_evm_replay_app(store), host, port) as (bound_host, bound_port):
        yield f"http://{bound_host}:{bound_port}/"


async def run_evm_replay_node(
    directories: Iterable[Path],
    host: str = DEFAULT_HOST,
    port: int = 8545,
    *,
    announce: Callable[[str], object] | None = None,
) -> None:
    """Loads recordings and serves them until cancelled (the CLI's ``tracer dev evm-replay-node``)."""
    store = await asyncio.to_thread(EvmReplayStore.from_dirs, *directories)
    async with serve_evm_replay(store, host, port) as url:
        if announce is not None:
            announce(url)
        log.info("EVM replay node: %d blocks (tip %d) on %s", len(store.blocks), store.tip, url)
        await asyncio.Event().wait()
