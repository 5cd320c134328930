"""The words of purchase texts: noise folded as texts are, grade codes, where a code meets CJK
script, and the uses words name."""

from __future__ import annotations

import pytest

from riskengine.catalog import load_catalog
from riskengine.mapping.vocabulary import (
    GRADE_CODE,
    NOISE_WORDS,
    SCRIPT_BOUNDARY,
    TRANSLATIONS,
    USE_WORDS,
    fold,
)


def test_noise_words_are_folded_as_the_words_of_a_text() -> None:
    # The micro sign and the Greek mu fold alike, so "15 µm" and "8 ㎛" are both a unit.
    assert fold("µm") in NOISE_WORDS
    assert fold("μm") in NOISE_WORDS


@pytest.mark.parametrize("token", ["AG-15", "SG17", "35PN250", "NCM811", "M330-50A"])
def test_grade_and_type_codes_are_codes(token: str) -> None:
    assert GRADE_CODE.match(token)


@pytest.mark.parametrize("token", ["Bohrer-8mm", "Dysprosiumoxid", "8", "NCM"])
def test_words_and_numbers_are_no_codes(token: str) -> None:
    assert not GRADE_CODE.match(token)


def test_a_code_is_split_from_the_cjk_word_it_runs_into() -> None:
    assert SCRIPT_BOUNDARY.sub(" ", "NCM811前驱体") == "NCM811 前驱体"
    assert SCRIPT_BOUNDARY.sub(" ", "N48SHネオジム磁石") == "N48SH ネオジム磁石"
    assert SCRIPT_BOUNDARY.sub(" ", "Dy2O3 99.5%") == "Dy2O3 99.5%"


def test_use_words_are_translated_words_served_by_catalog_commodities() -> None:
    catalog = load_catalog()
    for use, served in USE_WORDS.items():
        assert use in TRANSLATIONS
        assert use not in NOISE_WORDS
        for commodity in served:
            assert catalog.commodity_lineage(commodity)[0] == commodity
