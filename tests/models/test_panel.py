"""Labels of the public-events panel and the time-based split."""

from __future__ import annotations

from datetime import date

import pytest

from riskengine.models.panel import PanelWindow, label_flows, months_after
from riskengine.reference.loader import ReferenceData
from tests.conftest import make_spine


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # Vietnam's ban on unprocessed rare earths takes effect 2026-01-01 (E022).
        (date(2025, 6, 1), [1, 0]),
        (date(2024, 12, 1), [0, 0]),
        (date(2026, 1, 1), [0, 0]),
    ],
)
def test_label_is_a_measure_taking_effect_within_the_horizon(
    reference: ReferenceData, as_of: date, expected: list[int]
) -> None:
    spine = make_spine(
        [
            ("rare_earth_concentrate", "VNM", "JPN", None, None),
            ("dysprosium_oxide", "VNM", "JPN", None, None),
        ]
    )
    labels = label_flows(spine, reference, as_of=as_of, horizon_months=12)
    assert labels.to_list() == expected


def test_destination_measures_label_only_their_target(reference: ReferenceData) -> None:
    """China's 2024-12-03 ban on gallium exports to the US (E008)."""
    spine = make_spine(
        [("gallium_metal", "CHN", "USA", None, None), ("gallium_metal", "CHN", "JPN", None, None)]
    )
    labels = label_flows(spine, reference, as_of=date(2024, 6, 1), horizon_months=12)
    assert labels.to_list() == [1, 0]


def test_time_split_leaves_a_horizon_between_periods() -> None:
    from riskengine.models.training import time_split

    window = PanelWindow(start=date(2011, 1, 1), end=date(2025, 2, 1), horizon_months=12)
    split = time_split(window)
    assert split.test_end == window.end
    # A label looks 12 months ahead: it must end before the next period's first month.
    assert months_after(split.train_end, 12) <= split.calibration_start
    assert months_after(split.calibration_end, 12) <= split.test_start
