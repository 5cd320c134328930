"""Company names normalised for screening: legal forms, abbreviations, ordinals and
parenthesised acronyms."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from riskengine.features.export_controls import screened_entity_names
from riskengine.names.entities import normalise_entity_name
from riskengine.names.matching import DIFFERENT_ENTITY_CEILING, match_names

PACKAGE_DIRECTORY = Path(__file__).resolve().parents[2] / "riskengine"


LISTED_ENTITIES_CSV = PACKAGE_DIRECTORY / "reference" / "data" / "listed_entities.csv"


def _listed_names() -> list[str]:
    """The names screening matches against (a parent-only family link row lists nothing)."""
    return screened_entity_names(pl.read_csv(LISTED_ENTITIES_CSV))


LISTED_NAMES = _listed_names()


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
