"""The console's riskiest rows: the highest scores, ties in input order, whatever the chunks."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from riskengine.app.scoring import TOP_ROWS_KEPT, top_rows

scores = st.lists(st.sampled_from([0.1, 0.25, 0.5, 0.9, 1.0]), max_size=3 * TOP_ROWS_KEPT)


@given(scores)
def test_the_top_rows_are_a_stable_sort_by_score_cut_short(values: list[float]) -> None:
    frame = pl.DataFrame(
        {"risk_score": values, "row": list(range(len(values)))},
        schema={"risk_score": pl.Float64, "row": pl.Int64},
    )
    expected = frame.sort("risk_score", descending=True, maintain_order=True).head(TOP_ROWS_KEPT)
    assert top_rows(frame).equals(expected)


@given(scores, st.integers(min_value=1, max_value=7))
def test_chunk_by_chunk_gives_the_same_rows_as_the_whole(values: list[float], size: int) -> None:
    frame = pl.DataFrame(
        {"risk_score": values, "row": list(range(len(values)))},
        schema={"risk_score": pl.Float64, "row": pl.Int64},
    )
    riskiest = frame.clear()
    for start in range(0, frame.height, size):
        riskiest = top_rows(pl.concat([riskiest, frame.slice(start, size)]))
    assert riskiest.equals(top_rows(frame))
