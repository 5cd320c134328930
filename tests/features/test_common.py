"""Pieces the feature families share."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.features.common import distinct_rows


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.none() | st.sampled_from(["a", "b", ""]),
            st.none() | st.sampled_from([0.0, -0.0, 0.5, -1.0, float("nan")]),
            st.none() | st.booleans(),
        ),
        max_size=30,
    )
)
def test_distinct_rows_gives_each_row_its_combination_in_first_seen_order(
    rows: list[tuple[str | None, float | None, bool | None]],
) -> None:
    frame = pl.DataFrame(
        rows,
        schema={"text": pl.String, "number": pl.Float64, "flag": pl.Boolean},
        orient="row",
    ).with_row_index("pair_id")
    keys = ["text", "number", "flag"]
    distinct, group_of_row = distinct_rows(frame, keys)
    assert distinct.equals(frame.select(keys).unique(maintain_order=True))
    assert distinct[group_of_row].equals(frame.select(keys))
    assert group_of_row.dtype == pl.UInt32 and group_of_row.len() == frame.height
