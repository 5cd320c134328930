"""Labels of the public-events panel and the time-based split."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from riskengine.features.common import event_known_from
from riskengine.models.panel import (
    PanelWindow,
    flows_known_at,
    label_flows,
    months_after,
    panel_spine,
)
from riskengine.reference.loader import ReferenceData


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
    reference: ReferenceData,
    as_of: date,
    expected: list[int],
    make_spine: Callable[..., pl.DataFrame],
) -> None:
    spine = make_spine(
        [
            ("rare_earth_concentrate", "VNM", "JPN", None, None),
            ("dysprosium_oxide", "VNM", "JPN", None, None),
        ]
    )
    labels = label_flows(spine, reference, as_of=as_of, horizon_months=12)
    assert labels.to_list() == expected


def test_destination_measures_label_only_their_target(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
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


def test_producer_flows_join_the_panel_when_their_figure_is_published(
    reference: ReferenceData,
) -> None:
    """The first production edition (2013-06-30) gives China's gallium; Korea first appears
    as a gallium refiner in USGS MCS 2019 (published 2019-02-28); China's 2008 export quota
    allocations (E102, announced in November 2007, dated to the month) made its dysprosium
    known from 2007-11-30, before any edition."""
    spine = panel_spine(reference, ("JPN",))
    assert spine["known_from"].null_count() == 0

    def known_from(material_id: str, supplier_country: str) -> list[date]:
        flow = spine.filter(
            (pl.col("material_id") == material_id)
            & (pl.col("supplier_country") == supplier_country)
        )
        return flow["known_from"].to_list()

    assert known_from("gallium_metal", "CHN") == [date(2013, 6, 30)]
    assert known_from("gallium_metal", "KOR") == [date(2019, 2, 28)]
    assert known_from("dysprosium_oxide", "CHN") == [date(2007, 11, 30)]

    def has(as_of: date, material_id: str, supplier_country: str) -> bool:
        flows = flows_known_at(spine, as_of)
        return (
            flows.filter(
                (pl.col("material_id") == material_id)
                & (pl.col("supplier_country") == supplier_country)
            ).height
            > 0
        )

    assert not has(date(2013, 6, 29), "gallium_metal", "CHN")
    assert has(date(2013, 6, 30), "gallium_metal", "CHN")
    assert not has(date(2019, 2, 27), "gallium_metal", "KOR")
    assert has(date(2019, 2, 28), "gallium_metal", "KOR")
    assert has(date(2011, 1, 1), "dysprosium_oxide", "CHN")


def test_panel_rows_change_only_on_fact_dates(reference: ReferenceData) -> None:
    """Every date a flow joins the panel is a production edition's publication or the date a
    policy event became known, so the rows never change with the calendar alone."""
    events = reference.policy_events.select(event_known_from())
    fact_dates = set(reference.production["published"].to_list()) | set(
        events.to_series().drop_nulls().to_list()
    )
    joins = set(panel_spine(reference)["known_from"].to_list())
    assert joins <= fact_dates
