"""The one character normaliser: invisible and look-alike characters (issue 14) neither hide a
listed name nor make a supplier another one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.features.export_controls import screened_entity_names
from riskengine.names.characters import canonical_name, canonical_names
from riskengine.names.entities import normalise_entity_name
from riskengine.names.matching import LISTING_MATCH_THRESHOLD, match_names

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[2] / "riskengine"


LISTED_ENTITIES_CSV = PACKAGE_DIRECTORY / "reference" / "data" / "listed_entities.csv"


def _listed_names() -> list[str]:
    """The names screening matches against (a parent-only family link row lists nothing)."""
    return screened_entity_names(pl.read_csv(LISTED_ENTITIES_CSV))


LISTED_NAMES = _listed_names()


def _flagged_name(query: str) -> str | None:
    """The listed name a query is flagged as against the full list, if any."""
    [(score, index)] = match_names([query], LISTED_NAMES)
    if index is None or score < LISTING_MATCH_THRESHOLD:
        return None
    return LISTED_NAMES[index]


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
    # Repeated cells take the path that normalises each distinct value once.
    repeated = pl.Series("name", [None, *names, *names, *names], dtype=pl.String)
    assert canonical_names(repeated).to_list() == [None, *map(canonical_name, names * 3)]
