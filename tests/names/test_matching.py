"""Screening names against the listed entities: scores, the threshold's calibration, and
names that differ by a word or a number kept apart."""

from __future__ import annotations

import csv
import functools
import string
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from riskengine.features.export_controls import screened_entity_names
from riskengine.names import matching
from riskengine.names.entities import ABBREVIATIONS, normalise_entity_name
from riskengine.names.matching import (
    DIFFERENT_ENTITY_CEILING,
    LISTING_MATCH_THRESHOLD,
    match_names,
    warm_query_keys,
)

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[2] / "riskengine"


LISTED_ENTITIES_CSV = PACKAGE_DIRECTORY / "reference" / "data" / "listed_entities.csv"


NAME_PAIRS_CSV = Path(__file__).resolve().parents[1] / "data" / "name_pairs.csv"


# Words that carry no identity, so adding or dropping one keeps the entity the same.
NON_IDENTIFYING_WORDS = frozenset(
    {"and", "of", "the", "for", "co", "ltd", "limited", "inc", "corp", "corporation", "company"}
    | {"gmbh", "llc", "incorporated"}
)


def _listed_names() -> list[str]:
    """The names screening matches against (a parent-only family link row lists nothing)."""
    return screened_entity_names(pl.read_csv(LISTED_ENTITIES_CSV))


def _name_pairs() -> list[tuple[str, str, bool, str]]:
    with NAME_PAIRS_CSV.open(encoding="utf-8", newline="") as handle:
        return [
            (row["query"], row["listed_name"], row["is_same_entity"] == "true", row["kind"])
            for row in csv.DictReader(handle)
        ]


LISTED_NAMES = _listed_names()


NAME_PAIRS = _name_pairs()


def _flagged_name(query: str) -> str | None:
    """The listed name a query is flagged as against the full list, if any."""
    [(score, index)] = match_names([query], LISTED_NAMES)
    if index is None or score < LISTING_MATCH_THRESHOLD:
        return None
    return LISTED_NAMES[index]


def _identifies(position: int, words: list[str]) -> bool:
    """Whether dropping the word at ``position`` removes what it says from the name: not a
    legal form, an initial, half of a place name, or a word the name repeats (also inside
    another word, as "radio" in "radio electronic ... radioelectronics")."""
    word = words[position]
    if word in NON_IDENTIFYING_WORDS or word in PLACE_NAME_HALVES or len(word) < 3:
        return False
    others = [other for index, other in enumerate(words) if index != position and len(other) >= 3]
    return not any(word in other or other in word for other in others)


def test_threshold_sits_inside_the_gap_between_near_misses_and_variants() -> None:
    results = match_names([query for query, _, _, _ in NAME_PAIRS], LISTED_NAMES)
    own_names: dict[str, set[str]] = {}
    for query, listed, same, _ in NAME_PAIRS:
        own_names.setdefault(query, set()).update({listed} if same else set())
    variant_scores = [
        score
        for (query, listed, same, _), (score, index) in zip(NAME_PAIRS, results, strict=True)
        if same and index is not None and LISTED_NAMES[index] == listed
    ]
    near_miss_scores = [
        score
        for (query, _, same, _), (score, index) in zip(NAME_PAIRS, results, strict=True)
        if not same and index is not None and LISTED_NAMES[index] not in own_names[query]
    ]
    assert max(near_miss_scores) < LISTING_MATCH_THRESHOLD <= min(variant_scores)


@pytest.mark.parametrize(
    ("query", "listed_name"),
    [
        ("Mitsubishi Heavy Industries, Ltd.", "Mitsubishi Heavy Industries Aero Engines, Ltd."),
        ("Kawasaki Heavy Industries, Ltd.", "Kawasaki Heavy Industries Aerospace Systems Company"),
        ("IHI Corporation", "IHI Aerospace Co., Ltd."),
        ("Fujitsu Limited", "Fujitsu Defense & National Security, Ltd."),
        ("TDK Lambda", "TDK Corporation"),
        ("Subaru of America", "SUBARU Corporation"),
        ("Aero Engines Ltd", "Mitsubishi Heavy Industries Aero Engines, Ltd."),
    ],
)
def test_subset_names_that_set_based_scorers_accept_are_not_flagged(
    query: str, listed_name: str
) -> None:
    # token_set_ratio scores a name whose words are contained in another's 100: the trap.
    normalised_query = normalise_entity_name(query)
    assert fuzz.token_set_ratio(normalised_query, normalise_entity_name(listed_name)) == 100
    assert _flagged_name(query) is None


@pytest.mark.parametrize(
    "query",
    [
        "China Academy of Space Technology 503 Research Institute",
        "CASC 9th Academy 773 Research Institute",
        "CETC 44th Research Institute",
    ],
)
def test_names_with_another_number_are_other_entities(query: str) -> None:
    assert _flagged_name(query) is None


def test_listed_siblings_each_match_themselves() -> None:
    siblings = [
        "IHI Aerospace Co., Ltd.",
        "IHI Aerospace Engineering Co., Ltd.",
        "IHI Aero Manufacturing Co., Ltd.",
        "Shenzhen Yidian Technology Co., Ltd.",
        "AEE Shenzhen Yidian Aviation Technology Co., Ltd.",
        "CASC 9th Academy 772 Research Institute",
        "China Electronics Technology Group Corporation 45th Research Institute",
    ]
    assert [_flagged_name(name.upper()) for name in siblings] == siblings


@pytest.mark.few_examples(40)
@settings(max_examples=200, deadline=None)
@given(
    listed_name=st.sampled_from(LISTED_NAMES),
    extra_word=st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=10),
    at_start=st.booleans(),
)
def test_adding_a_distinctive_word_to_a_listed_name_makes_another_entity(
    listed_name: str, extra_word: str, at_start: bool
) -> None:
    listed_words = normalise_entity_name(listed_name).split()
    # A word one or two edits from a word already there could be a typo of it, and a legal
    # form or abbreviation is no distinctive word.
    assume(extra_word not in ABBREVIATIONS)
    assume(normalise_entity_name(f"name {extra_word}") == f"name {extra_word}")
    assume(all(OSA.distance(extra_word, word) > 2 for word in listed_words))
    query = f"{extra_word} {listed_name}" if at_start else f"{listed_name} {extra_word}"
    assert _flagged_name(query) != listed_name


# Halves of a two-word place name: "Kong Qisu Electronic" is a garbled Hong Kong Qisu, not
# another company.
PLACE_NAME_HALVES = frozenset({"hong", "kong"})


@pytest.mark.few_examples(40)
@settings(max_examples=200, deadline=None)
@given(listed_name=st.sampled_from(LISTED_NAMES), data=st.data())
def test_dropping_an_identifying_word_from_a_listed_name_makes_another_entity(
    listed_name: str, data: st.DataObject
) -> None:
    words = normalise_entity_name(listed_name).split()
    droppable = [position for position in range(len(words)) if _identifies(position, words)]
    # A parenthesised acronym duplicates the words before it, so dropping it changes nothing.
    assume("(" not in listed_name and len(droppable) >= 2)
    position = data.draw(st.sampled_from(droppable))
    query = " ".join(words[:position] + words[position + 1 :])
    assert _flagged_name(query) != listed_name


def test_null_and_empty_queries_score_zero_without_index() -> None:
    assert match_names([None, "", "   ", "TDK Corp"], LISTED_NAMES)[:3] == [(0.0, None)] * 3


def test_names_shorter_than_three_characters_score_zero() -> None:
    assert (
        match_names(["AB", "A.B. Ltd", "Co", "X"], ["AB Ltd", "ABC Industries"])
        == [(0.0, None)] * 4
    )
    assert match_names(["AB Ltd"], ["AB", "AB Ltd"]) == [(0.0, None)]


def test_empty_listed_names_give_no_matches() -> None:
    assert match_names(["TDK Corporation"], []) == [(0.0, None)]


def test_one_result_per_query_in_order_with_duplicates() -> None:
    queries = [
        "TDK Corp",
        None,
        "Lockheed Martin",
        "tdk corporation",
        "TDK Corp",
        "Unrelated Foods",
    ]
    results = match_names(queries, LISTED_NAMES)
    tdk = LISTED_NAMES.index("TDK Corporation")
    lockheed = LISTED_NAMES.index("Lockheed Martin Corporation")
    assert len(results) == len(queries)
    assert [index for _, index in results[:5]] == [tdk, None, lockheed, tdk, tdk]
    assert results[0] == results[4] == (1.0, tdk)
    assert results[5][0] < LISTING_MATCH_THRESHOLD


def test_scores_are_in_unit_interval() -> None:
    results = match_names([query for query, _, _, _ in NAME_PAIRS], LISTED_NAMES)
    assert all(0.0 <= score <= 1.0 for score, _ in results)


def test_matching_is_deterministic_and_ties_go_to_the_lowest_index() -> None:
    queries = [query for query, _, _, _ in NAME_PAIRS]
    assert match_names(queries, LISTED_NAMES) == match_names(queries, LISTED_NAMES)
    # Lockheed Martin Corporation is listed twice (two lists); the first row wins.
    first = LISTED_NAMES.index("Lockheed Martin Corporation")
    assert LISTED_NAMES.count("Lockheed Martin Corporation") == 2
    assert match_names(["LOCKHEED MARTIN CORP"], LISTED_NAMES) == [(1.0, first)]
    listed = ["Acme Widgets", "Acme Widgets Ltd", "ACME WIDGETS INC."]
    assert match_names(["acme widgets corporation"], listed) == [(1.0, 0)]
    assert match_names(["acme widgets corporation"], listed[::-1]) == [(1.0, 0)]


def test_near_misses_are_capped_below_threshold() -> None:
    [(score, index)] = match_names(
        ["Mitsubishi Heavy Industries, Ltd."], ["Mitsubishi Heavy Industries Aero Engines, Ltd."]
    )
    assert index == 0
    assert score == DIFFERENT_ENTITY_CEILING < LISTING_MATCH_THRESHOLD


def _above(
    results: list[tuple[float, int | None]], threshold: float
) -> list[tuple[float, int | None]]:
    return [(score, index) if score >= threshold else (0.0, None) for score, index in results]


def test_threshold_matching_finds_every_match_above_it_and_nothing_else() -> None:
    queries = [query for query, _, _, _ in NAME_PAIRS] + ["Lockheed Martin Corp", None, ""]
    full = match_names(queries, LISTED_NAMES)
    assert any(score >= LISTING_MATCH_THRESHOLD for score, _ in full)
    assert any(0 < score < LISTING_MATCH_THRESHOLD for score, _ in full)
    assert match_names(queries, LISTED_NAMES, threshold=LISTING_MATCH_THRESHOLD) == _above(
        full, LISTING_MATCH_THRESHOLD
    )


@pytest.mark.few_examples(40)
@settings(max_examples=200, deadline=None)
@given(
    listed=st.lists(st.sampled_from(LISTED_NAMES), min_size=1, max_size=30),
    edits=st.lists(
        st.tuples(
            st.integers(0, 29),
            st.integers(0, 60),
            st.sampled_from(["", "x", "e", " ", "1", "co ", "s"]),
            st.integers(0, 3),
        ),
        max_size=12,
    ),
    threshold=st.sampled_from([LISTING_MATCH_THRESHOLD, 0.85, 0.95, 0.5]),
)
def test_threshold_matching_agrees_with_full_matching_at_and_above_the_threshold(
    listed: list[str], edits: list[tuple[int, int, str, int]], threshold: float
) -> None:
    # Listed names with typos, insertions and deletions: many score near any threshold.
    queries = list(listed)
    for which, position, inserted, deleted in edits:
        name = listed[which % len(listed)]
        queries.append(name[:position] + inserted + name[position + deleted :])
    full = match_names(queries, listed)
    assert match_names(queries, listed, threshold=threshold) == _above(full, threshold)


def test_names_warmed_ahead_match_as_names_not_warmed_and_are_not_worked_out_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queries = ["TDK Corp", None, "", "  ", "T.D.K. Corporation", "TDK Corp", "Acme Trading"]
    expected = match_names(queries, LISTED_NAMES)
    matching._query_keys.cache_clear()
    assert warm_query_keys(queries) == 3  # the distinct names; null and blank ones skipped

    def worked_out_again(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError(f"keys of {args} worked out again")

    # Any name match_names needs now must come from what the warming remembered.
    monkeypatch.setattr(matching, "name_variants", worked_out_again)
    assert match_names(queries, LISTED_NAMES) == expected


def test_warming_stops_at_the_names_the_keys_cache_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    small = functools.lru_cache(maxsize=4)(matching._query_keys.__wrapped__)
    monkeypatch.setattr(matching, "_query_keys", small)
    assert warm_query_keys([f"Supplier {index} Ltd" for index in range(9)]) == 4
    assert small.cache_info().currsize == 4
