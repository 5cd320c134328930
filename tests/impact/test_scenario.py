"""Scenario files: the contract, the catalog tree, the injected events and the library."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from riskengine.errors import UserInputError
from riskengine.impact.scenario import (
    library_names,
    library_text,
    moved,
    parse_scenario,
    resolve_coverage,
    retargeted,
    scenario_reference,
)
from riskengine.reference.contracts import POLICY_EVENTS
from riskengine.reference.loader import ReferenceData

ISSUE_EXAMPLE = """
[[measure]]
country = "CN"                      # exporting country, any spelling the CLI accepts
materials = ["dysprosium oxide"]    # catalog names or commodities
targets = ["JP"]                    # omitted = all destinations
kind = "ban"                        # ban | licensing | quota
start = 2026-12-01
days = 90
"""


def _measure(**keys: object) -> str:
    base: dict[str, object] = {
        "country": '"China"',
        "materials": '["Dy2O3"]',
        "kind": '"ban"',
        "start": "2026-12-01",
        "days": "90",
    }
    base.update(keys)
    return "[[measure]]\n" + "\n".join(
        f"{key} = {value}" for key, value in base.items() if value is not None
    )


def test_the_issue_example_reads_with_its_countries_and_dates() -> None:
    scenario = parse_scenario(ISSUE_EXAMPLE, origin="example.toml", name="example")
    (measure,) = scenario.measures
    assert (measure.country_iso3, measure.targets, measure.kind) == ("CHN", ("JPN",), "ban")
    assert (scenario.start, scenario.end) == (date(2026, 12, 1), date(2027, 3, 1))
    assert [(entry.tag, entry.stages) for entry in measure.coverage] == [
        ("dysprosium", ("oxide_compound",))
    ]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("heavy rare earths", "heavy_rare_earths"),
        ("rare_earths", "rare_earths"),
        ("Dual-use items", "dual_use_items"),
    ],
)
def test_commodities_and_policy_tags_resolve_by_their_ids_in_words(text: str, tag: str) -> None:
    assert resolve_coverage(text).tag == tag
    assert resolve_coverage(text).stages == ()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"kind": '"embargo"'}, "measure 1: kind 'embargo' is not one of ban, quota, licensing"),
        ({"days": None}, "measure 1: missing key\\(s\\) days"),
        ({"days": "0"}, "measure 1: days must be a whole number of at least 1"),
        ({"country": '"Korea"'}, "measure 1: .*Korea"),
        ({"materials": '["unobtainium"]'}, "measure 1: materials: unknown material 'unobtainium'"),
        ({"kind": '"licensing"'}, "measure 1: licensing needs approval_rate"),
        ({"kind": '"quota"', "share": "1.5"}, "measure 1: share must be a number from 0 to 1"),
        ({"duration": "3"}, "measure 1: unknown key\\(s\\) duration"),
        ({"stages": '["powder"]'}, "measure 1: unknown stage\\(s\\) powder"),
        ({"start": '"1st December"'}, "measure 1: start '1st December' is not a date"),
    ],
)
def test_a_bad_measure_is_refused_naming_the_file_measure_and_key(
    keys: dict[str, object], message: str
) -> None:
    with pytest.raises(UserInputError, match=f"s.toml: {message}"):
        parse_scenario(_measure(**keys), origin="s.toml", name="s")


def test_invalid_toml_and_no_measure_are_refused() -> None:
    with pytest.raises(UserInputError, match=r"s\.toml: not valid TOML"):
        parse_scenario("[[measure]\n", origin="s.toml", name="s")
    with pytest.raises(UserInputError, match=r"s\.toml: no \[\[measure\]\] table"):
        parse_scenario('name = "x"\n', origin="s.toml", name="s")


def test_retargeting_and_moving_keep_the_measures_apart() -> None:
    text = _measure() + "\n" + _measure(start="2026-12-11", days="10")
    scenario = moved(
        retargeted(parse_scenario(text, origin="s", name="s"), "USA"), date(2027, 1, 1)
    )
    assert [measure.targets for measure in scenario.measures] == [("USA",), ("USA",)]
    assert [measure.start for measure in scenario.measures] == [date(2027, 1, 1), date(2027, 1, 11)]


def test_the_injected_events_keep_the_reference_contract_and_replace_what_they_restate(
    reference: ReferenceData,
) -> None:
    text = _measure(targets='["JP", "KR"]', based_on='["E010"]', materials='["Dy2O3", "terbium"]')
    scenario = parse_scenario(text, origin="s.toml", name="s")
    before = scenario_reference(reference, scenario, applied=False)
    after = scenario_reference(reference, scenario, applied=True)
    assert "E010" not in before.policy_events["event_id"].to_list()
    added = after.policy_events.filter(pl.col("event_id").str.starts_with("s#"))
    assert added.height == 4  # two material entries times two targets
    assert set(added["target_country_iso3"]) == {"JPN", "KOR"}
    assert set(added["ended"]) == {date(2027, 3, 1)}
    POLICY_EVENTS.validate(after.policy_events)
    assert reference.policy_events.height == before.policy_events.height + 1


def test_based_on_an_event_the_reference_lacks_is_refused(reference: ReferenceData) -> None:
    scenario = parse_scenario(_measure(based_on='["E999999"]'), origin="s.toml", name="s")
    with pytest.raises(UserInputError, match=r"s\.toml: based_on names event\(s\) E999999"):
        scenario_reference(reference, scenario, applied=True)


def test_the_library_holds_the_five_scenarios_of_the_issue() -> None:
    assert library_names() == (
        "dual_use_japan_military_2026",
        "gallium_germanium_antimony_ban",
        "heavy_rare_earths_japan_90d",
        "rare_earths_japan_2010",
        "seven_rare_earths_licensing_2025",
    )


@pytest.mark.parametrize("name", library_names())
def test_each_library_scenario_cites_events_the_reference_holds_and_their_sources(
    name: str, reference: ReferenceData
) -> None:
    scenario = parse_scenario(library_text(name), origin=name, name=name)
    events = reference.policy_events.filter(pl.col("event_id").is_in(list(scenario.events)))
    assert scenario.events and events.height == len(scenario.events)
    assert set(scenario.based_on) <= set(scenario.events)
    # Each cited event's own source is quoted, by address, among the scenario's sources.
    for event_id, source in events.select("event_id", "source").iter_rows():
        addresses = [word for word in source.split() if word.startswith("http")]
        citing = [cited for cited in scenario.sources if event_id in cited]
        assert any(address in cited for cited in citing for address in addresses), event_id
    POLICY_EVENTS.validate(scenario_reference(reference, scenario, applied=True).policy_events)


def test_an_unknown_library_name_lists_the_shipped_ones() -> None:
    with pytest.raises(UserInputError, match="shipped: dual_use_japan_military_2026, "):
        library_text("heavy_curb")
