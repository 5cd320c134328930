"""Alternatives to high and critical pairs: candidates from the production data known at the
as-of date, scored through the real scoring path, and the roll-up with part of the volume moved."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from riskengine.config import Settings
from riskengine.errors import MissingColumnsError, UserInputError
from riskengine.impact.alternatives import find_alternatives
from riskengine.impact.alternatives_input import Constraints, parse_countries, read_scores
from riskengine.models.tracking import load_registered_model
from riskengine.prediction import score_pairs
from riskengine.reference.loader import ReferenceData
from riskengine.sourcing import prepare_pairs

AS_OF = date(2026, 12, 1)
SCORE_COLUMNS = ("material", "supplier", "supplier_country", "share", "material_id")


def scores_frame(*rows: tuple[str, ...], as_of: str = "2026-12-01") -> pl.DataFrame:
    """A scores file as `score` writes it (text cells): rows of (material, supplier,
    supplier_country, share, material_id, supplier_country_iso3, risk_score, risk_band)."""
    return pl.DataFrame(
        [
            {
                **dict(zip(SCORE_COLUMNS, row[:5], strict=True)),
                "supplier_country_iso3": row[5],
                "buyer_country_iso3": "JPN",
                "risk_score": row[6],
                "risk_band": row[7],
                "status": "scored",
                "reason": None,
                "model_version": "1",
                "as_of": as_of,
            }
            for row in rows
        ]
    )


COBALT_FROM_CONGO = ("cobalt", "Katanga Co", "CD", "1.0", "cobalt_metal", "COD", "0.8", "high")


def alternatives(
    trained_settings: Settings, reference: ReferenceData, frame: pl.DataFrame, **options: Any
) -> Any:
    bom = options.pop("bom", None)
    return find_alternatives(
        read_scores(frame, source="scores.csv"),
        reference,
        load_registered_model(trained_settings, "1"),
        constraints=Constraints(**options),
        bom=bom,
    )


def test_a_file_that_is_not_a_score_output_is_refused_naming_the_columns() -> None:
    sourcing = pl.DataFrame({"material": ["cobalt"], "supplier": ["A"], "supplier_country": ["CD"]})

    with pytest.raises(MissingColumnsError, match=r"scores\.csv: not an output of `riskengine "):
        read_scores(sourcing, source="scores.csv")
    with pytest.raises(MissingColumnsError, match="risk_score, risk_band, status"):
        read_scores(sourcing, source="scores.csv")


def test_a_score_that_is_not_a_probability_names_the_row_and_column() -> None:
    frame = scores_frame(COBALT_FROM_CONGO, (*COBALT_FROM_CONGO[:6], "high", "high"))

    with pytest.raises(UserInputError, match=r"'risk_score'.*data row 2"):
        read_scores(frame, source="scores.csv")


def test_scores_from_two_dates_are_refused() -> None:
    frame = pl.concat(
        [scores_frame(COBALT_FROM_CONGO), scores_frame(COBALT_FROM_CONGO, as_of="2026-11-01")]
    )

    with pytest.raises(UserInputError, match=r"column 'as_of'.*2026-11-01"):
        read_scores(frame, source="scores.csv")


def test_excluded_countries_are_read_in_any_spelling_and_ambiguous_ones_refused() -> None:
    assert parse_countries("CN, Russian Federation,,VNM", option="--exclude") == {
        "CHN",
        "RUS",
        "VNM",
    }
    with pytest.raises(UserInputError, match="--exclude: ambiguous country 'Korea'"):
        parse_countries("Korea", option="--exclude")
    with pytest.raises(UserInputError, match="--move 0"):
        Constraints(move=0.0)


def test_candidates_are_the_other_producers_above_the_minimum_share_scored_for_the_buyer(
    trained_settings: Settings, reference: ReferenceData
) -> None:
    result = alternatives(trained_settings, reference, scores_frame(COBALT_FROM_CONGO))
    table = result.table

    countries = table["candidate_country_iso3"].to_list()
    # Cobalt metal reads refined cobalt (IEA 2024): China 78%, Finland 8%, Japan 2.3%,
    # Indonesia 1.1%, Canada 0.7% (below 1%); DR Congo, the supplier's country, refines none.
    assert set(countries) == {"CHN", "FIN", "JPN", "IDN"}
    assert {"COD", "ROW", "CAN"}.isdisjoint(countries)
    assert table["production_share"].min() >= 0.01
    assert result.left_out["--min-share"] == 1  # Canada
    # The same flow scored through the ordinary path gives the same score: no second formula.
    model = load_registered_model(trained_settings, "1")
    sourcing = pl.DataFrame(
        {"material": ["cobalt"], "supplier": ["Example Trading Co."], "supplier_country": ["ID"]}
    )
    prepared = prepare_pairs(sourcing, source="t", buyer_country="JP", buyer_name=None)
    direct = score_pairs(prepared, reference, model, as_of=AS_OF)
    indonesia = table.filter(pl.col("candidate_country_iso3") == "IDN").row(0, named=True)
    assert indonesia["candidate_risk_score"] == pytest.approx(direct["risk_score"][0], abs=1e-12)
    assert indonesia["candidate_risk_band"] == direct["risk_band"][0]
    # Moving 30% of a whole supply at 0.8 to a country at r: 0.8 - 0.3 * (0.8 - r).
    risk = indonesia["candidate_risk_score"]
    assert indonesia["material_exposure_before"] == pytest.approx(0.8)
    assert indonesia["material_exposure_after"] == pytest.approx(0.8 - 0.3 * (0.8 - risk))
    assert table["improvement"].to_list() == sorted(table["improvement"], reverse=True)


def test_exclusions_and_existing_countries_narrow_the_candidates(
    trained_settings: Settings, reference: ReferenceData
) -> None:
    finnish = ("nickel", "Harjavalta Co", "FI", "1", "nickel_metal", "FIN", "0.01", "low")
    frame = scores_frame(COBALT_FROM_CONGO, finnish)

    excluded = alternatives(trained_settings, reference, frame, exclude=frozenset({"IDN"}))
    existing = alternatives(trained_settings, reference, frame, existing_only=True)

    assert "IDN" not in excluded.table["candidate_country_iso3"].to_list()
    assert excluded.left_out["--exclude"] == 1
    assert existing.table["candidate_country_iso3"].to_list() == ["FIN"]
    assert existing.table["existing_suppliers"].to_list() == ["Harjavalta Co"]


def test_a_pair_without_candidates_says_why_and_pairs_below_high_get_none(
    trained_settings: Settings, reference: ReferenceData
) -> None:
    dysprosium = ("Dy2O3", "Baotou Co", "CN", "1", "dysprosium_oxide", "CHN", "0.63", "high")
    medium = ("nickel", "Morowali Co", "ID", "1", "nickel_metal", "IDN", "0.02", "medium")
    frame = scores_frame(dysprosium, medium, COBALT_FROM_CONGO)

    # Refined cobalt's largest producer is China at 78% (IEA 2024): none reaches 80%.
    result = alternatives(trained_settings, reference, frame, min_share=0.8)

    assert result.flagged_pairs == 2 and result.pairs_with_candidates == 0
    notes = dict(zip(result.table["material"], result.table["note"], strict=True))
    assert "name no other producing country: China 99%, rest of world 1%" in notes["Dy2O3"]
    assert "IDN" in notes["cobalt"] and "(--min-share)" in notes["cobalt"]
    assert result.table["candidate_country_iso3"].null_count() == 2


@pytest.mark.parametrize("move", [0.3, 1.0])
def test_the_product_roll_up_moves_the_share_to_the_candidate(
    trained_settings: Settings, reference: ReferenceData, move: float
) -> None:
    bom = pl.DataFrame({"parent": ["Pump"], "component": ["cobalt"], "quantity": ["2"]})

    result = alternatives(
        trained_settings, reference, scores_frame(COBALT_FROM_CONGO), move=move, bom=bom
    )

    row = result.table.filter(pl.col("candidate_country_iso3") == "IDN").row(0, named=True)
    risk = row["candidate_risk_score"]
    assert row["product"] == "Pump"
    assert row["product_exposure_before"] == pytest.approx(2 * 0.8)
    assert row["product_exposure_after"] == pytest.approx(2 * ((1 - move) * 0.8 + move * risk))
    assert row["product_risk_before"] == pytest.approx(0.8)
    # A partial move adds a country that can be hit; a full one takes Congo out.
    expected_risk = 1 - (1 - 0.8) * (1 - risk) if move < 1 else risk
    assert row["product_risk_after"] == pytest.approx(expected_risk)
    assert row["improvement"] == pytest.approx(1 - row["product_exposure_after"] / 1.6)
