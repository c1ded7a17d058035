"""Stored answer parts (tracer.risk.answers): the screened address goes in, amounts beyond 64 bits stay
exact integers through the JSON, and an address that looks like the placeholder cannot be mistaken for it."""

from __future__ import annotations

import orjson

from tracer.jsonwrite import dumps
from tracer.risk.answers import SCREENED, WalletParts, plain

WEI = 123_456_789 * 10**18  # 123,456,789 ETH in wei: beyond 64 bits


def parts(exposure: object) -> WalletParts:
    return WalletParts(
        7,
        0,
        75,
        "high",
        b"[]",
        b"[]",
        dumps(exposure),
        dumps([{"explanation": f"via {SCREENED}"}]),
    )


def test_the_screened_address_is_put_in_and_big_amounts_stay_exact() -> None:
    filled = parts(
        [{"amount": WEI, "path": [{"address": SCREENED}], "txids": ["12345678901234567890ab"]}]
    ).fill("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
    answer = plain({"known": True, **filled})
    assert answer["exposure"] == [
        {
            "amount": WEI,
            "path": [{"address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}],
            "txids": ["12345678901234567890ab"],
        }
    ]
    assert answer["risk"] == {
        "score": 75, "level": "high", "reasons": [{"explanation": "via 1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}]
    }  # fmt: skip
    assert b"123456789000000000000000000" in orjson.dumps(filled)  # written as the integer, by orjson


def test_text_that_spells_the_placeholder_is_left_alone() -> None:
    lookalike = "\\u0000screened\\u0000"  # the placeholder's JSON form, as plain text in a label
    answer = plain(parts([{"label": lookalike}]).fill("x"))
    assert answer["exposure"] == [{"label": lookalike}]
