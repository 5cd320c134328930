"""The shortage arithmetic: hand-checked cases and the monotonic facts as properties."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.impact.shortage import measure_flow, short_runs, shortage, uncovered_use

NEVER = 10**9


def _first(day: int | None) -> int:
    return NEVER if day is None else day


def test_a_90_day_ban_on_the_only_source_with_60_days_of_cover_is_short_for_30_days() -> None:
    supply = measure_flow("ban", offset=0, days=90, horizon=90)
    result = shortage(60, supply)
    assert result.first_short_day == 60
    assert date(2026, 12, 1) + timedelta(days=result.first_short_day) == date(2027, 1, 30)
    assert result.days_short == 30
    assert result.days_lost == pytest.approx(30.0)


def test_other_countries_shares_stretch_the_cover() -> None:
    # 80% from the banned country: 0.8 days of use short each day, so 60 days last 75 days.
    result = shortage(60, [0.2] * 90)
    assert result.first_short_day == 75
    assert result.days_short == 15
    assert result.days_lost == pytest.approx(15 * 0.8)


def test_cover_longer_than_the_measure_means_never_short() -> None:
    result = shortage(90, [0.0] * 90)
    assert result.first_short_day is None
    assert result.days_short == 0


def test_a_qualified_second_source_ends_the_shortage() -> None:
    result = shortage(60, [0.0] * 90, lead_time_days=70)
    assert (result.first_short_day, result.days_short) == (60, 10)


def test_the_first_short_day_loses_only_what_the_stock_left_uncovered() -> None:
    lost = uncovered_use(np.array([1.5]), np.array([[0.0, 0.0, 0.0]]))
    assert lost.tolist() == [[0.0, 0.5, 1.0]]


def test_licensing_stops_the_flow_for_the_delay_then_lets_the_approved_share_through() -> None:
    flow = measure_flow("licensing", offset=2, days=5, horizon=9, approval_rate=0.5, delay_days=3)
    assert flow.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0]


def test_a_quota_lets_its_share_through_during_the_measure_only() -> None:
    assert measure_flow("quota", offset=1, days=2, horizon=4, share=0.4).tolist() == [
        1.0,
        0.4,
        0.4,
        1.0,
    ]


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        measure_flow("embargo", offset=0, days=1, horizon=1)


supplies = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=120)
covers = st.floats(0.0, 200.0)


@given(supply=supplies, cover=covers, more=st.floats(0.0, 100.0))
def test_more_cover_never_brings_the_short_day_earlier(
    supply: list[float], cover: float, more: float
) -> None:
    less_stock, more_stock = shortage(cover, supply), shortage(cover + more, supply)
    assert _first(more_stock.first_short_day) >= _first(less_stock.first_short_day)
    assert more_stock.days_short <= less_stock.days_short


@given(
    days=st.integers(1, 200),
    longer=st.integers(0, 200),
    cover=covers,
    flowing=st.floats(0.0, 1.0),
)
def test_a_longer_ban_never_shortens_the_days_short(
    days: int, longer: int, cover: float, flowing: float
) -> None:
    horizon = days + longer

    def run(ban_days: int) -> tuple[int, int]:
        # Other countries' share keeps flowing during the ban; everything after it.
        supply = 1.0 - (1.0 - flowing) * (
            1.0 - measure_flow("ban", offset=0, days=ban_days, horizon=horizon)
        )
        result = shortage(cover, supply)
        return _first(result.first_short_day), result.days_short

    short_first, short_days = run(days)
    long_first, long_days = run(days + longer)
    assert long_days >= short_days
    assert long_first <= short_first


def test_short_runs_are_the_consecutive_short_days_both_ends_included() -> None:
    lost = uncovered_use(
        np.array([0.0]),
        np.array([[1.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.0, 1.0]]),
    )[0]
    assert short_runs(lost) == [(1, 2), (5, 6)]
    assert short_runs(np.zeros(4)) == []
