"""Text COPY fields: a hash that is not plain hex never reaches the COPY stream (a tab or newline in it
would shift fields or start a row)."""

from __future__ import annotations

import pytest

from tracer.store.textcopy import hex_field, hex_fields


def test_hex_digest_becomes_bytea_text_input() -> None:
    assert hex_field("0xAb12") == "\\\\xAb12"
    assert hex_field("ab12") == "\\\\xab12"


@pytest.mark.parametrize("bad", ["0xab\n12", "ab\t12", "ab 12", "zz", "abc", "0x12\\"])
def test_anything_but_hex_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        hex_field(bad)


def test_many_digests_at_once_give_the_same_fields() -> None:
    texts = ["0xAb12", "ab12", "0x" + "f" * 64]
    assert hex_fields(texts) == {t: hex_field(t) for t in texts}
    assert hex_fields([]) == {}


@pytest.mark.parametrize("bad", ["0xab\n12", "ab\t12", "ab 12", "zz", "abc", "0x12\\", "a", "12 "])
def test_one_bad_digest_among_many_is_refused(bad: str) -> None:
    """Checked joined: an odd-length text next to another, or whitespace that fromhex skips, still fails."""
    with pytest.raises(ValueError):
        hex_fields(["0x12", bad, "bc"])
