"""Export controls and listings on the shipped events, on and around their dates."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date

import polars as pl
import pytest

from riskengine.features.export_controls import screened_entity_names
from riskengine.features.runner import build_features
from riskengine.names import LISTING_MATCH_THRESHOLD
from riskengine.reference.contracts import FAMILY_LINK_LIST
from riskengine.reference.loader import ReferenceData


def _row(features: pl.DataFrame, index: int) -> dict:
    return features.row(index, named=True)


def test_china_2025_licensing_arrives_on_its_date(
    reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    before = _row(build_features(magnet_spine, reference, as_of=date(2025, 4, 3)), 0)
    after = _row(build_features(magnet_spine, reference, as_of=date(2025, 4, 4)), 0)
    assert before["export_control_severity"] == 0
    assert after["export_control_severity"] == 1
    assert after["export_control_event"] == "E010"


def test_japan_military_end_use_ban_is_a_destination_measure(
    reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    before = _row(build_features(magnet_spine, reference, as_of=date(2026, 1, 5)), 0)
    after = _row(build_features(magnet_spine, reference, as_of=date(2026, 1, 6)), 0)
    assert before["destination_measure_severity"] == 0
    assert after["destination_measure_severity"] == 3
    assert after["destination_measure_event"] == "E017"
    # It bans military end users only, so it is not a ban on the whole flow.
    assert not after["flow_ban_in_force"]


def test_vietnam_ban_covers_concentrate_not_oxide(
    reference: ReferenceData, magnet_spine: pl.DataFrame
) -> None:
    features = build_features(magnet_spine, reference, as_of=date(2026, 1, 1))
    concentrate, oxide = _row(features, 3), _row(features, 4)
    assert concentrate["flow_ban_in_force"] and concentrate["export_control_severity"] == 3
    assert not oxide["flow_ban_in_force"] and oxide["export_control_severity"] == 0


def test_measure_announced_but_not_yet_in_force(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """Vietnam passed its ban on 2025-12-11, in force from 2026-01-01 (E022)."""
    spine = make_spine([("rare_earth_concentrate", "VNM", "JPN", None, None)])
    announced = _row(build_features(spine, reference, as_of=date(2025, 12, 20)), 0)
    assert announced["announced_measure_severity"] == 3
    assert announced["announced_event"] == "E022"
    # Only Vietnam's older licensing of raw-mineral exports (E153, E154) is in force yet.
    assert announced["export_control_severity"] == 1
    assert not announced["flow_ban_in_force"]
    in_force = _row(build_features(spine, reference, as_of=date(2026, 1, 2)), 0)
    assert in_force["announced_measure_severity"] == 0


def test_suspended_measure_stops_counting(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """China's December 2024 ban on Ga/Ge exports to the US was suspended on 2025-11-09."""
    spine = make_spine([("gallium_metal", "CHN", "USA", None, None)])
    in_force = _row(build_features(spine, reference, as_of=date(2025, 6, 1)), 0)
    suspended = _row(build_features(spine, reference, as_of=date(2025, 11, 10)), 0)
    assert in_force["flow_ban_in_force"] and in_force["destination_measure_severity"] == 3
    assert not suspended["flow_ban_in_force"]
    # Clause 1 (E007, no dual-use items to US military end users) was not suspended.
    assert suspended["destination_measure_severity"] == 3
    assert suspended["destination_measure_event"] == "E007"
    # The 2023 licensing of gallium (E003) stays in force for every destination.
    assert suspended["export_control_severity"] == 1


@pytest.mark.parametrize(
    ("as_of", "listed"), [(date(2026, 2, 23), False), (date(2026, 2, 24), True)]
)
def test_buyer_listing_applies_from_the_listing_date(
    reference: ReferenceData, magnet_spine: pl.DataFrame, as_of: date, listed: bool
) -> None:
    features = build_features(magnet_spine, reference, as_of=as_of)
    assert _row(features, 1)["buyer_listed"] is listed
    # The unlisted parent company is never matched.
    assert _row(features, 2)["buyer_listed"] is False
    assert _row(features, 2)["buyer_listing_match_score"] < 0.9


def test_listing_counts_only_for_the_listing_country(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """China listed Lockheed Martin; a supplier in the US does not list its own buyers."""
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "USA", None, "Lockheed Martin Corporation"),
            ("ndpr_oxide", "AUS", "USA", None, "Lockheed Martin Corporation"),
        ]
    )
    features = build_features(spine, reference, as_of=date(2025, 6, 1))
    assert features["buyer_listed"].to_list() == [True, False]


def _with_listings(reference: ReferenceData, rows: list[dict]) -> ReferenceData:
    listings = pl.DataFrame(rows, schema=reference.listed_entities.schema)
    return dataclasses.replace(reference, listed_entities=listings)


FAMILY = [
    {
        "list_name": "CN Unreliable Entity List",
        "listing_authority_iso3": "CHN",
        "entity_name": "Vexlar Holdings Corporation",
        "listed_on": date(2025, 1, 2),
        "reason": "generated",
        "source": "generated",
    },
    {
        "list_name": "US BIS Entity List",
        "listing_authority_iso3": "USA",
        "entity_name": "Vexlar Optronics GmbH",
        "listed_on": date(2025, 3, 1),
        "reason": "generated",
        "source": "generated",
        "aliases": "Vexlar Optik; ヴェクスラー光学",
        "parent_entity": "Vexlar Holdings Corporation",
        "relation": "subsidiary",
    },
]


def test_a_buyer_matches_a_listing_through_an_alias_and_its_corporate_family(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """China lists only the parent; a buyer written as the subsidiary's German or Japanese
    alias is on China's list through its parent, and the evidence says so."""
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "USA", None, "Vexlar Optik"),
            ("ndpr_oxide", "CHN", "USA", None, "ヴェクスラー光学"),
            ("ndpr_oxide", "CHN", "USA", None, "Vexlar Holdings Corporation"),
            ("ndpr_oxide", "CHN", "USA", None, "Orlinda Optik"),
        ]
    )
    features = build_features(spine, _with_listings(reference, FAMILY), as_of=date(2025, 6, 1))
    assert features["buyer_listed"].to_list() == [True, True, True, False]
    through_parent = (
        "Vexlar Optronics GmbH (subsidiary of Vexlar Holdings Corporation)"
        "|CN Unreliable Entity List|2025-03-01"
    )
    assert features["buyer_listing_entity"].to_list()[:3] == [
        through_parent,
        through_parent,
        "Vexlar Holdings Corporation|CN Unreliable Entity List|2025-01-02",
    ]


def test_a_family_link_counts_only_once_its_member_is_listed(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """Before the subsidiary's own listing is known, nothing ties it to its listed parent."""
    spine = make_spine([("ndpr_oxide", "CHN", "USA", None, "Vexlar Optik")])
    listings = _with_listings(reference, FAMILY)
    before = build_features(spine, listings, as_of=date(2025, 2, 28))
    after = build_features(spine, listings, as_of=date(2025, 3, 1))
    assert before["buyer_listed"].to_list() == [False]
    assert after["buyer_listed"].to_list() == [True]


LINK = {
    "list_name": FAMILY_LINK_LIST,
    "listing_authority_iso3": "USA",
    "reason": "generated",
    "source": "generated",
}


def test_an_unlisted_subsidiary_matches_through_its_listed_parent_and_the_parent_not_upward(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """A family link row is screened only through its listed parent; a link row that is a
    parent lists nothing, even when its subsidiary is listed."""
    rows = [
        *FAMILY,
        {
            **LINK,
            "entity_name": "Vexlar Foundry Services",
            "listed_on": date(2024, 1, 1),
            "parent_entity": "Vexlar Holdings Corporation",
            "relation": "business",
        },
        {**LINK, "entity_name": "Orlinda Group Holdings", "listed_on": date(2024, 1, 1)},
        {
            "list_name": "CN Unreliable Entity List",
            "listing_authority_iso3": "CHN",
            "entity_name": "Orlinda Precision Optics",
            "listed_on": date(2025, 1, 2),
            "reason": "generated",
            "source": "generated",
            "parent_entity": "Orlinda Group Holdings",
            "relation": "subsidiary",
        },
    ]
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "USA", None, "Vexlar Foundry Services"),
            ("ndpr_oxide", "CHN", "USA", None, "Orlinda Group Holdings"),
            ("ndpr_oxide", "CHN", "USA", None, "Orlinda Precision Optics"),
        ]
    )
    features = build_features(spine, _with_listings(reference, rows), as_of=date(2025, 6, 1))
    assert features["buyer_listed"].to_list() == [True, False, True]
    assert features["buyer_listing_entity"].to_list() == [
        "Vexlar Foundry Services (business of Vexlar Holdings Corporation)"
        "|CN Unreliable Entity List|2025-01-02",
        None,
        "Orlinda Precision Optics|CN Unreliable Entity List|2025-01-02",
    ]


def test_a_removed_listing_counts_until_the_day_before_its_removal(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """A removed parent takes its subsidiaries' family matches with it."""
    removed = [
        {**FAMILY[0], "removed_on": date(2025, 8, 12), "removal_source": "generated"},
        FAMILY[1],
    ]
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "USA", None, "Vexlar Holdings Corporation"),
            ("ndpr_oxide", "CHN", "USA", None, "Vexlar Optik"),
        ]
    )
    listings = _with_listings(reference, removed)
    last_day = build_features(spine, listings, as_of=date(2025, 8, 11))
    removal_day = build_features(spine, listings, as_of=date(2025, 8, 12))
    assert last_day["buyer_listed"].to_list() == [True, True]
    assert removal_day["buyer_listed"].to_list() == [False, False]


def test_shipped_rtx_family_matches_through_the_2022_countermeasures(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame]
) -> None:
    """RTX Corporation (Raytheon Technologies' name since 2023) and its subsidiary Raytheon
    Company both match China's 2022 countermeasures, the subsidiary through its parent."""
    spine = make_spine(
        [
            ("ndpr_oxide", "CHN", "USA", None, "RTX Corporation"),
            ("ndpr_oxide", "CHN", "USA", None, "Raytheon Company"),
            ("ndpr_oxide", "CHN", "USA", None, "Pratt & Whitney"),
        ]
    )
    before = build_features(spine, reference, as_of=date(2022, 2, 20))
    after = build_features(spine, reference, as_of=date(2022, 2, 21))
    assert before["buyer_listed"].to_list() == [False, False, False]
    assert after["buyer_listed"].to_list() == [True, True, True]
    countermeasures = "CN MFA Countermeasure List (反制清单)|2022-02-21"
    assert after["buyer_listing_entity"].to_list() == [
        f"Raytheon Technologies Corporation|{countermeasures}",
        f"Raytheon Company (subsidiary of Raytheon Technologies Corporation)|{countermeasures}",
        f"Pratt & Whitney (business of Raytheon Technologies Corporation)|{countermeasures}",
    ]


@pytest.mark.parametrize(
    ("as_of", "listed"), [(date(2025, 8, 11), True), (date(2025, 8, 12), False)]
)
def test_shipped_listing_that_mofcom_stopped_applying_ends_on_its_date(
    reference: ReferenceData, make_spine: Callable[..., pl.DataFrame], as_of: date, listed: bool
) -> None:
    """MOFCOM stopped applying its 2025-04-09 export control listings from 2025-08-12."""
    spine = make_spine([("gallium_metal", "CHN", "USA", None, "Novotech, Inc.")])
    assert build_features(spine, reference, as_of=as_of)["buyer_listed"].to_list() == [listed]


def test_screened_names_are_listings_and_link_rows_whose_parent_is_listed() -> None:
    """A link row lists nothing: screened only through a listed parent, never as a parent."""
    entities = pl.DataFrame(
        {
            "list_name": ["UEL", FAMILY_LINK_LIST, FAMILY_LINK_LIST, "UEL", FAMILY_LINK_LIST],
            "entity_name": [
                "Vexlar Holdings",
                "Vexlar Foundry",
                "Orlinda Group",
                "Orlinda Optics",
                "Orlinda Academy",
            ],
            "parent_entity": [None, "Vexlar Holdings", None, "Orlinda Group", "Orlinda Group"],
        }
    )
    screened = screened_entity_names(entities)
    assert screened == ["Vexlar Holdings", "Vexlar Foundry", "Orlinda Optics"]


LISTED = ("Huawei Technologies Co., Ltd.", "Raytheon Company", "Lockheed Martin Corporation")


def test_names_screened_in_chunks_match_as_the_whole_list_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every chunk of a large input screens mostly the same names: each is matched once per
    list, and each chunk gets the answers a call on that chunk alone gives."""
    from riskengine.features import export_controls
    from riskengine.names.matching import match_names

    monkeypatch.setattr(export_controls, "_MATCHES_BY_LIST", {})
    screened: list[str | None] = []

    def counting(
        names: list[str | None], listed: list[str], *, threshold: float | None = None
    ) -> list:
        screened.extend(names)
        return match_names(names, listed, threshold=threshold)

    monkeypatch.setattr(export_controls, "match_names", counting)
    chunks = [
        ("Huawei Technologies", None, "Acme Metals"),
        ("Acme Metals", "Raytheon Co.", "Huawei Technologies"),
        ("Lockheed Martin", "Acme Metals"),
    ]
    answers = [export_controls._cached_matches(chunk, LISTED) for chunk in chunks]

    assert answers == [match_names(list(chunk), list(LISTED)) for chunk in chunks]
    assert sorted(screened, key=str) == sorted(
        ["Huawei Technologies", None, "Acme Metals", "Raytheon Co.", "Lockheed Martin"], key=str
    )


def test_a_name_is_matched_again_for_a_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag-only screening's answers (nothing below the threshold) are remembered apart
    from the scores another screening of the same list reports."""
    from riskengine.features import export_controls

    monkeypatch.setattr(export_controls, "_MATCHES_BY_LIST", {})
    near_miss = ("Raytheon Technologies Aerospace",)
    scored = export_controls._cached_matches(near_miss, LISTED)
    flagged = export_controls._cached_matches(near_miss, LISTED, LISTING_MATCH_THRESHOLD)
    assert 0 < scored[0][0] < LISTING_MATCH_THRESHOLD
    assert flagged == [(0.0, None)]
    assert export_controls._cached_matches(near_miss, LISTED) == scored


def test_a_name_is_matched_again_against_another_list(monkeypatch: pytest.MonkeyPatch) -> None:
    from riskengine.features import export_controls

    monkeypatch.setattr(export_controls, "_MATCHES_BY_LIST", {})
    first = export_controls._cached_matches(("Raytheon Company",), LISTED)
    other = export_controls._cached_matches(("Raytheon Company",), ("Raytheon Company",))

    # The index is into each list: the answer for the first list is not reused.
    assert first == [(1.0, 1)]
    assert other == [(1.0, 0)]


def test_the_memo_forgets_the_least_recently_used_list_and_a_full_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from riskengine.features import export_controls

    monkeypatch.setattr(export_controls, "_MATCHES_BY_LIST", {})
    monkeypatch.setattr(export_controls, "_LISTS_REMEMBERED", 2)
    monkeypatch.setattr(export_controls, "_NAMES_REMEMBERED", 2)
    lists = [("Raytheon Company",), ("Huawei Technologies Co., Ltd.",), ("Boeing",)]
    for listed in lists[:2]:
        export_controls._cached_matches(("Acme",), listed)
    export_controls._cached_matches(("Acme",), lists[0])  # the first list used again
    export_controls._cached_matches(("Acme",), lists[2])

    assert list(export_controls._MATCHES_BY_LIST) == [(lists[0], None), (lists[2], None)]
    export_controls._cached_matches(("Raytheon", "Raytheon Co"), lists[0])
    export_controls._cached_matches(("Raytheon Company",), lists[0])
    assert list(export_controls._MATCHES_BY_LIST[lists[0], None]) == ["Raytheon Company"]
