"""chains.evm.answers: typed batch decoding gives parse exactly what plain JSON gives it, on recorded real
mainnet answers (tests/fixtures/ethereum), and falls back to plain JSON for any other shape; requests for
receipts and traces sized by the transactions they carry."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from chains.errors import NodeProtocolError
from chains.evm import answers
from chains.evm.node import BLOCK_BATCH, TXS_PER_REQUEST, blocks_per_request
from chains.evm.parse import BlockRef, parity_tx_values, parse_block, parse_parity_traces
from chains.model import Chain

ETH = Path(__file__).parents[1] / "fixtures" / "ethereum"


def _batch(*results: Any) -> bytes:
    return orjson.dumps([{"jsonrpc": "2.0", "id": n, "result": r} for n, r in enumerate(results, 1)])


def _helios() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with gzip.open(ETH / "helios" / "receipts.json.gz", "rt") as fh:
        return json.loads((ETH / "helios" / "block.json").read_text()), json.load(fh)


def test_block_and_its_202_receipts_parse_the_same_typed() -> None:
    block, receipts = _helios()
    typed_block = answers.BLOCKS(_batch(block, None))
    typed_receipts = answers.RECEIPTS(_batch(receipts))
    assert typed_block[1]["result"] is None
    assert "stateRoot" not in typed_block[0]["result"]  # decoded typed: fields parse never reads are gone
    assert "logsBloom" in typed_block[0]["result"]  # but the bloom, which a range's logs are checked against
    assert "logsBloom" not in typed_receipts[0]["result"][0]
    expected = parse_block(Chain.ETHEREUM, block, receipts)
    got = parse_block(Chain.ETHEREUM, typed_block[0]["result"], typed_receipts[0]["result"])
    assert got == expected and len(got.transfers) > 200


def test_trace_block_parses_the_same_typed() -> None:
    answer = json.loads((ETH / "etl" / "web3_response.trace_block_0xf4240.json").read_text())["result"]
    typed = answers.PARITY_TRACES(_batch(answer))[0]["result"]
    assert "gas" not in typed[0]["action"]
    ref = BlockRef(Chain.ETHEREUM, 1_000_000, 1_455_404_053)
    assert parse_parity_traces(ref, typed) == parse_parity_traces(ref, answer)
    assert parity_tx_values(typed) == parity_tx_values(answer) != {}


def test_another_shape_is_decoded_as_plain_json() -> None:
    # A node's own types (status as a number) and one error object for a whole batch.
    odd = _batch([{"transactionHash": "0x01", "status": 1, "logs": []}])
    assert answers.RECEIPTS(odd) == orjson.loads(odd)
    refused = orjson.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "no"}})
    assert answers.BLOCKS(refused) == orjson.loads(refused)


def test_not_json_is_a_protocol_error() -> None:
    with pytest.raises(NodeProtocolError, match="not JSON"):
        answers.RECEIPTS(b"<html>502 Bad Gateway</html>")


@pytest.mark.parametrize(
    ("txs_per_block", "blocks"),
    [(0, BLOCK_BATCH), (4, BLOCK_BATCH), (200, TXS_PER_REQUEST // 200), (TXS_PER_REQUEST * 3, 1)],
)
def test_receipts_requests_are_sized_by_their_transactions(txs_per_block: int, blocks: int) -> None:
    raw = [{"transactions": ["0x00"] * txs_per_block} for _ in range(BLOCK_BATCH)]
    assert blocks_per_request(raw, BLOCK_BATCH) == blocks
    assert blocks_per_request(raw, 10) == min(blocks, 10)
