"""The taint methods on one transaction (tracer.risk.taint): hand-worked cases and conservation laws."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tracer.risk.taint import amount_of, fifo, haircut, poison

values = st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=6)


def test_poison_taints_everything_or_nothing() -> None:
    assert poison([False, True], [10, 20, None]) == [10, 20, None]
    assert poison([False, False], [10, 20]) == [0, 0]


def test_haircut_by_hand() -> None:
    # 1000 of a 4000 pool tainted: outputs of 2000 and 1500 get 500 and 375; the fee keeps the rest (125).
    assert haircut([1000, 0], [2000, 1500], [3000, 1000]) == [500, 375]
    assert haircut([1000], [2000], [3000, None]) is None  # the pool is unknown


def test_fifo_by_hand() -> None:
    # Inputs 3000 (clean) then 1000 (tainted): on the line, taint is [3000, 4000). Outputs 2000 and 1500 take
    # [0, 2000) and [2000, 3500): the second holds [3000, 3500), i.e. its own [1000, 1500).
    assert fifo([3000, 1000], [[], [(0, 1000)]], [2000, 1500]) == [[], [(1000, 1500)]]
    assert fifo([3000, None], [[], [(0, 1000)]], [2000]) is None


@given(inputs=values, outputs=values, data=st.data())
def test_fifo_never_creates_taint_and_keeps_it_all_when_outputs_cover_inputs(
    inputs: list[int], outputs: list[int], data: st.DataObject
) -> None:
    taint = [[(0, data.draw(st.integers(0, v)))] for v in inputs]
    out = fifo(inputs, taint, outputs)
    assert out is not None
    tainted_in = sum(amount_of(t) for t in taint)
    tainted_out = sum(amount_of(t) for t in out)
    assert tainted_out <= tainted_in
    if sum(outputs) >= sum(inputs):
        assert tainted_out == tainted_in
    assert all(0 <= a < b <= v for o, v in zip(out, outputs, strict=True) for a, b in o)


@given(inputs=values, outputs=values, data=st.data())
def test_haircut_never_gives_more_than_the_tainted_share(
    inputs: list[int], outputs: list[int], data: st.DataObject
) -> None:
    taint = [data.draw(st.integers(0, v)) for v in inputs]
    out = haircut(taint, outputs, inputs)
    assert out is not None
    assert all(0 <= o <= v for o, v in zip(out, outputs, strict=True) if o is not None)
    if sum(outputs) <= sum(inputs):
        assert sum(o or 0 for o in out) <= sum(taint)
