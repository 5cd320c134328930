"""Precision and recall of the name matching on the labelled pairs, plain and with invisible
and look-alike characters."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest

from riskengine.features.export_controls import screened_entity_names
from riskengine.names.evaluation import evaluate_name_matching
from riskengine.names.matching import LISTING_MATCH_THRESHOLD

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[2] / "riskengine"


LISTED_ENTITIES_CSV = PACKAGE_DIRECTORY / "reference" / "data" / "listed_entities.csv"


NAME_PAIRS_CSV = Path(__file__).resolve().parents[1] / "data" / "name_pairs.csv"


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


NAME_PAIRS_UNICODE_CSV = Path(__file__).resolve().parents[1] / "data" / "name_pairs_unicode.csv"


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
