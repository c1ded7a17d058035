"""The import guard alone: which replacements are refused, and why."""

from __future__ import annotations

from collections import Counter

import pytest

from tracer.errors import ImportRefused
from tracer.labels.guard import StoredSourceInfo, check_import

XBT = StoredSourceInfo("ofac-xbt", "/data/ofac/sanctioned_addresses_XBT.txt", "ab" * 32, 435)


def check(count: int, *, origin: str = XBT.origin, replace: str | None = None) -> None:
    check_import(
        name="ofac-xbt",
        origin=origin,
        count=count,
        skipped=Counter({"invalid address": 3}) if count == 0 else Counter(),
        same_name=XBT,
        replace=replace,
        replaced=XBT if replace == "ofac-xbt" else None,
    )


def test_same_file_reimport_of_similar_size_is_allowed() -> None:
    check(430)
    check(218)  # just above half


def test_empty_is_refused_even_when_asked() -> None:
    with pytest.raises(ImportRefused, match=r"yields no labels \(3 invalid address\)"):
        check(0, replace="ofac-xbt")


def test_far_fewer_is_refused_unless_the_source_is_named() -> None:
    with pytest.raises(ImportRefused, match="far fewer than the 435"):
        check(217)
    check(217, replace="ofac-xbt")


def test_another_file_under_the_same_name_is_refused_unless_named() -> None:
    with pytest.raises(ImportRefused, match="already exists from /data/ofac"):
        check(435, origin="/tmp/sanctioned_addresses_XBT.txt")
    check(435, origin="/tmp/sanctioned_addresses_XBT.txt", replace="ofac-xbt")


def test_replacing_a_source_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ImportRefused, match="no label source 'gone'"):
        check(435, replace="gone")


def test_a_new_source_needs_only_labels() -> None:
    check_import(
        name="new", origin="/x.csv", count=1, skipped=Counter(), same_name=None, replace=None, replaced=None
    )
