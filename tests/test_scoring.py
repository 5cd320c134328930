"""Scoring a sourcing list in memory: the date it may describe, and one frame scored whole."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.reference.loader import ReferenceData
from riskengine.scoring import check_as_of, score_frame


def test_a_date_before_the_reference_data_is_refused_and_a_future_one_noted() -> None:
    with pytest.raises(UserInputError, match="before 2010-01-01"):
        check_as_of(date(2009, 12, 31))
    assert check_as_of(date(2010, 1, 1), today=date(2026, 3, 1)) == ()
    (note,) = check_as_of(date(2027, 1, 1), today=date(2026, 3, 1))
    assert "in the future" in note and "2026-03-01" in note


def test_a_frame_is_scored_whole_with_every_row_and_the_notes_of_score(
    trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    from riskengine.models.tracking import load_registered_model

    model = load_registered_model(trained_settings)
    # Two shares of one material summing above 1: `score` notes it, and so does the frame.
    rows = example_sourcing.head(4).with_columns(pl.Series("share", ["0.7", "1", "0.6", "0.6"]))

    output, notes = score_frame(
        rows, reference, model, as_of=date(2026, 3, 1), source="rows", buyer_country="JP"
    )

    assert output.select(rows.columns).equals(rows)
    assert output["status"].to_list() == ["scored"] * 4
    assert notes == (
        "rows: shares of NdPr oxide (buyer country JPN) sum to 1.2 (120%) over 2 row(s); a "
        "material's suppliers share at most 1 (100 %)",
    )
