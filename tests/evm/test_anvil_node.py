"""chains.evm.node against a real EVM (anvil): every kind of value move of the scenario, read back exactly."""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chains.evm.address import from_hex
from chains.evm.compiled import load_pure
from chains.evm.node import EvmNode, TraceApi, WrongChain, _rebuild, parse_raw
from chains.evm.parse import block_rows
from chains.evm.tokens import TokenInfo, TokenReader
from chains.evm.traced import parse_traced, parse_traced_rows
from chains.model import AccountBlock, Chain, TokenEventKind, TransferKind
from chains.rpc import JsonRpcClient
from chains.transport import HttpTransport
from evm.evm_scenario import TOKEN_UNIT, expected_transfers, run_scenario, transfer
from tracer.devnode.evm_anvil import Anvil, run_anvil


@pytest.fixture
async def node(anvil_url: str) -> AsyncIterator[EvmNode]:
    async with HttpTransport(anvil_url) as transport:
        yield EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)


async def test_reads_every_value_move_of_the_scenario(anvil: Anvil, node: EvmNode) -> None:
    s = await run_scenario(anvil)
    await node.check_chain_id(1)
    blocks = await node.blocks(list(range(await node.tip_height() + 1)))
    # Receipts rebuilt from traces and logs (chains.evm.tracereceipts); the next test compares them. Every
    # block's answers go to the parser undecoded (``RawBlock.logs``): none holds a failed creation.
    # The logs came by range, each block's matching its hash and bloom: none was asked for by hash.
    assert (node.logs_by_range, node.logs_by_hash) == (True, None)
    assert (node.block_receipts, node.trace_api) == (None, TraceApi.PARITY)
    assert all(raw.logs is not None for raw in await node.raw_blocks(list(range(len(blocks)))))
    moves = {
        (t.kind.value, t.asset, t.from_address, t.to_address, t.amount) for b in blocks for t in b.transfers
    }
    assert moves == expected_transfers(s)
    assert sum(len(b.transfers) for b in blocks) == len(moves)
    txs = {tx.hash: tx for b in blocks for tx in b.txs}
    assert not txs[s.failed_tx].success and txs[s.failed_tx].value == 0
    assert not [t for b in blocks for t in b.transfers if t.tx_hash == s.failed_tx]
    creations = [tx for tx in txs.values() if tx.to_address is None]
    assert {tx.created for tx in creations} == {from_hex(s.token), from_hex(s.forwarder)}
    events = [(e.kind, e.subject, e.spender, e.amount) for b in blocks for e in b.events]
    assert events == [
        (TokenEventKind.APPROVAL, from_hex(s.alice), from_hex(s.bob), 200 * TOKEN_UNIT),
        (TokenEventKind.FREEZE, from_hex(s.bob), None, None),
    ]
    assert _chained(blocks)


async def test_the_compiled_and_pure_parsers_and_both_paths_agree_on_the_scenario(
    anvil: Anvil, node: EvmNode
) -> None:
    """The fast path (``chains.evm.traced``) and the reference path (receipts rebuilt, then parsed), each
    compiled and pure (``chains.evm.compiled``), on every block of the scenario."""
    await run_scenario(anvil)
    raws = await node.raw_blocks(list(range(await node.tip_height() + 1)))
    pure = load_pure()
    fast = [parse_traced(Chain.ETHEREUM, r.block, r.traces, r.logs or b"") for r in raws]
    assert all(b is not None for b in fast) and sum(len(b.transfers) for b in fast if b) >= 10
    assert fast == [parse_raw(Chain.ETHEREUM, _rebuild(r), from_hex) for r in raws]
    rows = [parse_traced_rows(Chain.ETHEREUM, r.block, r.traces, r.logs or b"") for r in raws]
    assert rows == [block_rows(b) for b in fast if b]  # what the indexer writes: the same fields
    codec = pure["address"].from_hex
    assert fast == [
        pure["traced"].parse_traced(Chain.ETHEREUM, r.block, r.traces, r.logs, codec) for r in raws
    ]
    rebuilt = [_rebuild(r) for r in raws]
    values = [pure["parse"].parity_tx_values(r.traces) for r in rebuilt]
    refs = [pure["parse"].block_ref(Chain.ETHEREUM, r.block, codec) for r in rebuilt]
    internal = [
        pure["parse"].parse_parity_traces(ref, r.traces) for ref, r in zip(refs, rebuilt, strict=True)
    ]
    assert fast == [
        pure["parse"].parse_block(Chain.ETHEREUM, r.block, r.receipts, i, codec=codec, values=v)
        for r, i, v in zip(rebuilt, internal, values, strict=True)
    ]


def _chained(blocks: list[AccountBlock]) -> bool:
    return all(b.prev_hash == a.hash for a, b in itertools.pairwise(blocks))


async def test_token_metadata_and_chain_id_check(anvil: Anvil, node: EvmNode) -> None:
    s = await run_scenario(anvil)
    reader = TokenReader(node.client)
    token = from_hex(s.token)
    assert await reader.read([token]) == [TokenInfo(token, "TUSD", "Tracer USD", 6)]
    # The forwarder has no ERC-20 getters: every call reverts, each field stays unknown.
    forwarder = from_hex(s.forwarder)
    assert await reader.read([forwarder]) == [TokenInfo(forwarder)]
    with pytest.raises(WrongChain, match="chain id 1"):
        await node.check_chain_id(728126428)


async def test_rebuilt_receipts_block_receipts_per_transaction_receipts_and_call_traces_agree(
    anvil: Anvil, node: EvmNode
) -> None:
    await run_scenario(anvil)
    heights = list(range(await node.tip_height() + 1))
    rebuilt = await node.blocks(heights)
    node.logs_by_range = False  # as if the node refused eth_getLogs over a range: one call a block
    assert await node.blocks(heights) == rebuilt and node.logs_by_hash
    node.logs_by_hash = False  # and refused it by block hash too: its receipts instead
    reference = await node.blocks(heights)
    assert node.block_receipts and rebuilt == reference
    node.block_receipts = False  # as if the node lacked eth_getBlockReceipts
    assert await node.blocks(heights) == reference
    node.trace_api = TraceApi.GETH  # debug_traceBlockByNumber + callTracer: the same internal transfers
    assert await node.blocks(heights) == reference
    node.trace_api = TraceApi.NONE
    without = await node.blocks(heights)
    assert [t for b in reference for t in b.transfers if t.kind is not TransferKind.INTERNAL] == [
        t for b in without for t in b.transfers
    ]


async def test_anvil_keeps_its_block_states_in_a_home_of_its_own_that_goes_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # anvil moves old block states to $HOME/.foundry/anvil/tmp; a killed anvil used to leave them behind in
    # the user's home (44 GB over a day of test and bench runs).
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    async with run_anvil() as url, Anvil.connect(url) as chain:
        sender, to = chain.accounts[:2]
        for value in range(1, 1_201):  # one block each: anvil automines
            await chain.client.call("eth_sendTransaction", [{"from": sender, "to": to, "value": hex(value)}])
        assert _persisted_states(tmp_path) > 0  # states did go to disk, in anvil's own home
    assert not _entries(tmp_path)


def _persisted_states(temp: Path) -> int:
    (home,) = temp.glob("tracer-anvil-*")
    return sum(len(_entries(d)) for d in (home / ".foundry/anvil/tmp").iterdir())


def _entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def test_a_failed_creation_keeps_the_address_its_receipt_names(anvil: Anvil, node: EvmNode) -> None:
    # Init code PUSH1 0 PUSH1 0 REVERT: mined, failed. Its receipt still names the contract address it would
    # have made; its trace does not, so the rebuilt receipts take that one from the node.
    failed = await anvil.send(anvil.accounts[0], None, data="0x60006000fd")
    receipt = await anvil.receipt(failed)
    assert receipt["status"] == "0x0" and receipt["contractAddress"]
    heights = list(range(await node.tip_height() + 1))
    rebuilt = await node.blocks(heights)
    assert node.logs_by_range
    (tx,) = [tx for b in rebuilt for tx in b.txs if tx.hash == failed]
    assert (tx.success, tx.to_address, tx.created) == (False, None, from_hex(receipt["contractAddress"]))
    node.logs_by_range = node.logs_by_hash = False
    assert await node.blocks(heights) == rebuilt


class _SwitchesBranchOnce:
    """anvil's answers, but the first trace_block batch as a node that switched branches between the
    block and trace requests would give it (traces of another block at those heights)."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner, self.switched = inner, 0

    async def send(self, payload: bytes) -> bytes:
        body = await self.inner.send(payload)
        if not self.switched and payload.startswith(b"[") and b'"trace_block"' in payload:  # a batch
            self.switched += 1
            return body.replace(b'"blockHash":"0x', b'"blockHash":"0xee')
        return body


async def test_answers_of_another_branch_are_asked_for_again(
    anvil: Anvil, anvil_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await run_scenario(anvil)
    async with HttpTransport(anvil_url) as transport:
        reference = EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)
        heights = list(range(await reference.tip_height() + 1))
        switching = _SwitchesBranchOnce(transport)
        node = EvmNode(JsonRpcClient(switching), Chain.ETHEREUM, codec=from_hex)
        assert await node.blocks(heights) == await reference.blocks(heights)
    assert switching.switched == 1
    assert "node switched branches under a batch" in caplog.text


class _DropsLogsOfRanges:
    """anvil's answers, but eth_getLogs over a range leaves out every log of the block at ``height``,
    as a node whose range answer came from another branch at that height would."""

    def __init__(self, inner: HttpTransport, height: int) -> None:
        self.inner, self.height, self.dropped = inner, height, 0

    async def send(self, payload: bytes) -> bytes:
        body = await self.inner.send(payload)
        if b'"fromBlock"' not in payload:
            return body
        reply = json.loads(body)
        for answer in reply if isinstance(reply, list) else [reply]:
            kept = [entry for entry in answer["result"] if int(entry["blockNumber"], 16) != self.height]
            self.dropped += len(answer["result"]) - len(kept)
            answer["result"] = kept
        return json.dumps(reply).encode()


async def test_a_block_whose_bloom_names_logs_the_range_lacks_is_read_by_hash(
    anvil: Anvil, anvil_url: str
) -> None:
    s = await run_scenario(anvil)
    async with HttpTransport(anvil_url) as transport:
        reference = EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)
        heights = list(range(await reference.tip_height() + 1))
        expected = await reference.blocks(heights)
        (height,) = {b.height for b in expected for tx in b.txs if tx.hash == s.txs["approve"]}
        dropping = _DropsLogsOfRanges(transport, height)
        node = EvmNode(JsonRpcClient(dropping), Chain.ETHEREUM, codec=from_hex)
        assert await node.blocks(heights) == expected
    assert dropping.dropped > 0 and (node.logs_by_range, node.logs_by_hash) == (True, True)


class _ReorgsBeforeLogs:
    """anvil's answers, but once the first trace_block batch is answered, and before the first eth_getLogs
    over a range, anvil reverts to ``snapshot`` and mines as many blocks again, each with a native transfer
    and no logs: the blocks and traces the indexer read are gone, and the heights their logs were in answer
    from the new branch, without the logs."""

    def __init__(self, inner: HttpTransport, anvil: Anvil, snapshot: str, blocks: int) -> None:
        self.inner, self.anvil, self.snapshot, self.blocks = inner, anvil, snapshot, blocks
        self.traced = asyncio.Event()
        self.reorged = False

    async def send(self, payload: bytes) -> bytes:
        if not self.reorged and b'"fromBlock"' in payload:
            await self.traced.wait()  # the traces are of the branch that goes
            self.reorged = True
            await self.anvil.call("evm_revert", self.snapshot)
            sender, to = self.anvil.accounts[5:7]
            for value in range(1, self.blocks + 1):  # automine: a block each
                await self.anvil.send(sender, to, value=value)
        body = await self.inner.send(payload)
        if b'"trace_block"' in payload:
            self.traced.set()
        return body


async def test_a_reorg_between_the_blocks_and_their_logs_reads_the_new_branch(
    anvil: Anvil, anvil_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = await run_scenario(anvil)
    fork = await anvil.height()
    snapshot = await anvil.call("evm_snapshot")
    for n in (1, 2, 3):  # blocks with logs, on the branch that goes
        await anvil.send(s.owner, s.token, data=transfer(s.alice, n * TOKEN_UNIT))
    heights = list(range(await anvil.height() + 1))
    async with HttpTransport(anvil_url) as transport:
        reorging = _ReorgsBeforeLogs(transport, anvil, snapshot, blocks=3)
        node = EvmNode(JsonRpcClient(reorging), Chain.ETHEREUM, codec=from_hex)
        blocks = await node.blocks(heights)
        assert reorging.reorged
        assert node.logs_by_hash is not False  # a block gone by a reorg is not a node refusing the method
        reference = EvmNode(JsonRpcClient(transport), Chain.ETHEREUM, codec=from_hex)
        assert blocks == await reference.blocks(heights)  # exactly the new branch's
    assert not [t for b in blocks[fork + 1 :] for t in b.transfers if t.kind is TransferKind.TOKEN]
    assert _chained(blocks)
    assert "node switched branches under a batch" in caplog.text
