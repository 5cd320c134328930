"""Scores, bands and drivers of prepared pairs, from a model trained on the shipped reference
data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskengine.config import Settings
from riskengine.models.tracking import load_registered_model
from riskengine.prediction import score_pairs
from riskengine.reference.loader import ReferenceData
from riskengine.sourcing import prepare_pairs


def _score(
    settings: Settings, reference: ReferenceData, as_of: date, sourcing: pl.DataFrame
) -> pl.DataFrame:
    model = load_registered_model(settings)
    prepared = prepare_pairs(sourcing, source="test", buyer_country="JP", buyer_name=None)
    return score_pairs(prepared, reference, model, as_of=as_of)


def test_every_row_comes_back_in_order_scored_or_rejected(
    trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    scored = _score(trained_settings, reference, date(2026, 3, 1), example_sourcing)
    assert scored.height == example_sourcing.height
    assert scored["Material"].to_list() == example_sourcing["Material"].to_list()
    assert scored["status"].to_list() == ["scored"] * 6 + ["rejected"] * 2
    assert "unobtainium" in scored["reason"][6]
    assert "Atlantis" in scored["reason"][7]
    assert scored["risk_score"][6] is None
    assert scored.filter(pl.col("status") == "scored")["risk_score"].is_between(0, 1).all()
    assert set(scored["model_version"]) == {"1"} and set(scored["as_of"]) == {"2026-03-01"}


def test_scores_move_with_the_events(
    any_trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    mid_2024 = _score(any_trained_settings, reference, date(2024, 6, 1), example_sourcing)
    mid_2025 = _score(any_trained_settings, reference, date(2025, 7, 1), example_sourcing)
    february = _score(any_trained_settings, reference, date(2026, 2, 15), example_sourcing)
    # Dysprosium oxide from China: licensing from 2025-04, Japan measures from 2026-01.
    assert february["risk_score"][0] > mid_2024["risk_score"][0]
    # A licensing regime in force is never low, and it is the state the row reports.
    assert mid_2025["restriction_state"][0] == "licensing"
    assert mid_2025["risk_band"][0] in ("high", "critical")
    assert mid_2025["risk_score"][0] >= mid_2025["state_score"][0] == 0.5
    assert mid_2025["risk_score_low"][0] <= mid_2025["risk_score"][0]
    assert mid_2025["risk_score"][0] <= mid_2025["risk_score_high"][0]
    # Vietnamese concentrate: banned from 2026-01-01.
    assert february["risk_score"][1] > mid_2025["risk_score"][1]
    assert february["risk_band"][1] == "critical"
    assert "Hard rule" in february["drivers"][1]
    # NdPr oxide from Malaysia is a smaller risk than from China.
    assert february["risk_score"][2] < february["risk_score"][3]


def test_listed_buyer_is_critical_only_from_the_listing_date(
    trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    before = _score(trained_settings, reference, date(2026, 2, 15), example_sourcing)
    after = _score(trained_settings, reference, date(2026, 3, 1), example_sourcing)
    assert after["risk_band"][4] == "critical"
    assert "Mitsubishi Heavy Industries Aero Engines" in after["drivers"][4]
    assert "Export Control List" in after["drivers"][4]
    # Before the listing date no hard rule applies: the score is the measure aimed at Japan's
    # military end users (the state) combined with the model's hazard.
    assert "Hard rule" not in before["drivers"][4]
    assert before["restriction_state"][4] == "aimed_at_buyer_country"
    assert before["risk_score"][4] == pytest.approx(
        1 - (1 - before["state_score"][4]) * (1 - before["model_score"][4])
    )
    assert "Export Control List" not in before["drivers"][4]
    # The parent company is not listed and is not matched.
    assert "Export Control List" not in after["drivers"][5]
    assert after["restriction_state"][5] != "listed_buyer"


def test_drivers_name_facts_and_sources(
    trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    scored = _score(trained_settings, reference, date(2025, 7, 1), example_sourcing)
    drivers = scored["drivers"][0]
    assert "MOFCOM/GAC Announcement No. 18 [2025]" in drivers
    assert "rare-earth ore" in drivers and "USGS" in drivers
    # As of mid-2025 nothing from 2026 may appear.
    assert "2026" not in drivers


@pytest.mark.few_examples(2)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_with_no_new_fact_the_score_and_band_stay(
    trained_settings: Settings,
    reference: ReferenceData,
    data: st.DataObject,
    example_sourcing: pl.DataFrame,
    fact_dates: list[date],
    calm_periods: Callable[[list[date]], st.SearchStrategy[tuple[date, date]]],
) -> None:
    """Between two dated facts the calendar alone never moves a score or a band."""
    facts = [day for day in fact_dates if day >= date(2020, 1, 1)]
    d1, d2 = data.draw(calm_periods(facts), label="d1, d2")
    assume(d1 >= date(2020, 1, 1))
    first = _score(trained_settings, reference, d1, example_sourcing)
    second = _score(trained_settings, reference, d2, example_sourcing)
    for column in ("risk_score", "risk_score_low", "risk_score_high", "risk_band"):
        assert first[column].to_list() == second[column].to_list(), column


def test_drivers_say_when_mine_output_stands_in_or_no_figures_exist(
    reference: ReferenceData,
) -> None:
    from riskengine.explain import DriverWriter

    writer = DriverWriter(reference, date(2023, 6, 1))
    magnet = {
        "material_id": "ndfeb_magnet",
        "supplier_country": "USA",
        "production_basis": "rare_earths_reo|mine|2021",
    }
    (sentence,) = writer.concentration(magnet)
    assert "United States produced" in sentence
    assert "no magnet/product-stage figures, so mine output stands in" in sentence
    ore = {**magnet, "material_id": "rare_earth_concentrate"}
    assert "stands in" not in writer.concentration(ore)[0]
    (missing,) = writer.concentration({**magnet, "production_basis": None})
    assert missing.startswith("No production figures for NdFeB magnet")


def test_chunks_sharing_a_prediction_cache_score_as_alone_and_predict_each_vector_once(
    trained_settings: Settings, reference: ReferenceData, example_sourcing: pl.DataFrame
) -> None:
    from riskengine.prediction import PredictionCache

    model = load_registered_model(trained_settings)
    predict = model.model.predict_proba
    as_of = date(2026, 3, 1)
    # The second chunk repeats the first's rows, and so their input vectors.
    chunks = [example_sourcing.slice(0, 4), example_sourcing]

    def scored(cache: PredictionCache | None) -> tuple[list[pl.DataFrame], list[int]]:
        outputs, predicted = [], []
        for sourcing in chunks:
            rows: list[int] = []

            def counted(matrix: object, rows: list[int] = rows) -> object:
                rows.append(len(matrix))  # type: ignore[arg-type]
                return predict(matrix)

            object.__setattr__(model.model, "predict_proba", counted)
            try:
                prepared = prepare_pairs(
                    sourcing, source="test", buyer_country="JP", buyer_name=None
                )
                outputs.append(
                    score_pairs(prepared, reference, model, as_of=as_of, prediction_cache=cache)
                )
            finally:
                object.__delattr__(model.model, "predict_proba")
            predicted.append(sum(rows))
        return outputs, predicted

    alone, predicted_alone = scored(None)
    shared, predicted_shared = scored(PredictionCache())

    for together, by_itself in zip(shared, alone, strict=True):
        assert together.equals(by_itself)
    assert predicted_shared[0] == predicted_alone[0] > 0
    # Only the second chunk's new vectors went through the model.
    assert predicted_shared[1] == predicted_alone[1] - predicted_alone[0]


def test_drivers_keep_their_words_in_the_frame_and_are_escaped_when_written_as_csv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Drivers are rendered once per distinct fact and kept verbatim (JSON, Parquet and the
    pyfunc keep text as it is); the CSV writer escapes them, since a team's reference data
    words their facts (so they are not among FORMULA_FREE_SCORE_COLUMNS)."""
    import riskengine.explain as explain
    from riskengine.io.writing import write_table_chunks
    from riskengine.prediction import _driver_texts
    from riskengine.schemas import FORMULA_FREE_SCORE_COLUMNS

    rendered: list[str] = []
    words = {
        "a": "=HYPERLINK(x) | ok",
        "b": "listed as 'x'; @SUM(A1), -5%",
        "c": "nothing to escape, 2026-2027",
    }

    class Writer:
        def __init__(self, reference: object, as_of: date) -> None:
            pass

        def drivers(self, row: dict, families: list[str], rules: list[str]) -> str:
            rendered.append(row["material_id"])
            return words[row["material_id"]]

    monkeypatch.setattr(explain, "DriverWriter", Writer)
    features = pl.DataFrame(
        {name: [None] * 4 for name in explain.DRIVER_COLUMNS},
        schema=dict.fromkeys(explain.DRIVER_COLUMNS, pl.String),
    ).with_columns(
        pl.Series("material_id", ["a", "b", "a", "c"]),
        pl.lit("").alias("family_order"),
    )
    texts = _driver_texts(features, None, as_of=date(2026, 3, 1))  # type: ignore[arg-type]
    assert texts.to_list() == [words["a"], words["b"], words["a"], words["c"]]
    assert sorted(rendered) == ["a", "b", "c"]
    output = tmp_path / "scores.csv"
    write_table_chunks([texts.to_frame()], str(output), formula_free=FORMULA_FREE_SCORE_COLUMNS)
    assert pl.read_csv(output)["drivers"].to_list() == [
        "'=HYPERLINK(x) | ok",
        "listed as 'x'; '@SUM(A1), -5%",
        "'=HYPERLINK(x) | ok",
        "nothing to escape, 2026-2027",
    ]
