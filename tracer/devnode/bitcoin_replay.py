"""A local Bitcoin "node" that replays recorded mainnet data over real HTTP, for tests and the demo.

No bitcoind can run here, so the real clients (``HttpTransport`` + ``JsonRpcClient`` + ``BitcoinRpcNode``, and
``EsploraNode``) talk to this server instead. It speaks:

- Bitcoin Core JSON-RPC on ``POST /`` (single and batch requests, both the legacy dialect — errors with HTTP
  500/404/400 — and JSON-RPC 2.0 — always HTTP 200), with optional basic auth: ``getblockcount``,
  ``getbestblockhash``, ``getblockhash``, ``getblock`` (0: hex, 1: txids, 2: txs, 3: txs with prevouts,
  rendered from the raw block as Core 23+ does: ``tracer.devnode.bitcoin_views``), ``getblockheader``,
  ``getblockchaininfo``, ``getrawtransaction`` (hex or verbose, with a blockhash or through a txindex);
  errors carry Core's codes and messages.
- Options (``tracer.devnode.faults``): a share of RPC requests failing (500, 503 + Retry-After, cut-short
  bodies, dropped connections, stalls) and a scripted reorg (a stale tip branch served first).
- Esplora REST: ``/blocks/tip/height``, ``/blocks/tip/hash``, ``/block-height/:h``, ``/block/:hash``,
  ``/block/:hash/raw``, ``/block/:hash/header``.
- Bitcoin Core's REST interface, as ``bitcoind -rest`` serves it (doc/REST-interface.md):
  ``/rest/block/<hash>.bin`` (the serialized block) and ``/rest/chaininfo.json``; no credentials, and the
  same fault injection as JSON-RPC. ``rest=False`` leaves it out, as Core does by default (404).

Blocks come from ``tracer.devnode.bitcoin_store.ReplayStore``. Start it with ``serve_replay`` (tests: port 0,
read ``.port``) or ``run_replay_node`` (the CLI).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import hdrs, web

from chains.bitcoin import params
from chains.transport import basic_auth_header
from tracer.devnode.bitcoin_render import dumps
from tracer.devnode.bitcoin_store import ReplayBlock, ReplayStore
from tracer.devnode.bitcoin_views import ChainViews, NotFound
from tracer.devnode.faults import FaultPlan, Handler, ReorgPlan
from tracer.devnode.serving import serving

log = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8332  # Bitcoin Core's mainnet RPC port, so default node URLs work unchanged
HASH_RE: Final = re.compile(r"[0-9a-fA-F]{64}")

# Bitcoin Core RPC error codes (src/rpc/protocol.h) and the HTTP status Core sends with each for a single
# legacy request (src/httprpc.cpp JSONErrorReply); batches and JSON-RPC 2.0 requests always get HTTP 200.
RPC_TYPE_ERROR: Final = -3
RPC_INVALID_ADDRESS_OR_KEY: Final = -5
RPC_INVALID_PARAMETER: Final = -8
RPC_INVALID_REQUEST: Final = -32600
RPC_METHOD_NOT_FOUND: Final = -32601
RPC_PARSE_ERROR: Final = -32700
_LEGACY_HTTP_STATUS: Final = {RPC_INVALID_REQUEST: 400, RPC_METHOD_NOT_FOUND: 404}


class RpcFailure(Exception):
    """An RPC answered with a Core error object."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- JSON-RPC ----------------------------------------------------------------------------------------

_PARAM_NAMES: Final = {
    "getblockhash": ("height",),
    "getblock": ("blockhash", "verbosity"),
    "getblockheader": ("blockhash", "verbose"),
    "getrawtransaction": ("txid", "verbose", "blockhash"),
}


def _positional(method: str, params_: object) -> list[Any]:
    if params_ is None:
        return []
    if isinstance(params_, list):
        return params_
    if isinstance(params_, dict):
        return [params_.get(name) for name in _PARAM_NAMES.get(method, ())]
    raise RpcFailure(RPC_INVALID_REQUEST, "Params must be an array or object")


def _hash_arg(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise RpcFailure(RPC_TYPE_ERROR, "JSON value of type number is not of expected type string")
    if not HASH_RE.fullmatch(value):
        raise RpcFailure(
            RPC_INVALID_PARAMETER, f"{name} must be of length 64 (not {len(value)}, for '{value}')"
        )
    return value.lower()


def _lookup(store: ReplayStore, value: object) -> ReplayBlock:
    block = store.get(_hash_arg(value, "blockhash"))
    if block is None:
        raise RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
    return block


def _level(value: object, default: int) -> int:
    """A verbosity argument: a number, or true/false for 1/0 (Core accepts both)."""
    if value is None:
        return default
    if not isinstance(value, int):  # bool is an int
        raise RpcFailure(RPC_TYPE_ERROR, "JSON value is not of expected type number")
    return int(value)


def _getblock(views: ChainViews, args: list[Any]) -> str:
    store = views.store
    block = _lookup(store, args[0] if args else None)
    verbosity = _level(args[1] if len(args) > 1 else None, 1)
    if block.raw is not None:
        if verbosity <= 0:
            return json.dumps(store.raw_hex(block))
        return views.getblock(block, min(verbosity, 3))
    if block.getblock_json is not None and verbosity in (1, 2):  # a recording without every tx's hex
        if verbosity == 2:
            return block.getblock_json
        obj = json.loads(block.getblock_json)
        obj["tx"] = [tx["txid"] for tx in obj["tx"]]
        return json.dumps(obj)
    raise RpcFailure(
        RPC_INVALID_ADDRESS_OR_KEY, f"Block not found (replay node has no verbosity-{verbosity} data for it)"
    )


def _getblockhash(store: ReplayStore, args: list[Any]) -> str:
    height = args[0] if args else None
    if not isinstance(height, int) or isinstance(height, bool):
        raise RpcFailure(
            RPC_TYPE_ERROR, f"JSON value of type {type(height).__name__} is not of expected type number"
        )
    if height not in store.by_height:
        raise RpcFailure(RPC_INVALID_PARAMETER, "Block height out of range")
    return json.dumps(store.by_height[height])


def _getblockheader(views: ChainViews, args: list[Any]) -> str:
    block = _lookup(views.store, args[0] if args else None)
    if len(args) > 1 and args[1] is False:
        if block.raw is None:
            raise RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "Block not found (replay node has no raw header)")
        return json.dumps(block.raw[: params.HEADER_BYTES].hex())
    if block.raw is None:
        return json.dumps(views.store.header(block))
    return dumps(views.header(block))


def _getrawtransaction(views: ChainViews, args: list[Any]) -> str:
    txid = _hash_arg(args[0] if args else None, "parameter 1")
    verbose = _level(args[1] if len(args) > 1 else None, 0)
    block_hash = args[2] if len(args) > 2 and args[2] is not None else None
    if block_hash is not None:
        block_hash = _hash_arg(block_hash, "parameter 3")
    try:
        return views.rawtransaction(txid, verbose, block_hash)
    except NotFound as exc:
        raise RpcFailure(
            RPC_INVALID_ADDRESS_OR_KEY, f"{exc}. Use gettransaction for wallet transactions."
        ) from None


def _chaininfo(views: ChainViews) -> str:
    store = views.store
    tip = store.by_hash[store.by_height[store.tip]]
    header = views.header(tip) if tip.raw is not None else {}
    return dumps(
        {"chain": "main", "blocks": store.tip, "headers": store.tip, "bestblockhash": tip.hash,
         "difficulty": header.get("difficulty", 0), "time": header.get("time", 0),
         "mediantime": header.get("mediantime", 0), "verificationprogress": 1.0,
         "initialblockdownload": False, "chainwork": header.get("chainwork", "00" * 32),
         "size_on_disk": sum(len(b.raw or b"") for b in store.by_hash.values()), "pruned": False,
         "warnings": "replay node: recorded or generated blocks only"}
    )  # fmt: skip


def dispatch(views: ChainViews, method: object, params_: object) -> str:
    """One RPC → the JSON text of its result, or ``RpcFailure``."""
    if not isinstance(method, str):
        raise RpcFailure(RPC_INVALID_REQUEST, "Method must be a string")
    store = views.store
    args = _positional(method, params_)
    if method == "getblockcount":
        return json.dumps(store.tip)
    if method == "getbestblockhash":
        return json.dumps(store.by_height[store.tip])
    if method == "getblockchaininfo":
        return _chaininfo(views)
    if method == "getblockhash":
        return _getblockhash(store, args)
    if method == "getblock":
        return _getblock(views, args)
    if method == "getblockheader":
        return _getblockheader(views, args)
    if method == "getrawtransaction":
        return _getrawtransaction(views, args)
    raise RpcFailure(RPC_METHOD_NOT_FOUND, "Method not found")


def _reply(request: object, views: ChainViews) -> tuple[str, int]:
    """JSON text of one reply and the error code (0 on success), in the request's dialect."""
    req = request if isinstance(request, dict) else {}
    v2 = req.get("jsonrpc") == "2.0"
    rid = json.dumps(req.get("id"))
    try:
        if not isinstance(request, dict):
            raise RpcFailure(RPC_INVALID_REQUEST, "Invalid Request object")
        result, code = dispatch(views, req.get("method"), req.get("params")), 0
    except RpcFailure as exc:
        error = json.dumps({"code": exc.code, "message": exc.message})
        if v2:
            return f'{{"jsonrpc":"2.0","error":{error},"id":{rid}}}', exc.code
        return f'{{"result":null,"error":{error},"id":{rid}}}', exc.code
    if v2:
        return f'{{"jsonrpc":"2.0","result":{result},"id":{rid}}}', code
    return f'{{"result":{result},"error":null,"id":{rid}}}', code


# --- the aiohttp app ---------------------------------------------------------------------------------

STORE_KEY: Final = web.AppKey("replay_store", ReplayStore)
VIEWS_KEY: Final = web.AppKey("replay_views", ChainViews)
AUTH_KEY: Final = web.AppKey("replay_auth", str)  # the expected Authorization header, "" when open
FAULTS_KEY: Final = web.AppKey("replay_faults", FaultPlan)
REORG_KEY: Final = web.AppKey("replay_reorg", list)  # [ReorgPlan, the real blocks to switch back to]


def _store(request: web.Request) -> ReplayStore:
    return request.app[STORE_KEY]


async def _rpc(request: web.Request) -> web.StreamResponse:
    expected = request.app[AUTH_KEY]
    if expected and request.headers.get(hdrs.AUTHORIZATION) != expected:
        log.warning("replay node: RPC request with wrong credentials from %s", request.remote)
        return web.Response(status=401, headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="jsonrpc"'})
    _maybe_reorg(request.app)
    return await _answer_with_faults(request)


def _maybe_reorg(app: web.Application) -> None:
    scripted = app.get(REORG_KEY)
    if scripted and scripted[0].tick():
        app[STORE_KEY].activate(scripted[1])
        app[VIEWS_KEY].invalidate()
        log.info("replay node: scripted reorg of depth %d now active", scripted[0].depth)


async def _answer(request: web.Request) -> web.StreamResponse:
    try:
        body = json.loads(await request.read())
    except ValueError:
        text = json.dumps(
            {"result": None, "error": {"code": RPC_PARSE_ERROR, "message": "Parse error"}, "id": None}
        )
        return web.Response(status=500, text=text, content_type="application/json")
    views = request.app[VIEWS_KEY]
    if isinstance(body, list):
        replies = [_reply(item, views)[0] for item in body]
        return web.Response(text="[" + ",".join(replies) + "]", content_type="application/json")
    text, code = _reply(body, views)
    legacy = not (isinstance(body, dict) and body.get("jsonrpc") == "2.0")
    status = (_LEGACY_HTTP_STATUS.get(code, 500) if code else 200) if legacy else 200
    return web.Response(status=status, text=text, content_type="application/json")


def _esplora_block(request: web.Request) -> ReplayBlock:
    value = request.match_info["hash"]
    if not HASH_RE.fullmatch(value):
        raise web.HTTPBadRequest(text="Invalid hex string")
    block = _store(request).get(value)
    if block is None or block.raw is None:
        raise web.HTTPNotFound(text="Block not found")
    return block


async def _tip_height(request: web.Request) -> web.Response:
    return web.Response(text=str(_store(request).tip))


async def _tip_hash(request: web.Request) -> web.Response:
    store = _store(request)
    return web.Response(text=store.by_height[store.tip])


async def _block_height(request: web.Request) -> web.Response:
    try:
        height = int(request.match_info["height"])
    except ValueError:
        raise web.HTTPBadRequest(text="Invalid height") from None
    block_hash = _store(request).by_height.get(height)
    if block_hash is None:
        raise web.HTTPNotFound(text="Block not found")
    return web.Response(text=block_hash)


async def _block(request: web.Request) -> web.Response:
    block = _esplora_block(request)
    info = _store(request).header(block)
    esplora = {
        "id": info["hash"], "height": info["height"], "version": info["version"], "timestamp": info["time"],
        "tx_count": info["nTx"], "size": info["size"], "merkle_root": info["merkleroot"],
        "previousblockhash": info.get("previousblockhash"), "nonce": info["nonce"],
        "bits": int(info["bits"], 16),
    }  # fmt: skip
    return web.json_response(esplora)


async def _block_raw(request: web.Request) -> web.Response:
    block = _esplora_block(request)
    return web.Response(body=block.raw, content_type="application/octet-stream")


async def _rest_chaininfo(request: web.Request) -> web.Response:
    return web.Response(text=_chaininfo(request.app[VIEWS_KEY]), content_type="application/json")


def _with_faults(handler: Handler) -> Handler:
    """``handler`` behind the app's fault injection (JSON-RPC's and Core REST's requests)."""

    async def faulty(request: web.Request) -> web.StreamResponse:
        faults = request.app.get(FAULTS_KEY)
        kind = faults.draw() if faults is not None else None
        if faults is not None and kind is not None:
            log.info("replay node: injecting fault %s into %s", kind, request.path)
            return await faults.apply(kind, request, handler)
        return await handler(request)

    return faulty


_answer_with_faults: Final = _with_faults(_answer)


async def _block_header(request: web.Request) -> web.Response:
    block = _esplora_block(request)
    assert block.raw is not None
    return web.Response(text=block.raw[: params.HEADER_BYTES].hex())


def make_replay_app(
    store: ReplayStore,
    *,
    auth: tuple[str, str] | None = None,
    faults: FaultPlan | None = None,
    reorg: ReorgPlan | None = None,
    rest: bool = True,
) -> web.Application:
    """The replay node as an aiohttp app; ``auth=(user, password)`` guards the JSON-RPC endpoint,
    ``faults`` makes a share of RPC and Core REST requests fail, ``reorg`` serves a stale tip branch first,
    ``rest`` serves Core's REST interface."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STORE_KEY] = store
    app[VIEWS_KEY] = ChainViews(store)
    app[AUTH_KEY] = basic_auth_header(*auth) if auth else ""
    if faults is not None:
        app[FAULTS_KEY] = faults
    if reorg is not None:
        real = store.activate(store.make_stale_branch(reorg.depth))
        app[REORG_KEY] = [reorg, real]
    app.router.add_post("/", _rpc)
    app.router.add_get("/blocks/tip/height", _tip_height)
    app.router.add_get("/blocks/tip/hash", _tip_hash)
    app.router.add_get("/block-height/{height}", _block_height)
    app.router.add_get("/block/{hash}", _block)
    app.router.add_get("/block/{hash}/raw", _block_raw)
    app.router.add_get("/block/{hash}/header", _block_header)
    if rest:
        app.router.add_get("/rest/block/{hash}.bin", _with_faults(_block_raw))
        app.router.add_get("/rest/chaininfo.json", _with_faults(_rest_chaininfo))
    return app


# --- running it --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayNode:
    """A running replay server: where to point the clients."""

    host: str
    port: int
    auth: tuple[str, str] | None
    tip: int

    @property
    def rpc_url(self) -> str:
        """JSON-RPC URL, credentials as userinfo when auth is on (the form ``HttpTransport`` takes)."""
        userinfo = f"{self.auth[0]}:{self.auth[1]}@" if self.auth else ""
        return f"http://{userinfo}{self.host}:{self.port}/"

    @property
    def esplora_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@asynccontextmanager
async def serve_replay(
    store: ReplayStore,
    host: str = DEFAULT_HOST,
    port: int = 0,
    *,
    auth: tuple[str, str] | None = None,
    faults: FaultPlan | None = None,
    reorg: ReorgPlan | None = None,
    rest: bool = True,
) -> AsyncIterator[ReplayNode]:
    """Serves ``store`` until the block exits; ``port=0`` picks a free port (read it from ``.port``)."""
    app = make_replay_app(store, auth=auth, faults=faults, reorg=reorg, rest=rest)
    async with serving(app, host, port) as (bound_host, bound_port):
        yield ReplayNode(bound_host, bound_port, auth, store.tip)


async def run_replay_node(
    paths: Iterable[str | Path],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    auth: tuple[str, str] | None = None,
    heights: Mapping[str, int] | None = None,
    announce: Callable[[ReplayNode], object] | None = None,
    faults: FaultPlan | None = None,
    reorg: ReorgPlan | None = None,
    store: ReplayStore | None = None,
) -> None:
    """Loads ``paths`` (or serves ``store``) until cancelled (Ctrl-C); for the ``tracer`` CLI, which passes
    ``announce`` to tell its caller where the node listens (with ``port=0`` the OS chooses)."""
    if store is None:
        store = await asyncio.to_thread(ReplayStore.from_paths, list(paths), heights)
    async with serve_replay(store, host, port, auth=auth, faults=faults, reorg=reorg) as node:
        if announce is not None:
            announce(node)
        log.info(
            "replay node: %d blocks (tip %d), JSON-RPC on POST %s/ (basic auth %s), Esplora REST on %s",
            len(store.by_hash), node.tip, node.esplora_url, "on" if auth else "off", node.esplora_url,
        )  # fmt: skip
        await asyncio.Event().wait()
