"""A local TRON "full node" that replays recorded mainnet HTTP API answers over real HTTP (tests, demo).

The real client stack (``HttpRestTransport`` + ``chains.tron.http.TronHttpNode``) talks to it as to
java-tron or TronGrid: ``POST /wallet/getnowblock``, ``/wallet/getblockbynum`` (``{}`` for a height it does
not have, as java-tron answers beyond its tip) and ``/wallet/gettransactioninfobyblocknum``. It refuses
``/wallet/triggerconstantcontract`` with java-tron's ``{"Error": ...}`` shape, as limited providers do, so
token metadata stays unknown and indexing goes on.

Recordings (``TronReplayStore.from_records``): a list of ``{"blockNumber", "block_timestamp",
"transaction", "info"}`` — a real mainnet transaction as ``getblockbynum`` lists it and its real
``gettransactioninfobyid`` answer (tests/fixtures/tron/ledger_live_blocks.json). No permissively licensed
recording of a whole mainnet block was found, so each recorded transaction is served as the only
transaction of a block at its real height and timestamp. The block's ``blockID`` and ``parentHash`` are
NOT mainnet's: they are derived here (the height in the first 8 bytes, as TRON block ids have it, then a
sha256 of a fixed label), so consecutive replayed heights chain; nothing else is made up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from tracer.devnode.serving import serving

DEFAULT_HOST: Final = "127.0.0.1"
ASSEMBLED_LABEL: Final = "tracer replay: assembled TRON block header"


def assembled_block_id(height: int) -> str:
    """The replay's id for ``height``: 8 bytes of height (java-tron BlockCapsule.BlockId) + 24 derived."""
    digest = hashlib.sha256(f"{ASSEMBLED_LABEL} {height}".encode()).hexdigest()
    return f"{height:016x}" + digest[16:]


@dataclass(slots=True)
class TronReplayStore:
    blocks: dict[int, dict[str, Any]] = field(default_factory=dict)
    infos: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def tip(self) -> int:
        return max(self.blocks, default=0)

    @classmethod
    def from_records(cls, path: Path) -> TronReplayStore:
        store = cls()
        for record in json.loads(path.read_text()):
            store.add(int(record["blockNumber"]), int(record["block_timestamp"]), record)
        return store

    def add(self, height: int, timestamp_ms: int, record: dict[str, Any]) -> None:
        block = self.blocks.setdefault(height, _header(height, timestamp_ms))
        block["transactions"].append(record["transaction"])
        self.infos.setdefault(height, []).append(record["info"])

    def answer(self, endpoint: str, body: dict[str, Any]) -> Any:
        if endpoint == "getnowblock":
            return self.blocks.get(self.tip, {})
        if endpoint == "getblockbynum":
            return self.blocks.get(_num(body), {})
        if endpoint == "gettransactioninfobyblocknum":
            return self.infos.get(_num(body), [])
        if endpoint == "triggerconstantcontract":
            return {
                "Error": "class java.lang.UnsupportedOperationException : this replay node runs no contracts"
            }
        raise web.HTTPNotFound(text=f"no such endpoint /wallet/{endpoint}")


def _header(height: int, timestamp_ms: int) -> dict[str, Any]:
    raw = {"number": height, "timestamp": timestamp_ms, "parentHash": assembled_block_id(height - 1)}
    return {"blockID": assembled_block_id(height), "block_header": {"raw_data": raw}, "transactions": []}


def _num(body: dict[str, Any]) -> int:
    num = body.get("num")
    if not isinstance(num, int) or num < 0:
        raise web.HTTPBadRequest(text=json.dumps({"Error": f"invalid num {num!r}"}))
    return num


_STORE_KEY: Final = web.AppKey("tron_replay_store", TronReplayStore)


async def _wallet(request: web.Request) -> web.Response:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError:
        return web.json_response({"Error": "class com.alibaba.fastjson.JSONException : invalid JSON"})
    if not isinstance(body, dict):
        return web.json_response({"Error": "class com.alibaba.fastjson.JSONException : not an object"})
    return web.json_response(request.app[_STORE_KEY].answer(request.match_info["endpoint"], body))


def make_tron_replay_app(store: TronReplayStore) -> web.Application:
    app = web.Application()
    app[_STORE_KEY] = store
    app.router.add_post("/wallet/{endpoint}", _wallet)
    return app


@asynccontextmanager
async def serve_tron_replay(
    store: TronReplayStore, host: str = DEFAULT_HOST, port: int = 0
) -> AsyncIterator[str]:
    """Serves ``store`` until the block exits; yields the base URL (``port=0``: a free port)."""
    async with serving(make_tron_replay_app(store), host, port) as (bound_host, bound_port):
        yield f"http://{bound_host}:{bound_port}"
