"""tracer.jsonwrite: orjson's JSON, and exact integers beyond 64 bits anywhere in an answer."""

from __future__ import annotations

import json
from dataclasses import dataclass

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tracer.jsonwrite import dumps


@dataclass(frozen=True)
class Row:
    asset: str
    amount: int | None


def test_small_answers_are_orjson_byte_for_byte() -> None:
    value = {"a": [1, -(2**63), 2**64 - 1, "x", None, True, 1.5]}
    assert dumps(value) == orjson.dumps(value)


def test_integers_beyond_64_bits_are_written_exactly_wherever_they_are() -> None:
    value = {
        "amount": 2**255 + 7,
        "rows": [Row("native", -(2**70)), (2**64, 1)],
        "fragment": orjson.Fragment(b'{"kept":123456789012345678901234567890}'),
        "note": "\x00deadbeef:123",
        "flag": False,
    }
    written = json.loads(dumps(value))
    assert written == {
        "amount": 2**255 + 7,
        "rows": [{"asset": "native", "amount": -(2**70)}, [2**64, 1]],
        "fragment": {"kept": 123456789012345678901234567890},
        "note": "\x00deadbeef:123",
        "flag": False,
    }


def test_keys_that_are_not_strings_keep_working_with_the_option() -> None:
    assert json.loads(dumps({1: 2**80}, orjson.OPT_NON_STR_KEYS)) == {"1": 2**80}


@given(st.recursive(st.integers() | st.text() | st.none(), lambda inner: st.lists(inner, max_size=4)))
def test_any_nesting_reads_back_as_it_was(value: object) -> None:
    assert json.loads(dumps(value)) == value
