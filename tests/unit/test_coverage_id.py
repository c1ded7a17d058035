"""A coverage snapshot's id is its content hash (tracer.store.coverage)."""

from __future__ import annotations

import pytest

from tracer.errors import InputError
from tracer.store.coverage import check_snapshot_id, snapshot_id


def test_a_coverage_id_is_its_content() -> None:
    """The same label sources and exposure run give the same id in any process; any change, another."""
    snapshot: dict[str, object] = {"label_sources": [{"name": "a", "labels": 1}], "exposure": None}
    reordered: dict[str, object] = {"exposure": None, "label_sources": [{"labels": 1, "name": "a"}]}
    assert snapshot_id(snapshot) == snapshot_id(reordered)
    assert snapshot_id(snapshot) != snapshot_id({**snapshot, "exposure": {"as_of": "2026-11-30T10:00:00"}})
    assert len(snapshot_id(snapshot)) == 24


def test_an_id_is_checked_at_the_edge() -> None:
    assert check_snapshot_id("0123456789abcdef01234567") == "0123456789abcdef01234567"
    for bad in ("", "0123456789ABCDEF01234567", "0123", "../../etc/passwd", "0123456789abcdef012345678"):
        with pytest.raises(InputError):
            check_snapshot_id(bad)
