"""anvil (Foundry's local EVM node) as a subprocess, and a small driver that makes real transactions on it.

Used by the EVM integration tests and ``bench/evm_ingest.py``. anvil comes from npm
(``@foundry-rs/anvil-linux-amd64``), installed into ``.tools/`` by ``scripts/bootstrap``. Its dev accounts
are unlocked, so ``eth_sendTransaction`` needs no signing; other senders (fresh deposit addresses) are
impersonated with ``anvil_impersonateAccount``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from chains.errors import NodeError
from chains.evm.parse import hex_int
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport
from tracer.devnode.serving import free_port

ROOT: Final = Path(__file__).resolve().parents[2]
ANVIL_BIN: Final = ROOT / ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
CONTRACTS: Final = ROOT / "tests/evm/contracts/TracerTestToken.json"
STARTUP_TIMEOUT_S: Final = 30.0


class AnvilMissing(RuntimeError):
    pass


@contextlib.asynccontextmanager
async def run_anvil(*, chain_id: int = 1, extra: Sequence[str] = ()) -> AsyncIterator[str]:
    """Starts anvil on a free loopback port, yields its URL, kills it on exit."""
    async with start_anvil(chain_id=chain_id, extra=extra) as (url, _):
        yield url


@contextlib.asynccontextmanager
async def start_anvil(*, chain_id: int = 1, extra: Sequence[str] = ()) -> AsyncIterator[tuple[str, int]]:
    """As ``run_anvil``, yielding its URL and process id (a bench reads its CPU time)."""
    if not ANVIL_BIN.exists():
        raise AnvilMissing(f"{ANVIL_BIN} is missing: run scripts/bootstrap")
    port = free_port()
    args = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id), *extra]
    # anvil moves old block states to disk under $HOME/.foundry/anvil/tmp and removes them only when it exits
    # cleanly; a killed anvil leaves them (hundreds of MB a run). Its own HOME, removed here, keeps none.
    with tempfile.TemporaryDirectory(prefix="tracer-anvil-") as home:
        proc = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "HOME": home},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            await _wait_ready(url, proc)
            yield url, proc.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def _wait_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    async with HttpTransport(url, timeout=2) as transport:
        client = JsonRpcClient(transport, retries=0)
        for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
            if proc.returncode is not None:
                raise RuntimeError(f"anvil exited with {proc.returncode}")
            try:
                await client.call("eth_chainId")
                return
            except NodeError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"anvil did not answer on {url} within {STARTUP_TIMEOUT_S} s")


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def calldata(signature: str, types: Sequence[str], args: Sequence[Any]) -> str:
    return "0x" + (selector(signature) + abi_encode(list(types), list(args))).hex()


@dataclass(slots=True)
class Anvil:
    """Drives a running anvil through JSON-RPC: ``async with Anvil.connect(url) as chain: ...``."""

    client: JsonRpcClient
    accounts: list[str]

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str) -> AsyncIterator[Anvil]:
        async with HttpTransport(url) as transport:
            client = JsonRpcClient(transport, retries=0)
            yield cls(client, [str(a) for a in await client.call("eth_accounts")])

    async def send(self, sender: str, to: str | None, *, value: int = 0, data: str = "0x") -> str:
        """Sends a transaction and waits until it is mined (automine); returns its hash."""
        tx: dict[str, object] = {"from": sender, "value": hex(value), "data": data, "gas": hex(3_000_000)}
        if to is not None:
            tx["to"] = to
        tx_hash = str(await self.client.call("eth_sendTransaction", [tx]))
        await self.receipt(tx_hash)
        return tx_hash

    async def send_many(self, txs: Sequence[dict[str, object]]) -> list[str]:
        """Many transactions in batched requests (for building long chains quickly)."""
        calls = [("eth_sendTransaction", [{"gas": hex(300_000), **tx}]) for tx in txs]
        return [str(h) for h in await self.client.batch(calls, max_batch=500)]

    async def receipt(self, tx_hash: str) -> dict[str, Any]:
        for _ in range(200):  # automine seals the block just after answering eth_sendTransaction
            answer = await self.client.call("eth_getTransactionReceipt", [tx_hash])
            if isinstance(answer, dict):
                return answer
            await asyncio.sleep(0.01)
        raise RuntimeError(f"no receipt for {tx_hash}")

    async def deploy(self, sender: str, contract: str, types: Sequence[str], args: Sequence[Any]) -> str:
        """Deploys ``contract`` from the committed compiler output; returns its address."""
        compiled = json.loads(CONTRACTS.read_text())["contracts"][contract]
        data = compiled["bytecode"] + abi_encode(list(types), list(args)).hex()
        receipt = await self.receipt(await self.send(sender, None, data=data))
        return str(receipt["contractAddress"])

    async def call(self, method: str, *params: object) -> Any:
        return await self.client.call(method, list(params))

    async def height(self) -> int:
        return hex_int(await self.call("eth_blockNumber"))

    async def mine(self, blocks: int = 1) -> None:
        await self.call("anvil_mine", hex(blocks))

    async def fund_and_impersonate(self, address: str, wei: int = 10**18) -> None:
        await self.call("anvil_setBalance", address, hex(wei))
        await self.call("anvil_impersonateAccount", address)
