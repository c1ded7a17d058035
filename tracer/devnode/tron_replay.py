"""A local TRON "full node" that replays recorded mainnet HTTP API answers over real HTTP (tests, demo).

The real client stack (``HttpRestTransport`` + ``chains.tron.http.TronHttpNode``) talks to it as to
java-tron or TronGrid: ``POST /wallet/getnowblock``, ``/wallet/getblockbynum`` (``{}`` for a height it does
not have, as java-tron answers beyond its tip), ``/wallet/gettransactioninfobyblocknum`` and
``/wallet/getassetissuebyid`` (TRC-10 issue records it was given, ``{}`` for others). It refuses
``/wallet/triggerconstantcontract`` with java-tron's ``{"Error": ...}`` shape, as limited providers do, so
token metadata stays unknown and indexing goes on.

Recordings (``TronReplayStore.from_records``): a list of ``{"blockNumber", "block_timestamp",
"transaction", "info"}`` — a real mainnet transaction as ``getblockbynum`` lists it and its real
``gettransactioninfobyid`` answer (tests/fixtures/tron/ledger_live_blocks.json). Their blocks were not
recorded, so each recorded transaction is served as the only
transaction of a block at its real height and timestamp. The block's ``blockID`` and ``parentHash`` are
NOT mainnet's: they are derived here (the height in the first 8 bytes, as TRON block ids have it, then a
sha256 of a fixed label and the branch), so consecutive replayed heights chain. With ``gap_blocks``, the
heights between recorded ones are empty assembled blocks (timestamps 3 s apart); ``reorg`` scripts a
chain reorganisation. Nothing else is made up.

Whole blocks (``add_whole_block``) are served as given, with their own ids: the real mainnet block
50,000,011 rebuilt from graphsense-lib's recorded rows (``tracer.devnode.tron_rows``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from tracer.devnode.serving import serving
from tracer.devnode.tron_rows import http_answers, load_rows

DEFAULT_HOST: Final = "127.0.0.1"
ASSEMBLED_LABEL: Final = "tracer replay: assembled TRON block header"
BLOCK_INTERVAL_MS: Final = 3_000  # TRON makes a block every 3 s (DPoS slots): the gap blocks' timestamps


def assembled_block_id(height: int, branch: str = "") -> str:
    """The replay's id for ``height`` on ``branch`` ("" the first one): 8 bytes of height (java-tron
    BlockCapsule.BlockId) + 24 derived."""
    label = f"{ASSEMBLED_LABEL} {height}" + (f" {branch}" if branch else "")
    return f"{height:016x}" + hashlib.sha256(label.encode()).hexdigest()[16:]


@dataclass(slots=True)
class TronReplayStore:
    """Recorded transactions by height. ``gap_blocks``: heights between two recorded ones are served as
    empty assembled blocks, so a range indexes without holes. ``reorg`` switches heights from one on to
    another branch: new block ids, and the transactions it leaves out gone from those blocks."""

    txs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    infos: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    times: dict[int, int] = field(default_factory=dict)  # height -> block timestamp (ms), as recorded
    assets: dict[str, dict[str, Any]] = field(default_factory=dict)  # TRC-10 id -> getassetissuebyid answer
    gap_blocks: bool = False
    forks: list[tuple[int, str]] = field(default_factory=list)  # (first height, branch), oldest first
    extended_to: int = 0  # a branch's empty blocks above the recorded ones (``reorg(tip=...)``)
    whole: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = field(default_factory=dict)

    @property
    def tip(self) -> int:
        return max(max(self.times, default=0), max(self.whole, default=0), self.extended_to)

    @classmethod
    def from_graphsense(cls, path: Path) -> TronReplayStore:
        """The block of graphsense-lib's recorded rows (tests/fixtures/tron/graphsense/), whole."""
        store = cls()
        store.add_whole_block(*http_answers(load_rows(path)))
        return store

    def add_whole_block(self, block: dict[str, Any], infos: list[dict[str, Any]]) -> None:
        """A ``getblockbynum`` answer and its ``gettransactioninfobyblocknum``, served as they are."""
        self.whole[int(block["block_header"]["raw_data"]["number"])] = (block, infos)

    @classmethod
    def from_records(cls, path: Path, *, gap_blocks: bool = False) -> TronReplayStore:
        store = cls(gap_blocks=gap_blocks)
        for record in json.loads(path.read_text()):
            store.add(int(record["blockNumber"]), int(record["block_timestamp"]), record)
        return store

    def add(self, height: int, timestamp_ms: int, record: dict[str, Any]) -> None:
        self.times[height] = timestamp_ms
        self.txs.setdefault(height, []).append(record["transaction"])
        self.infos.setdefault(height, []).append(record["info"])

    def reorg(
        self, from_height: int, branch: str, *, drop: Collection[str] = (), tip: int | None = None
    ) -> None:
        """From ``from_height`` on, serve ``branch``: every block id changes, the transactions whose txID is
        in ``drop`` are not in the new branch (their infos neither), and with ``tip`` the branch goes on to
        that height with empty blocks (a longer chain, as a node switches to)."""
        self.forks.append((from_height, branch))
        if tip is not None:
            self.gap_blocks, self.extended_to = True, tip
        for height in [h for h in self.txs if h >= from_height]:
            kept = [(tx, info) for tx, info in zip(self.txs[height], self.infos[height], strict=True)
                    if tx["txID"] not in drop]  # fmt: skip
            self.txs[height] = [tx for tx, _ in kept]
            self.infos[height] = [info for _, info in kept]

    def block(self, height: int) -> dict[str, Any]:
        """The block at ``height`` as getblockbynum answers (``{}``: none)."""
        if height in self.whole:
            return self.whole[height][0]
        timestamp = self._timestamp(height)
        if timestamp is None:
            return {}
        raw = {"number": height, "timestamp": timestamp, "parentHash": self.block_id(height - 1)}
        block: dict[str, Any] = {"blockID": self.block_id(height), "block_header": {"raw_data": raw}}
        if self.txs.get(height):
            block["transactions"] = list(self.txs[height])
        return block

    def block_id(self, height: int) -> str:
        if height in self.whole:
            return str(self.whole[height][0]["blockID"])
        branch = next((name for first, name in reversed(self.forks) if height >= first), "")
        return assembled_block_id(height, branch)

    def _timestamp(self, height: int) -> int | None:
        if height in self.times:
            return self.times[height]
        below = [h for h in self.times if h < height]
        if not self.gap_blocks or not below or height > self.tip:
            return None
        return self.times[max(below)] + BLOCK_INTERVAL_MS * (height - max(below))

    def answer(self, endpoint: str, body: dict[str, Any]) -> Any:
        if endpoint == "getnowblock":
            return self.block(self.tip)
        if endpoint == "getblockbynum":
            return self.block(_num(body))
        if endpoint == "gettransactioninfobyblocknum":
            height = _num(body)
            return self.whole[height][1] if height in self.whole else self.infos.get(height, [])
        if endpoint == "getassetissuebyid":
            return self.assets.get(str(body.get("value")), {})  # java-tron: {} for an id it does not have
        if endpoint == "triggerconstantcontract":
            return {
                "Error": "class java.lang.UnsupportedOperationException : this replay node runs no contracts"
            }
        raise web.HTTPNotFound(text=f"no such endpoint /wallet/{endpoint}")


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
