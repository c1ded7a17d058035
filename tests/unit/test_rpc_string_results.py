"""``decode_string_results`` gives exactly ``decode``'s answer or error, fast path or not."""

from __future__ import annotations

import pytest

from chains.errors import NodeProtocolError
from chains.rpc import _string_results, decode, decode_string_results

FAST = [
    b'[{"result":"00ff","error":null,"id":1},{"result":"ab","error":null,"id":22}]',
    b'[{"result":"","error":null,"id":7}]\n',
    b'[{"result":"not hex: the caller checks","error":null,"id":7}]',
    '[{"result":"\u00e9","error":null,"id":1}]'.encode(),
]
SLOW = [
    b"[]",
    b'[{"result":"00ff","error":null,"id":1},{"result":null,"error":{"code":-5,"message":"x"},"id":2}]',
    b'[{"result": "00ff", "error": null, "id": 1}]',  # other spacing
    b'[{"result":"a\\u0062","error":null,"id":1}]',  # an escape
    b'[{"result":"00ff","error":null,"id":"x"}]',  # a string id
    b'[{"result":"00ff","error":null,"id":1}',  # cut short
    b'[{"result":"00ff","error":null,"id":1}{"result":"00","error":null,"id":2}]',  # no comma
    b'[{"result":"00ff","error":null,"id":1},]',  # trailing comma
    b'[{"result":"00\tff","error":null,"id":1}]',  # a raw control character (invalid JSON)
    b'[{"result":"00ff","error":null,"id":-1}]',
    b'{"result":null,"error":{"code":-32700,"message":"Parse error"},"id":null}',
]


@pytest.mark.parametrize("body", FAST)
def test_plain_string_batches_take_the_fast_path_with_decodes_answer(body: bytes) -> None:
    assert _string_results(body) is not None
    fast = decode_string_results(body)
    assert [{**r, "result": bytes(r["result"]).decode()} for r in fast] == decode(body)


@pytest.mark.parametrize("body", SLOW)
def test_anything_else_goes_through_decode(body: bytes) -> None:
    assert _string_results(body) is None
    try:
        expected = decode(body)
    except NodeProtocolError as exc:
        with pytest.raises(NodeProtocolError, match="not JSON") as got:
            decode_string_results(body)
        assert str(got.value) == str(exc)
    else:
        assert decode_string_results(body) == expected
