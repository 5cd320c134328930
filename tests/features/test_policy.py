"""Policy: restrictions in force and to date, momentum and days since the last restriction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from riskengine.features.builders import registry
from riskengine.features.common import event_known_from
from riskengine.features.runner import build_features
from riskengine.reference.loader import ReferenceData


def test_new_restrictions_count_only_the_trailing_window(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    spine = make_spine([("gallium_metal", "CHN", "JPN", None, None)])
    as_of = date(2025, 6, 1)
    features = build_features(spine, reference, as_of=as_of).row(0, named=True)
    events = reference.policy_events.filter(
        (pl.col("country_iso3") == "CHN")
        & pl.col("measure").is_in(["export_licensing", "export_tax", "export_quota", "export_ban"])
        & (pl.col("scope") == "flow")
        & (pl.col("effective") > date(2023, 6, 1))
        & (pl.col("effective") <= as_of)
        # Only what was known by as-of: China's urea quota (E429) took effect 2025-06-01 but was
        # first reported on 2025-06-26.
        & (event_known_from() <= as_of)
    )
    assert features["supplier_country_new_restrictions_24m"] == events.height > 0


def test_days_since_the_last_restriction_on_the_flow(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    spine = make_spine(
        [("gallium_metal", "CHN", "JPN", None, None), ("tin_metal", "AUS", "JPN", None, None)]
    )
    features = build_features(spine, reference, as_of=date(2023, 8, 11))
    # Gallium licensing (E003) took effect on 2023-08-01; nothing ever restricted Australian tin.
    assert features["days_since_last_restriction"].to_list() == [10, None]


def test_decayed_severity_halves_each_year(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """Gallium licensing from China (E003, licensing = 1) took effect 2023-08-01."""
    spine = make_spine([("gallium_metal", "CHN", "JPN", None, None)])
    one_year_later = build_features(spine, reference, as_of=date(2024, 7, 31))
    assert one_year_later["decayed_restriction_severity"].item() == pytest.approx(0.5, rel=1e-3)


def test_measures_aimed_at_the_buyer_country(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    spine = make_spine([("ndpr_oxide", "AUS", "JPN", None, None)])
    before = build_features(spine, reference, as_of=date(2026, 1, 5))
    after = build_features(spine, reference, as_of=date(2026, 3, 1))
    # China's ban on dual-use exports to Japanese military end users (E017, 2026-01-06), its
    # halt of heavy rare-earth licences for Japan (E436, reported 2026-01-08) and its listings of
    # Japanese entities (E018, E019, 2026-02-24).
    assert after["buyer_country_targeted_measures_24m"].item() == (
        before["buyer_country_targeted_measures_24m"].item() + 4
    )


def test_unprocessed_export_ban_reaches_processed_stages(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
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


def test_flow_measure_state(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
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


def _event(
    event_id: str,
    country: str,
    measure: str,
    materials: str,
    *,
    effective: date | None,
    ended: date | None = None,
    announced: date | None = None,
    target: str | None = None,
    scope: str = "flow",
) -> dict[str, object]:
    return {
        "event_id": event_id,
        "country_iso3": country,
        "measure": measure,
        "materials": materials,
        "target_country_iso3": target,
        "announced": announced,
        "effective": effective,
        "ended": ended,
        "stages": None,
        "scope": scope,
        "description": "literal",
        "source": "literal",
    }


LITERAL_EVENTS = [
    # In force on 2024-06-01.
    _event("A1", "CHN", "export_licensing", "gallium", effective=date(2023, 8, 1)),
    # Took effect and ended before 2024-06-01.
    _event(
        "A2", "CHN", "export_quota", "gallium", effective=date(2012, 1, 1), ended=date(2015, 1, 1)
    ),
    # Announced, not yet in force on 2024-06-01.
    _event(
        "A3",
        "CHN",
        "export_ban",
        "gallium",
        announced=date(2024, 3, 1),
        effective=date(2024, 12, 1),
    ),
    # Ends after 2024-06-01: in force then (the runner does not yet know the end date).
    _event(
        "A4", "CHN", "export_tax", "graphite", effective=date(2020, 1, 1), ended=date(2025, 1, 1)
    ),
    # Another country, another material.
    _event("A5", "IDN", "export_ban", "nickel_ore", effective=date(2020, 1, 1)),
    # Another country, the same material.
    _event("A6", "VNM", "export_ban", "gallium", effective=date(2022, 1, 1)),
    # Not a restriction of the whole flow, or not a restriction at all.
    _event(
        "A7",
        "CHN",
        "export_licensing",
        "gallium",
        effective=date(2020, 1, 1),
        scope="technology",
    ),
    _event("A8", "CHN", "other", "gallium", effective=date(2020, 1, 1)),
    # Aimed at Japan: a ban on military end users and a listing, both in force.
    _event(
        "A9",
        "CHN",
        "export_ban",
        "dual_use_items",
        effective=date(2024, 1, 1),
        target="JPN",
        scope="military_end_use",
    ),
    _event(
        "A10",
        "CHN",
        "entity_listing",
        "dual_use_items",
        effective=date(2023, 1, 1),
        target="JPN",
        scope="listed_entities",
    ),
    # Aimed at the US: one ended, one in force.
    _event(
        "A11",
        "CHN",
        "export_ban",
        "gallium",
        effective=date(2023, 1, 1),
        ended=date(2024, 1, 1),
        target="USA",
    ),
    _event("A12", "CHN", "export_ban", "gallium", effective=date(2024, 5, 1), target="USA"),
    # Aimed at Japan but not a restriction; aimed at Japan but not yet in force.
    _event("A13", "CHN", "other", "gallium", effective=date(2020, 1, 1), target="JPN"),
    _event(
        "A14",
        "CHN",
        "export_licensing",
        "gallium",
        announced=date(2024, 5, 1),
        effective=date(2025, 1, 1),
        target="JPN",
    ),
]
IN_FORCE_FEATURES = [
    "supplier_country_measures_in_force",
    "supplier_country_restrictions_to_date",
    "material_measures_in_force",
    "buyer_country_targeted_measures_in_force",
]


def _literal_features(
    reference: ReferenceData, as_of: date, make_spine: Callable[..., pl.DataFrame]
) -> dict[str, list[int]]:
    literal = dataclasses.replace(
        reference,
        policy_events=pl.DataFrame(LITERAL_EVENTS, schema=reference.policy_events.schema),
    )
    spine = make_spine(
        [
            ("gallium_metal", "CHN", "JPN", None, None),
            ("gallium_metal", "CHN", "USA", None, None),
            ("natural_graphite", "CHN", None, None, None),
            ("nickel_ore", "IDN", "KOR", None, None),
            ("tin_metal", "AUS", "JPN", None, None),
        ]
    )
    specs = [spec for spec in registry() if spec.name in IN_FORCE_FEATURES]
    features = build_features(spine, literal, as_of=as_of, specs=specs)
    return {name: features[name].to_list() for name in IN_FORCE_FEATURES}


def test_measures_in_force_and_to_date_on_literal_events(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    assert _literal_features(reference, date(2024, 6, 1), make_spine) == {
        # CHN: A1, A4 and A12 (any destination); IDN: A5.
        "supplier_country_measures_in_force": [3, 3, 3, 1, 0],
        # CHN: also the ended A2 and A11; A3 is not yet in force.
        "supplier_country_restrictions_to_date": [5, 5, 5, 1, 0],
        # Gallium: A1, A12 and Vietnam's A6; graphite: A4; nickel ore: A5.
        "material_measures_in_force": [3, 3, 1, 1, 0],
        # JPN: A9 and A10; USA: A12 (A11 ended); a null buyer country gives 0.
        "buyer_country_targeted_measures_in_force": [2, 1, 0, 0, 2],
    }


def test_measures_in_force_follow_effective_and_end_dates(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """On 2025-02-01 A4 has ended, and A3 and A14 have taken effect."""
    assert _literal_features(reference, date(2025, 2, 1), make_spine) == {
        # CHN: A1, A3, A12 and A14 (aimed at Japan, still a flow restriction).
        "supplier_country_measures_in_force": [4, 4, 4, 1, 0],
        # CHN: A1, A2, A3, A4, A11, A12 and A14; an end never removes a measure from the count.
        "supplier_country_restrictions_to_date": [7, 7, 7, 1, 0],
        # Gallium: A1, A3, A6, A12 and A14; graphite: none once A4 has ended.
        "material_measures_in_force": [5, 5, 0, 1, 0],
        # JPN: A9, A10 and A14.
        "buyer_country_targeted_measures_in_force": [3, 1, 0, 0, 3],
    }


def test_measures_aimed_at_the_buyer_country_in_force(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """China's ban on dual-use exports to Japanese military end users (E017, 2026-01-06), its halt
    of heavy rare-earth licences for Japan (E436) and its listings of Japanese entities (E018,
    E019, 2026-02-24) stay in force: no end is recorded."""
    spine = make_spine([("ndpr_oxide", "AUS", "JPN", None, None)])
    before = build_features(spine, reference, as_of=date(2026, 1, 5))
    after = build_features(spine, reference, as_of=date(2026, 3, 1))
    assert after["buyer_country_targeted_measures_in_force"].item() == (
        before["buyer_country_targeted_measures_in_force"].item() + 4
    )


def test_builders_are_lazy_and_read_end_dates_themselves(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """Called without the runner, an end date after as-of still leaves the measure in force."""
    from riskengine.features.policy import (
        material_measures_in_force,
        supplier_country_measures_in_force,
    )

    events = pl.DataFrame(LITERAL_EVENTS, schema=reference.policy_events.schema).lazy()
    spine = make_spine([("natural_graphite", "CHN", "JPN", None, None)]).lazy()
    as_of = date(2024, 6, 1)
    supplier = supplier_country_measures_in_force(spine, events, as_of=as_of)
    material = material_measures_in_force(spine, events, as_of=as_of)
    assert isinstance(supplier, pl.LazyFrame) and isinstance(material, pl.LazyFrame)
    assert supplier.collect()["supplier_country_measures_in_force"].to_list() == [3]
    assert material.collect()["material_measures_in_force"].to_list() == [1]
