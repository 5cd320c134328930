"""Bands as alert tiers: cut by coverage, raised by floors, never lowered."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from riskengine.bands import RISK_BANDS, band_rank, coverage_cutoffs, risk_band


def test_cutoffs_cover_the_target_shares() -> None:
    scores = np.arange(1000) / 1000
    cutoffs = coverage_cutoffs(scores)
    assert np.mean(scores >= cutoffs["critical"]) == 0.02
    assert np.mean(scores >= cutoffs["high"]) == 0.10
    assert np.mean(scores >= cutoffs["medium"]) == 0.30


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=30),
    st.lists(st.sampled_from(RISK_BANDS), min_size=30, max_size=30),
)
def test_the_band_is_monotone_in_the_score_and_never_below_its_floor(
    scores: list[float], floors: list[str]
) -> None:
    cutoffs = {"medium": 0.2, "high": 0.5, "critical": 0.8}
    frame = pl.DataFrame({"score": scores, "floor": floors[: len(scores)]}).sort("score")
    banded = frame.with_columns(
        band_rank(risk_band(pl.col("score"), cutoffs)).alias("plain"),
        band_rank(risk_band(pl.col("score"), cutoffs, pl.col("floor"))).alias("floored"),
    )
    assert (banded["plain"].diff().drop_nulls() >= 0).all()
    assert (banded["floored"] >= banded["plain"]).all()
    assert (banded["floored"] >= banded.select(band_rank(pl.col("floor")))["floor"]).all()
