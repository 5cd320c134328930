"""Screening names against the listed entities: normalisation, scoring and its calibration."""

from __future__ import annotations

import csv
import string
from pathlib import Path

import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from riskengine.names import (
    ABBREVIATIONS,
    DIFFERENT_ENTITY_CEILING,
    LISTING_MATCH_THRESHOLD,
    canonical_name,
    canonical_names,
    evaluate_name_matching,
    match_names,
    normalise_entity_name,
)

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[1] / "riskengine"
LISTED_ENTITIES_CSV = PACKAGE_DIRECTORY / "reference" / "data" / "listed_entities.csv"
NAME_PAIRS_CSV = Path(__file__).resolve().parent / "data" / "name_pairs.csv"

# Words that carry no identity, so adding or dropping one keeps the entity the same.
NON_IDENTIFYING_WORDS = frozenset(
    {"and", "of", "the", "for", "co", "ltd", "limited", "inc", "corp", "corporation", "company"}
    | {"gmbh", "llc", "incorporated"}
)


def _listed_names() -> list[str]:
    return pl.read_csv(LISTED_ENTITIES_CSV)["entity_name"].to_list()


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


# --- the labelled set and the calibration it backs ----------------------------------------


def test_labelled_set_is_large_balanced_and_uses_real_listed_names() -> None:
    kinds = {kind for _, _, _, kind in NAME_PAIRS}
    assert len(NAME_PAIRS) >= 150
    assert sum(same for _, _, same, _ in NAME_PAIRS) >= 60
    assert sum(not same for _, _, same, _ in NAME_PAIRS) >= 60
    assert {listed for _, listed, _, _ in NAME_PAIRS} <= set(LISTED_NAMES)
    assert {"case", "punctuation", "legal_form", "word_order", "abbreviation"} <= kinds
    assert {"ampersand", "accent", "acronym", "typo"} <= kinds
    assert {"parent", "subsidiary", "same_group", "same_words", "number", "listed_sibling"} <= kinds
    assert len(set(NAME_PAIRS)) == len(NAME_PAIRS)


def test_precision_and_recall_on_labelled_set_against_full_list() -> None:
    report = evaluate_name_matching(
        [(query, listed, same) for query, listed, same, _ in NAME_PAIRS], LISTED_NAMES
    )
    print(f"name matching on {len(NAME_PAIRS)} labelled pairs: {report}")
    assert report["threshold"] == LISTING_MATCH_THRESHOLD
    assert report["precision"] >= 0.98
    assert report["recall"] >= 0.95


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


def _identifies(position: int, words: list[str]) -> bool:
    """Whether dropping the word at ``position`` removes what it says from the name: not a
    legal form, an initial, half of a place name, or a word the name repeats (also inside
    another word, as "radio" in "radio electronic ... radioelectronics")."""
    word = words[position]
    if word in NON_IDENTIFYING_WORDS or word in PLACE_NAME_HALVES or len(word) < 3:
        return False
    others = [other for index, other in enumerate(words) if index != position and len(other) >= 3]
    return not any(word in other or other in word for other in others)


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


# --- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (
            "Mitsubishi Heavy Industries Aero Engines, Ltd.",
            "mitsubishi heavy industries aero engines",
        ),
        (
            "MITSUBISHI HEAVY INDUSTRIES AERO ENGINES LTD",
            "mitsubishi heavy industries aero engines",
        ),
        ("Mitsubishi Hvy Ind. Aero Engines", "mitsubishi heavy industries aero engines"),
        ("Mitsubishi Hvy Inds.Aero Engines Co.,Ltd.", "mitsubishi heavy industries aero engines"),
        ("IHI Aero Mfg. Co., Ltd.", "ihi aero manufacturing"),
        ("Acme Intl Corp.", "acme international"),
        ("Fujitsu Defense & National Security, Ltd.", "fujitsu defense and national security"),
        ("IHI Aerospace K.K.", "ihi aerospace"),
        ("Kabushiki Kaisha Subaru", "subaru"),
        ("Subaru Kabushiki Kaisha", "subaru"),
        ("Thales S.A.", "thales"),
        ("Saab AB", "saab"),
        ("Kongsberg Defence & Aerospace AS", "kongsberg defense and aerospace"),
        ("Siemens Energy Global GmbH & Co. KG", "siemens energy global"),
        ("Petronas Sdn. Bhd.", "petronas"),
        ("PJSC Aeroflot", "aeroflot"),
        ("Mitsui & Co., Ltd.", "mitsui"),
        (
            "Kawasaki Heavy Industries Aerospace Systems Company",
            "kawasaki heavy industries aerospace systems",
        ),
        ("The Boeing Company", "boeing"),
        ("Company Holdings Ltd", "company holdings"),
        ("Société Générale S.A.", "societe generale"),
        ("Nestlé Suisse SA", "nestle suisse"),
        ("Ørsted A/S", "orsted"),
        ("ＴＤＫ Ｃｏｒｐｏｒａｔｉｏｎ", "tdk"),
        (
            "CETC 45th Research Institute",
            "china electronics technology group corporation 45 research institute",
        ),
        (
            "China Electronics Technology Group Corp. No. 43 Research Institute",
            "china electronics technology group corp 43 research institute",
        ),
        ("  L3Harris   Technologies, Inc. ", "l3harris technologies"),
        ("Limited", "limited"),
        ("", ""),
    ],
)
def test_normalise_entity_name(raw: str, normalised: str) -> None:
    assert normalise_entity_name(raw) == normalised


def test_normalisation_keeps_company_inside_a_name_and_is_idempotent() -> None:
    assert normalise_entity_name("East Company Trading Ltd") == "east company trading"
    for name in LISTED_NAMES:
        once = normalise_entity_name(name)
        assert normalise_entity_name(once) == once


# --- match_names behaviour ----------------------------------------------------------------


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


def test_parenthesised_acronym_is_an_alias() -> None:
    nudt = LISTED_NAMES.index("National University of Defense Technology (NUDT)")
    casc_771 = LISTED_NAMES.index(
        "China Aerospace Science and Technology Corporation (CASC) 9th Academy 771 "
        "Research Institute"
    )
    assert match_names(["NUDT"], LISTED_NAMES) == [(1.0, nudt)]
    assert match_names(["nudt"], LISTED_NAMES) == [(1.0, nudt)]
    assert match_names(["National University of Defense Technology"], LISTED_NAMES) == [(1.0, nudt)]
    assert match_names(["CASC 9th Academy 771 Research Institute"], LISTED_NAMES) == [
        (1.0, casc_771)
    ]


def test_parenthesised_word_that_is_no_acronym_stays_part_of_the_name() -> None:
    listed = [
        "Sumitomo Heavy Industries, Ltd.",
        "CSIC Pride (Nanjing) Cryogenic Technology Co., Ltd.",
    ]
    results = match_names(
        ["Sumitomo Heavy Industries (USA), Inc.", "CSIC Pride Nanjing Cryogenic Technology"], listed
    )
    assert results[0][0] <= DIFFERENT_ENTITY_CEILING
    assert results[1] == (1.0, 1)


def test_near_misses_are_capped_below_threshold() -> None:
    [(score, index)] = match_names(
        ["Mitsubishi Heavy Industries, Ltd."], ["Mitsubishi Heavy Industries Aero Engines, Ltd."]
    )
    assert index == 0
    assert score == DIFFERENT_ENTITY_CEILING < LISTING_MATCH_THRESHOLD


# --- evaluate_name_matching --------------------------------------------------------------


def test_evaluation_counts() -> None:
    listed = [
        "Lockheed Martin Corporation",
        "Raytheon Missiles & Defense",
        "IHI Aerospace Co., Ltd.",
    ]
    report = evaluate_name_matching(
        [
            ("Lockheed Martin Corp", listed[0], True),  # flagged correctly: true positive
            ("Lockheed Martin Space", listed[0], False),  # not flagged: nothing counted
            ("Raytheon Company", listed[1], True),  # not flagged: false negative
            ("IHI AEROSPACE CO LTD", listed[2], False),  # flagged, not its own: false positive
        ],
        listed,
    )
    assert report == {
        "precision": 0.5,
        "recall": 0.5,
        "threshold": LISTING_MATCH_THRESHOLD,
        "true_positive": 1,
        "false_positive": 1,
        "false_negative": 1,
    }


def test_evaluation_rejects_listed_names_missing_from_the_list() -> None:
    with pytest.raises(ValueError, match="missing from the list"):
        evaluate_name_matching([("TDK", "TDK Corp", True)], ["TDK Corporation"])


# --- invisible and look-alike characters (issue 14) ---------------------------------------

NAME_PAIRS_UNICODE_CSV = Path(__file__).resolve().parent / "data" / "name_pairs_unicode.csv"


@pytest.mark.parametrize(
    ("query", "listed_name"),
    [
        ("T\u200bDK Corporation", "TDK Corporation"),  # zero-width space
        ("Sumitomo Heavy Indus\u00adtries, Ltd.", "Sumitomo Heavy Industries, Ltd."),  # soft hyphen
        ("\ufeffTDK Corporation\u200e", "TDK Corporation"),  # byte-order mark, bidi mark
        ("\u202aSUBARU Corporation\u202c", "SUBARU Corporation"),  # bidi embedding
        ("TDK\u2060 Corporation", "TDK Corporation"),  # word joiner
        ("SUB\u0410RU Corporation", "SUBARU Corporation"),  # Cyrillic capital A
        ("Sumit\u03bfmo Heavy Industries", "Sumitomo Heavy Industries, Ltd."),  # Greek omicron
        ("T\u200bD\u041a Corporation", "TDK Corporation"),  # both at once
        ("\uff34\uff24\uff2b Corporation", "TDK Corporation"),  # full-width letters
        # A whole word of Cyrillic look-alikes in a Latin name.
        ("\u0406\u041d\u0406 Aerospace Co., Ltd.", "IHI Aerospace Co., Ltd."),
    ],
)
def test_invisible_and_look_alike_characters_do_not_hide_a_listed_name(
    query: str, listed_name: str
) -> None:
    [(score, index)] = match_names([query], LISTED_NAMES)
    assert index is not None and LISTED_NAMES[index] == listed_name
    assert score == 1.0


@pytest.mark.parametrize(
    "query",
    [
        "TDK L\u0430mbda",
        "Sub\u0430ru of \u0410merica",
        "Mitsubishi Heavy Indus\u00adtries, Ltd.",
        "\u0406\u041d\u0406 Corporation",
    ],
)
def test_a_look_alike_of_a_name_that_is_not_listed_is_not_flagged(query: str) -> None:
    assert _flagged_name(query) is None


def test_a_name_in_one_non_latin_script_matches_its_own_listing_and_is_kept() -> None:
    listed = ["株式会社東芝", "Ростех", "Ελληνική Αεροπορική Βιομηχανία", "TDK Corporation"]
    queries = [
        "株式会社東芝",
        "Ростех",
        "Ελληνική Αεροπορική Βιομηχανία",
        "Р\u006fстех",  # a Latin "o" inside a Cyrillic word is read as Cyrillic
        "ＴＤＫ",
    ]
    assert match_names(queries, listed) == [(1.0, 0), (1.0, 1), (1.0, 2), (1.0, 1), (1.0, 3)]
    # One script, however foreign, is not folded into Latin look-alikes, nor is a name mostly
    # in another script pulled towards the Latin of its legal form.
    assert normalise_entity_name("Ростех") == "ростех"
    assert normalise_entity_name("Ростех Co") == "ростех"
    assert normalise_entity_name("株式会社東芝") == "株式会社東芝"


def test_one_normaliser_makes_case_and_invisible_characters_one_name() -> None:
    assert canonical_name("Acme") == canonical_name("ACME") == canonical_name("Acme\u200b")
    assert canonical_name("Acme") == canonical_name("\u0410cme") == "acme"
    assert canonical_name("  Acme   Ltd ") == "acme ltd"
    # Identity keeps what screening drops: "Acme Ltd" and "Acme Inc" may be two companies.
    assert canonical_name("Acme Ltd") != canonical_name("Acme Inc")


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(max_codepoint=127), max_size=12),
            st.text(max_size=12),
        ),
        max_size=8,
    )
)
def test_the_vectorised_normaliser_agrees_with_the_one_name_normaliser(names: list[str]) -> None:
    cells = pl.Series("name", [*names, None], dtype=pl.String)
    assert canonical_names(cells).to_list() == [*map(canonical_name, names), None]


def test_labelled_invisible_and_look_alike_variants_keep_precision_and_recall() -> None:
    with NAME_PAIRS_UNICODE_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [(row["query"], row["listed_name"], row["is_same_entity"] == "true") for row in rows]
    kinds = {row["kind"] for row in rows}
    assert {"zero_width_space", "soft_hyphen", "cyrillic_look_alike", "greek_look_alike"} <= kinds
    assert sum(same for _, _, same in pairs) >= 100
    assert sum(not same for _, _, same in pairs) >= 100
    assert all(not query.isascii() for query, _, _ in pairs)

    report = evaluate_name_matching(pairs, LISTED_NAMES)

    assert report["precision"] == 1.0
    assert report["recall"] >= 0.95
