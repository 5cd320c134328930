"""Decision-level validation pieces: weights, percentiles, intervals, calibration."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from riskengine.models.calibration import Calibration, PlattMap
from riskengine.models.validation import (
    bootstrap_interval,
    decision_weights,
    expected_calibration_error,
    fit_calibration,
    flow_percentiles,
    held_out_decisions,
)


def test_each_decision_weighs_the_same_however_many_rows_it_covers() -> None:
    rows = pl.DataFrame(
        {
            "label": [1, 1, 1, 1, 0, 0],
            "label_events": ["E1", "E1", "E1", "E2", None, None],
        }
    )
    weights = decision_weights(rows)
    assert weights[:3].sum() == pytest.approx(weights[3])
    assert weights[:4].sum() == pytest.approx(4.0)
    assert list(weights[4:]) == [1.0, 1.0]


def test_a_row_of_two_decisions_carries_a_share_of_each() -> None:
    rows = pl.DataFrame({"label": [1, 1], "label_events": ["E1;E2", "E2"]})
    weights = decision_weights(rows)
    # E1 has one row (share 1), E2 two rows (share 1/2 each).
    assert list(weights) == pytest.approx([1.5, 0.5])


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


def test_the_interval_contains_the_point_and_replicates_widen_it() -> None:
    raw = np.linspace(0.01, 0.5, 200)
    labels = (np.random.default_rng(0).random(200) < raw).astype(int)
    events = pl.Series([f"E{i % 7}" if label else None for i, label in enumerate(labels)])
    calibration = fit_calibration(raw, labels, events, replicates=50)
    low, high = calibration.interval(raw)
    point = calibration.point.apply(raw)
    assert np.all(low <= point) and np.all(point <= high)
    assert np.any(high - low > 0)
    restored = Calibration.from_dict(calibration.to_dict())
    assert np.allclose(restored.point.apply(raw), point)
    assert Calibration(PlattMap(1.0, 0.0)).interval(raw)[0] == pytest.approx(raw)


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
