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


@given(
    st.lists(
        st.tuples(st.sampled_from([None, 0.1, 0.5, 0.9]), st.sampled_from(["scored", "rejected"])),
        max_size=3 * TOP_ROWS_KEPT,
    ),
    st.integers(min_value=1, max_value=7),
)
def test_ranking_among_scored_rows_equals_ranking_a_filtered_copy(
    rows: list[tuple[float | None, str]], size: int
) -> None:
    """What scoring does chunk by chunk (``among``) gives the rows the filtered copy gave,
    ties, nulls and chunks that select nothing included."""
    frame = pl.DataFrame(
        {
            "risk_score": [score for score, _ in rows],
            "status": [status for _, status in rows],
            "row": list(range(len(rows))),
        },
        schema={"risk_score": pl.Float64, "status": pl.String, "row": pl.Int64},
    )
    scored = pl.col("status") == "scored"
    assert top_rows(frame, among=scored).equals(top_rows(frame.filter(scored)))
    riskiest = frame.clear()
    for start in range(0, frame.height, size):
        chunk_top = top_rows(frame.slice(start, size), among=scored)
        riskiest = top_rows(pl.concat([riskiest, chunk_top]))
    assert riskiest.equals(top_rows(frame.filter(scored)))
