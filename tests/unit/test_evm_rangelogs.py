"""chains.evm.rangelogs: each block's logs out of one eth_getLogs over a range, on hand-made answers shaped
as anvil's (tests/evm/test_anvil_node.py reads whole chains this way, through a reorg too)."""

from __future__ import annotations

from typing import Any

import orjson

from chains.evm.rangelogs import EMPTY_BLOOM, NO_LOGS, has_logs, spans, split

ONE, TWO, THREE, OTHER = ("0x" + c * 64 for c in "abcd")
SOME_BLOOM = "0x" + "0" * 100 + "8" + "0" * 411  # bits set by a log


def _block(block_hash: str, bloom: str | None = EMPTY_BLOOM) -> dict[str, Any]:
    block: dict[str, Any] = {"hash": block_hash, "transactions": []}
    if bloom is not None:
        block["logsBloom"] = bloom
    return block


def _log(block_hash: str | None, index: int) -> dict[str, Any]:
    log = {"address": "0x" + "c" * 40, "topics": [], "data": "0x", "logIndex": hex(index)}
    return log if block_hash is None else {**log, "blockHash": block_hash}


def _answer(*logs: dict[str, Any]) -> bytes:
    return orjson.dumps(list(logs))


def test_each_block_takes_the_logs_that_name_its_hash_in_their_order() -> None:
    blocks = [_block(ONE, SOME_BLOOM), _block(TWO), _block(THREE, SOME_BLOOM.upper().replace("0X", "0x"))]
    answer = _answer(_log(ONE, 0), _log(ONE, 1), _log(THREE, 0), _log(THREE, 1))
    one, two, three = split(answer, blocks)
    assert one is not None and orjson.loads(one) == [_log(ONE, 0), _log(ONE, 1)]
    assert two == NO_LOGS
    assert three is not None and [log["logIndex"] for log in orjson.loads(three)] == ["0x0", "0x1"]


def test_logs_that_name_a_block_otherwise_than_the_block_does_or_apart_go_by_hash() -> None:
    spelled = THREE.upper().replace("0X", "0x")  # the same block, as another node spells it
    blocks = [_block(ONE, SOME_BLOOM), _block(THREE, SOME_BLOOM)]
    assert split(_answer(_log(ONE, 0), _log(spelled, 0)), blocks) == [
        b"[" + orjson.dumps(_log(ONE, 0)) + b"]",
        None,
    ]
    assert split(_answer(_log(ONE, 0), _log(THREE, 0), _log(ONE, 1)), blocks) == [None, None]  # not in runs


def test_a_block_whose_bloom_and_logs_disagree_is_left_to_its_hash() -> None:
    # Logs in its bloom but none naming it: its height answered from another branch (a reorg).
    # No logs in its bloom but some naming it: a node that contradicts itself.
    blocks = [_block(ONE, SOME_BLOOM), _block(TWO), _block(THREE, SOME_BLOOM)]
    assert split(_answer(_log(OTHER, 0), _log(TWO, 0), _log(THREE, 0)), blocks) == [
        None,
        None,
        b"[" + orjson.dumps(_log(THREE, 0)) + b"]",
    ]


def test_without_a_bloom_to_check_a_block_goes_by_hash() -> None:
    assert split(_answer(_log(ONE, 0)), [_block(ONE, None), _block(TWO, None)]) == [None, None]
    assert has_logs(_block(ONE, None)) is None
    assert (has_logs(_block(ONE, SOME_BLOOM)), has_logs(_block(ONE))) == (True, False)


def test_an_answer_we_cannot_place_sends_every_block_by_hash() -> None:
    blocks = [_block(ONE, SOME_BLOOM), _block(TWO)]
    assert split(_answer(_log(ONE, 0), _log(None, 1)), blocks) == [None, None]  # a log naming no block
    assert split(b'{"not": "a list"}', blocks) == [None, None]
    assert split(b"[{", blocks) == [None, None]
    assert split(b"null", blocks) == [None, NO_LOGS]  # no logs at all: the bloom of ONE disagrees


def test_ranges_are_runs_of_consecutive_heights_of_bounded_length() -> None:
    assert spans([5, 6, 7, 8, 9], 2) == [(0, 1), (2, 3), (4, 4)]
    assert spans([5, 6, 8, 9, 10, 20], 250) == [(0, 1), (2, 4), (5, 5)]
    assert spans([7], 3) == [(0, 0)]
    assert spans([], 3) == []
