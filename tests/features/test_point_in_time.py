"""Point-in-time: facts that become known after as_of never change a feature."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from riskengine.features.builders import model_feature_names, registry
from riskengine.features.runner import build_features
from riskengine.models.panel import panel_spine
from riskengine.reference.loader import ReferenceData

AS_OF_DATES = st.dates(min_value=date(2011, 1, 1), max_value=date(2026, 11, 1))
COUNTRIES = st.sampled_from(["CHN", "VNM", "MYS", "IDN", "COD", "JPN", "USA", "AUS"])
TAGS = st.sampled_from(
    ["rare_earths", "dysprosium", "gallium", "nickel_ore", "cobalt", "dual_use_items", "graphite"]
)
MEASURES = st.sampled_from(
    ["export_ban", "export_licensing", "export_quota", "export_tax", "entity_listing", "other"]
)


def _later(as_of: date, draw: st.DrawFn) -> date:
    return as_of + timedelta(days=draw(st.integers(min_value=1, max_value=3000)))


@st.composite
def future_facts(draw: st.DrawFn, reference: ReferenceData) -> tuple[date, ReferenceData]:
    """An as-of date, and the reference plus facts that only become known after it."""
    as_of = draw(AS_OF_DATES)
    events = []
    for index in range(draw(st.integers(min_value=0, max_value=4))):
        announced = _later(as_of, draw)
        effective = draw(st.one_of(st.none(), st.just(announced), st.just(_later(announced, draw))))
        events.append(
            {
                "event_id": f"FUTURE{index}",
                "country_iso3": draw(COUNTRIES),
                "measure": draw(MEASURES),
                "materials": draw(TAGS),
                "target_country_iso3": draw(st.one_of(st.none(), COUNTRIES)),
                "announced": announced,
                "effective": effective,
                "ended": None,
                "stages": draw(st.sampled_from([None, "ore_concentrate", "oxide_compound"])),
                "scope": draw(st.sampled_from(["flow", "military_end_use"])),
                "description": "generated",
                "source": "generated",
            }
        )
    policy_events = reference.policy_events
    # An end date that only passes after as_of is a future fact too.
    if draw(st.booleans()):
        policy_events = policy_events.with_columns(
            pl.when(pl.col("ended").is_null() & (pl.col("effective") <= as_of))
            .then(pl.lit(_later(as_of, draw)))
            .otherwise(pl.col("ended"))
            .alias("ended")
        )
    if events:
        policy_events = pl.concat(
            [policy_events, pl.DataFrame(events, schema=reference.policy_events.schema)]
        )
    production_rows = [
        {
            "material": draw(
                st.sampled_from(
                    [
                        "rare_earths_reo",
                        "heavy_rare_earths_separated",
                        "gallium",
                        "nickel",
                        "cobalt",
                    ]
                )
            ),
            "stage": draw(st.sampled_from(["mine", "refining"])),
            "country_iso3": draw(COUNTRIES),
            "year": as_of.year + draw(st.integers(min_value=-3, max_value=1)),
            "quantity": draw(st.floats(min_value=0, max_value=1e6)),
            "unit": "t",
            "share": None,
            "published": _later(as_of, draw),
            "source": "generated",
        }
        for _ in range(draw(st.integers(min_value=0, max_value=4)))
    ]
    listings = [
        {
            "list_name": "Generated Export Control List",
            "listing_authority_iso3": draw(COUNTRIES),
            "entity_name": draw(
                st.sampled_from(
                    [
                        "Mitsubishi Heavy Industries, Ltd.",
                        "Baotou Example Co.",
                        "Lockheed Martin Corp",
                    ]
                )
            ),
            "entity_country_iso3": draw(COUNTRIES),
            "listed_on": _later(as_of, draw),
            "reason": "generated",
            "source": "generated",
        }
        for _ in range(draw(st.integers(min_value=0, max_value=2)))
    ]
    governance = pl.DataFrame(
        [
            {
                "country_iso3": draw(COUNTRIES),
                "year": as_of.year,
                "wgi_score": -2.0,
                "published": _later(as_of, draw),
                "source": "generated",
            }
        ],
        schema=reference.governance.schema,
    )
    listed_entities = reference.listed_entities
    # A removal that only takes effect after as_of is a future fact too.
    if draw(st.booleans()):
        listed_entities = listed_entities.with_columns(
            pl.when(pl.col("removed_on").is_null() & (pl.col("listed_on") <= as_of))
            .then(pl.lit(_later(as_of, draw)))
            .otherwise(pl.col("removed_on"))
            .alias("removed_on"),
            pl.lit("generated").alias("removal_source"),
        )
    extended = dataclasses.replace(
        reference,
        policy_events=policy_events,
        production=pl.concat(
            [
                reference.production,
                pl.DataFrame(production_rows, schema=reference.production.schema),
            ]
        ),
        listed_entities=pl.concat(
            [
                listed_entities,
                pl.DataFrame(listings, schema=reference.listed_entities.schema),
            ]
        ),
        governance=pl.concat([reference.governance, governance]),
    )
    return as_of, extended


@pytest.mark.few_examples(4)
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_facts_known_after_as_of_never_change_a_feature(
    data: st.DataObject, reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    as_of, extended = data.draw(future_facts(reference))
    before = build_features(magnet_spine, reference, as_of=as_of)
    after = build_features(magnet_spine, extended, as_of=as_of)
    assert_frame_equal(before, after)


@pytest.mark.few_examples(3)
@settings(max_examples=10, deadline=None)
@given(as_of=AS_OF_DATES, seed=st.integers(min_value=0, max_value=10_000))
def test_features_do_not_depend_on_row_order(
    as_of: date, seed: int, reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    shuffled = magnet_spine.sample(fraction=1.0, shuffle=True, seed=seed)
    in_order = build_features(magnet_spine, reference, as_of=as_of)
    reordered = build_features(shuffled, reference, as_of=as_of)
    assert reordered["pair_id"].to_list() == shuffled["pair_id"].to_list()
    assert_frame_equal(in_order, reordered.sort("pair_id"))


def test_a_fact_known_on_as_of_does_change_the_features(
    reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    """The property above is not vacuous: the same event known by as_of is seen."""
    as_of = date(2020, 6, 1)
    ban = pl.DataFrame(
        [
            {
                "event_id": "NEW",
                "country_iso3": "CHN",
                "measure": "export_ban",
                "materials": "gallium",
                "target_country_iso3": None,
                "announced": as_of,
                "effective": as_of,
                "ended": None,
                "stages": None,
                "scope": "flow",
                "description": "generated",
                "source": "generated",
            }
        ],
        schema=reference.policy_events.schema,
    )
    extended = dataclasses.replace(
        reference, policy_events=pl.concat([reference.policy_events, ban])
    )
    gallium = pl.col("material_id") == "gallium_metal"
    before = build_features(magnet_spine, reference, as_of=as_of).filter(gallium)
    after = build_features(magnet_spine, extended, as_of=as_of).filter(gallium)
    assert before["export_control_severity"].item() < after["export_control_severity"].item()
    assert after["flow_ban_in_force"].item()


@pytest.mark.few_examples(3)
@settings(max_examples=6, deadline=None)
@given(as_of=AS_OF_DATES, precision=st.sampled_from(["month", "year"]))
def test_an_event_dated_only_to_its_month_or_year_is_known_from_the_period_end(
    as_of: date, precision: str, reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    """A source that says only "in March" may mean March 31st: until then the event is unseen;
    dated to the day, the same event is seen at once (so the property is not vacuous)."""
    first_day = as_of.replace(day=1) if precision == "month" else as_of.replace(month=1, day=1)
    period_end = (
        date(as_of.year, 12, 31)
        if precision == "year"
        else (first_day + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    )
    assume(as_of < period_end)

    def with_ban(date_precision: str) -> ReferenceData:
        ban = {
            "event_id": "NEW",
            "country_iso3": "CHN",
            "measure": "export_ban",
            "materials": "gallium",
            "announced": first_day,
            "effective": first_day,
            "scope": "flow",
            "date_precision": date_precision,
            "description": "generated",
            "source": "generated",
        }
        events = pl.DataFrame([ban], schema=reference.policy_events.schema)
        return dataclasses.replace(
            reference, policy_events=pl.concat([reference.policy_events, events])
        )

    spine = magnet_spine.filter(pl.col("material_id") == "gallium_metal")
    unchanged = build_features(spine, reference, as_of=as_of)
    assume(not unchanged["flow_ban_in_force"].item())
    imprecise = build_features(spine, with_ban(precision), as_of=as_of)
    to_the_day = build_features(spine, with_ban("day"), as_of=as_of)
    assert_frame_equal(unchanged, imprecise)
    assert to_the_day["flow_ban_in_force"].item()


@pytest.mark.few_examples(4)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_model_inputs_change_only_with_a_dated_fact(
    data: st.DataObject,
    reference: ReferenceData,
    magnet_spine: pl.DataFrame,
    fact_dates: list[date],
    calm_periods: Callable[[list[date]], st.SearchStrategy[tuple[date, date]]],
) -> None:
    """Between two fact dates the calendar alone never moves a model input."""
    facts = fact_dates
    d1, d2 = data.draw(calm_periods(facts), label="d1, d2")
    assert not [day for day in facts if d1 < day <= d2]
    # The magnet spine (names, null buyer country) and every flow of the shipped panel.
    flows = panel_spine(reference).drop("known_from")
    spine = pl.concat(
        [
            magnet_spine,
            flows.with_columns(pl.col("pair_id") + magnet_spine.height).select(
                magnet_spine.columns
            ),
        ]
    )
    specs = [spec for spec in registry() if spec.model_input]
    assert [spec.name for spec in specs] == list(model_feature_names())
    at_d1 = build_features(spine, reference, as_of=d1, specs=specs)
    at_d2 = build_features(spine, reference, as_of=d2, specs=specs)
    assert_frame_equal(at_d1, at_d2)


def test_the_calm_period_property_is_not_vacuous(
    reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    """Across a fact date the same comparison does see a change: gallium licensing (E003)
    takes effect on 2023-08-01."""
    specs = [spec for spec in registry() if spec.model_input]
    before = build_features(magnet_spine, reference, as_of=date(2023, 7, 31), specs=specs)
    after = build_features(magnet_spine, reference, as_of=date(2023, 8, 1), specs=specs)
    gallium = pl.col("material_id") == "gallium_metal"
    assert (
        before.filter(gallium)["export_control_severity"].item()
        < after.filter(gallium)["export_control_severity"].item()
    )
    assert not before.equals(after)


SCREENED = ("Quillmark Gallium Refining", "Tessaro Magnet Works", "Vantor Wafer Foundry")
LISTING_DATES = st.dates(min_value=date(2020, 1, 1), max_value=date(2026, 6, 1))


@st.composite
def listing_periods(draw: st.DrawFn) -> list[dict]:
    """Up to one listing per screened name, each with a start and perhaps a removal."""
    periods = []
    for name in SCREENED:
        if not draw(st.booleans()):
            continue
        listed_on = draw(LISTING_DATES)
        removed = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=1500)))
        periods.append(
            {
                "list_name": "Generated Export Control List",
                "listing_authority_iso3": "CHN",
                "entity_name": name,
                "listed_on": listed_on,
                "reason": "generated",
                "source": "generated",
                "removed_on": None if removed is None else listed_on + timedelta(days=removed),
                "removal_source": None if removed is None else "generated",
            }
        )
    return periods


def _boundaries(periods: list[dict]) -> list[date]:
    """The days around each listing's start and removal, where an off-by-one would show."""
    days = []
    for period in periods:
        for edge in (period["listed_on"], period["removed_on"]):
            if edge is not None:
                days += [edge - timedelta(days=1), edge]
    return days


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_screening_as_of_a_date_uses_only_listings_in_force_then(
    data: st.DataObject, reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """A buyer is listed exactly when its listing started by as_of and is not yet removed."""
    periods = data.draw(listing_periods())
    edges = _boundaries(periods)
    as_of = data.draw(st.one_of(LISTING_DATES, st.sampled_from(edges)) if edges else LISTING_DATES)
    listings = pl.DataFrame(periods, schema=reference.listed_entities.schema)
    generated = dataclasses.replace(reference, listed_entities=listings)
    spine = make_spine([("gallium_metal", "CHN", "USA", None, name) for name in SCREENED])
    screening = [spec for spec in registry() if spec.name == "buyer_listed"]
    features = build_features(spine, generated, as_of=as_of, specs=screening)
    by_name = {period["entity_name"]: period for period in periods}
    expected = [
        name in by_name
        and by_name[name]["listed_on"] <= as_of
        and (by_name[name]["removed_on"] is None or as_of < by_name[name]["removed_on"])
        for name in SCREENED
    ]
    assert features["buyer_listed"].to_list() == expected
