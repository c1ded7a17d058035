"""anvil for the EVM tests: a fresh node per test on a free loopback port, killed afterwards.

anvil is installed by scripts/bootstrap (npm ``@foundry-rs/anvil-linux-amd64``, pinned) into .tools/.
It runs with chain id 1 so the indexer's mainnet chain-id check passes, as against a mainnet node.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tracer.devnode.evm_anvil import Anvil, run_anvil


@pytest.fixture
async def anvil_url() -> AsyncIterator[str]:
    async with run_anvil(chain_id=1) as url:
        yield url


@pytest.fixture
async def anvil(anvil_url: str) -> AsyncIterator[Anvil]:
    async with Anvil.connect(anvil_url) as chain:
        yield chain
