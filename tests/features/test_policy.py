"""Policy momentum and days since the last restriction."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from riskengine.features.runner import build_features
from riskengine.reference.loader import ReferenceData
from tests.conftest import make_spine


def test_new_restrictions_count_only_the_trailing_window(reference: ReferenceData) -> None:
    spine = make_spine([("gallium_metal", "CHN", "JPN", None, None)])
    as_of = date(2025, 6, 1)
    features = build_features(spine, reference, as_of=as_of).row(0, named=True)
    events = reference.policy_events.filter(
        (pl.col("country_iso3") == "CHN")
        & pl.col("measure").is_in(["export_licensing", "export_tax", "export_quota", "export_ban"])
        & (pl.col("scope") == "flow")
        & (pl.col("effective") > date(2023, 6, 1))
        & (pl.col("effective") <= as_of)
    )
    assert features["supplier_country_new_restrictions_24m"] == events.height > 0


def test_days_since_the_last_restriction_on_the_flow(reference: ReferenceData) -> None:
    spine = make_spine(
        [("gallium_metal", "CHN", "JPN", None, None), ("tin_metal", "AUS", "JPN", None, None)]
    )
    features = build_features(spine, reference, as_of=date(2023, 8, 11))
    # Gallium licensing (E003) took effect on 2023-08-01; nothing ever restricted Australian tin.
    assert features["days_since_last_restriction"].to_list() == [10, None]


def test_decayed_severity_halves_each_year(reference: ReferenceData) -> None:
    """Gallium licensing from China (E003, licensing = 1) took effect 2023-08-01."""
    spine = make_spine([("gallium_metal", "CHN", "JPN", None, None)])
    one_year_later = build_features(spine, reference, as_of=date(2024, 7, 31))
    assert one_year_later["decayed_restriction_severity"].item() == pytest.approx(0.5, rel=1e-3)


def test_measures_aimed_at_the_buyer_country(reference: ReferenceData) -> None:
    spine = make_spine([("ndpr_oxide", "AUS", "JPN", None, None)])
    before = build_features(spine, reference, as_of=date(2026, 1, 5))
    after = build_features(spine, reference, as_of=date(2026, 3, 1))
    # China's ban on dual-use exports to Japanese military end users (E017, 2026-01-06) and
    # its listings of Japanese entities (E018, E019, 2026-02-24).
    assert after["buyer_country_targeted_measures_24m"].item() == (
        before["buyer_country_targeted_measures_24m"].item() + 3
    )


def test_unprocessed_export_ban_reaches_processed_stages(reference: ReferenceData) -> None:
    spine = make_spine(
        [
            ("dysprosium_oxide", "VNM", "JPN", None, None),
            ("rare_earth_concentrate", "VNM", "JPN", None, None),
            ("dysprosium_oxide", "AUS", "JPN", None, None),
        ]
    )
    before = build_features(spine, reference, as_of=date(2025, 12, 31))
    after = build_features(spine, reference, as_of=date(2026, 1, 1))
    assert before["unprocessed_export_ban_in_force"].to_list() == [False, False, False]
    assert after["unprocessed_export_ban_in_force"].to_list() == [True, True, False]
    # The ban itself still covers only the concentrate.
    assert after["flow_ban_in_force"].to_list() == [False, True, False]


def test_flow_measure_state(reference: ReferenceData) -> None:
    spine = make_spine([("rare_earth_concentrate", "VNM", "JPN", None, None)])
    states = [
        build_features(spine, reference, as_of=day)["flow_measure_state"].item()
        for day in (date(2025, 12, 1), date(2025, 12, 20), date(2026, 1, 2))
    ]
    # Vietnam's raw-mineral licensing (E153) is in force throughout; the ban joins it in 2026.
    assert states == ["in_force", "in_force", "in_force"]
    holmium = make_spine([("holmium_oxide", "CHN", "JPN", None, None)])
    # E011 (Ho, Er, Tm, Eu, Yb licensing) was announced 2025-10-09 and suspended 2025-11-07.
    assert (
        build_features(holmium, reference, as_of=date(2025, 10, 20))["flow_measure_state"].item()
        == "announced"
    )
    assert (
        build_features(holmium, reference, as_of=date(2025, 11, 8))["flow_measure_state"].item()
        == "ended"
    )
