"""The learnt hazard: decision weights and the calibration with its interval."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from riskengine.models.calibration import Calibration, PlattMap
from riskengine.models.hazard import decision_weights, fit_calibration, fit_platt


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


def test_the_platt_map_is_the_logistic_fit_on_every_row() -> None:
    """Fitting on distinct (score, label) pairs with summed weights is the same optimum as
    fitting every row."""
    from sklearn.linear_model import LogisticRegression

    generator = np.random.default_rng(1)
    raw = generator.uniform(0.01, 0.6, 40)[generator.integers(0, 40, 5_000)]
    labels = (generator.uniform(size=raw.size) < raw / 2).astype(np.int64)
    weights = generator.integers(1, 4, raw.size).astype(float)
    logit = np.log(raw / (1 - raw)).reshape(-1, 1)
    for row_weights in (None, weights):
        every_row = LogisticRegression(C=1e6, max_iter=1000).fit(
            logit, labels, sample_weight=row_weights
        )
        platt = fit_platt(raw, labels, row_weights)
        assert platt.slope == pytest.approx(every_row.coef_[0, 0], rel=1e-5)
        assert platt.intercept == pytest.approx(every_row.intercept_[0], rel=1e-5)
