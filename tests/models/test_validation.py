"""Decision-level validation pieces: scoring dates, percentiles, intervals, calibration error."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from riskengine.models.validation import (
    bootstrap_interval,
    expected_calibration_error,
    flow_percentiles,
    held_out_decisions,
)


def test_percentiles_and_auc_count_ties_half() -> None:
    scores = np.array([0.1, 0.2, 0.2, 0.9])
    affected = np.array([False, True, False, True])
    percentiles, auc = flow_percentiles(scores, affected)
    assert list(percentiles) == pytest.approx([(1 + 1) / 4, 3.5 / 4])
    # 0.2 beats 0.1 and ties 0.2 (1.5 of 2); 0.9 beats both (2 of 2).
    assert auc == pytest.approx((0.75 + 1.0) / 2)


def test_bootstrap_interval_surrounds_the_mean() -> None:
    values = np.array([0.6, 0.7, 0.8, 0.9, 1.0])
    low, high = bootstrap_interval(values, 500, seed=0)
    assert low <= values.mean() <= high
    assert bootstrap_interval(np.array([0.5, 0.5]), 100, seed=0) == (0.5, 0.5)


def test_calibration_error_is_zero_when_predictions_match_rates() -> None:
    labels = np.array([0, 0, 0, 1] * 25)
    assert expected_calibration_error(labels, np.full(100, 0.25), bins=1) == pytest.approx(0)
    assert expected_calibration_error(labels, np.full(100, 0.75), bins=1) == pytest.approx(0.5)


def test_a_decision_is_scored_on_the_first_of_a_month_at_least_six_months_before() -> None:
    disruptions = pl.DataFrame(
        {
            "pair_id": [1, 2, 3],
            "event_id": ["E1", "E1", "E2"],
            "disrupts_on": [date(2025, 4, 4), date(2025, 4, 4), date(2023, 8, 1)],
        }
    )
    events = pl.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "country_iso3": ["CHN", "CHN"],
            "measure": ["export_licensing", "export_licensing"],
            "target_country_iso3": [None, None],
            "materials": ["dysprosium", "gallium"],
        }
    )
    decisions = held_out_decisions(disruptions, events, lead_months=6)
    assert decisions["event_id"].to_list() == ["E2", "E1"]
    assert decisions["scoring_date"].to_list() == [date(2023, 2, 1), date(2024, 10, 1)]
    assert decisions["pair_ids"].to_list() == [[3], [1, 2]]
