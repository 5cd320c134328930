"""Policy momentum and days since the last restriction."""

from __future__ import annotations

from datetime import date

import polars as pl

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
