"""Scoring end to end with a model trained on the shipped reference data."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from riskengine import sourcing as sourcing_module
from riskengine.app.scoring import score_file
from riskengine.config import Settings
from riskengine.features.registry import PAIR_KEY
from riskengine.models.tracking import load_registered_model
from riskengine.prediction import score_pairs
from riskengine.reference.loader import ReferenceData
from riskengine.sourcing import prepare_chunks, prepare_pairs
from tests.conftest import calm_periods, fact_dates

SOURCING = pl.DataFrame(
    {
        "Material": [
            "Dy2O3",
            "rare earth concentrate",
            "NdPr oxide",
            "NdPr oxide",
            "dysprosium oxide",
            "dysprosium oxide",
            "unobtainium",
            "gallium",
        ],
        "Supplier": [
            "Baotou Example",
            "Hanoi Example",
            "Kuantan Example",
            "Inner Mongolia Example",
            "Baotou Example",
            "Baotou Example",
            "Nowhere Ltd",
            "Yunnan Example",
        ],
        "Supplier Country": ["CN", "Viet Nam", "MY", "China", "CN", "CN", "CN", "Atlantis"],
        "buyer": [
            None,
            None,
            None,
            None,
            "Mitsubishi Heavy Industries Aero Engines, Ltd.",
            "Mitsubishi Heavy Industries, Ltd.",
            None,
            None,
        ],
    }
)


def _score(settings: Settings, reference: ReferenceData, as_of: date) -> pl.DataFrame:
    model = load_registered_model(settings)
    prepared = prepare_pairs(SOURCING, source="test", buyer_country="JP", buyer_name=None)
    return score_pairs(prepared, reference, model, as_of=as_of)


def test_training_logs_metrics_baseline_and_a_signature(trained_settings: Settings) -> None:
    import mlflow

    model = load_registered_model(trained_settings)
    for name in (
        "event_auc_6m",
        "event_auc_6m_ci_low",
        "event_auc_6m_ci_high",
        "heuristic_event_auc_6m",
        "events_flagged_6m",
        "alert_coverage",
        "ece",
        "max_event_influence",
    ):
        assert 0.0 <= model.metrics[name] <= 1.0, name
    assert model.calibration["replicates"] and set(model.band_cutoffs) == {
        "medium",
        "high",
        "critical",
    }
    info = mlflow.models.get_model_info(f"models:/{trained_settings.model_name}@champion")
    assert info.signature is not None
    assert set(model.feature_names) <= set(info.signature.inputs.input_names())


def test_every_row_comes_back_in_order_scored_or_rejected(
    trained_settings: Settings, reference: ReferenceData
) -> None:
    scored = _score(trained_settings, reference, date(2026, 3, 1))
    assert scored.height == SOURCING.height
    assert scored["Material"].to_list() == SOURCING["Material"].to_list()
    assert scored["status"].to_list() == ["scored"] * 6 + ["rejected"] * 2
    assert "unobtainium" in scored["reason"][6]
    assert "Atlantis" in scored["reason"][7]
    assert scored["risk_score"][6] is None
    assert scored.filter(pl.col("status") == "scored")["risk_score"].is_between(0, 1).all()
    assert set(scored["model_version"]) == {"1"} and set(scored["as_of"]) == {"2026-03-01"}


def test_scores_move_with_the_events(trained_settings: Settings, reference: ReferenceData) -> None:
    mid_2024 = _score(trained_settings, reference, date(2024, 6, 1))
    mid_2025 = _score(trained_settings, reference, date(2025, 7, 1))
    february = _score(trained_settings, reference, date(2026, 2, 15))
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
    trained_settings: Settings, reference: ReferenceData
) -> None:
    before = _score(trained_settings, reference, date(2026, 2, 15))
    after = _score(trained_settings, reference, date(2026, 3, 1))
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
    trained_settings: Settings, reference: ReferenceData
) -> None:
    scored = _score(trained_settings, reference, date(2025, 7, 1))
    drivers = scored["drivers"][0]
    assert "MOFCOM/GAC Announcement No. 18 [2025]" in drivers
    assert "rare-earth ore" in drivers and "USGS" in drivers
    # As of mid-2025 nothing from 2026 may appear.
    assert "2026" not in drivers


def test_scoring_twice_gives_byte_identical_files(
    trained_settings: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "sourcing.csv"
    SOURCING.write_csv(source)
    outputs = []
    for name in ("first.csv", "second.csv"):
        score_file(
            trained_settings,
            input_path=str(source),
            output_path=str(tmp_path / name),
            as_of=date(2026, 3, 1),
            buyer_country="JP",
        )
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]


def test_cli_score_writes_output_and_summary(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from riskengine.cli import app

    monkeypatch.setenv("RISKENGINE_HOME", str(trained_settings.home))
    monkeypatch.setenv("RISKENGINE_TRACKING_URI", trained_settings.tracking_uri)
    source = tmp_path / "sourcing.csv"
    SOURCING.write_csv(source)
    output = tmp_path / "scores.parquet"
    result = CliRunner().invoke(
        app,
        ["score", str(source), "-o", str(output), "--as-of", "2026-03-01", "--buyer-country", "JP"],
    )
    assert result.exit_code == 0, result.output
    assert "6 scored, 2 rejected" in result.stderr
    assert pl.read_parquet(output).height == SOURCING.height


def test_train_if_missing_keeps_the_champion(trained_settings: Settings) -> None:
    from riskengine.app.training import train_public as train

    outcome = train(trained_settings, if_missing=True)
    assert outcome.skipped and outcome.champion == "1"


# --- chunks --------------------------------------------------------------------------------------

_MATERIALS = ["Dy2O3", "dysprosium oxide", "NdPr oxide", "gallium", "unobtainium", ""]
_COUNTRIES = ["CN", "China", "VN", "MY", "Atlantis", "Korea", ""]
_SHARES = ["0.5", "50", "70", "1", "0,25", "-1", "abc", "", "40%"]


@st.composite
def sourcing_lists(draw: st.DrawFn) -> pl.DataFrame:
    """Small sourcing lists full of repeats: duplicate pairs, ids with two countries, odd shares."""
    rows = draw(st.integers(min_value=1, max_value=25))
    pick = lambda values: draw(st.lists(st.sampled_from(values), min_size=rows, max_size=rows))  # noqa: E731
    return pl.DataFrame(
        {
            "material": pick(_MATERIALS),
            "supplier": pick(["Baotou Co", "Hanoi JSC", "Kuantan Sdn Bhd", ""]),
            "supplier_country": pick(_COUNTRIES),
            "supplier_id": pick(["0001", "0002", "0003", ""]),
            "share": pick(_SHARES),
        }
    )


@settings(max_examples=120, deadline=None)
@given(sourcing=sourcing_lists(), cuts=st.lists(st.integers(0, 25), max_size=4))
def test_preparing_in_chunks_gives_every_row_the_answer_it_gets_whole(
    sourcing: pl.DataFrame, cuts: list[int]
) -> None:
    whole = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    bounds = sorted({0, sourcing.height, *(min(cut, sourcing.height) for cut in cuts)})
    chunks = [sourcing.slice(start, end - start) for start, end in pairwise(bounds)]
    context, prepared = prepare_chunks(chunks, source="s.csv", buyer_country="JP", buyer_name=None)
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    assert context.rows == sourcing.height
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.notes == whole.notes


def test_duplicates_and_conflicts_are_named_across_chunks() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium", "dysprosium oxide", "gallium"],
            "supplier": ["Baotou Co", "Yunnan Co", "Baotou Co", "Yunnan Co"],
            "supplier_country": ["CN", "CN", "China", "VN"],
            "supplier_id": [None, "0007", None, "0007"],
        }
    )
    _, prepared = prepare_chunks(
        [sourcing.slice(0, 2), sourcing.slice(2, 2)],
        source="s.csv",
        buyer_country="JP",
        buyer_name=None,
    )
    reasons = pl.concat([piece.resolved for piece in prepared])["reason"].to_list()
    assert reasons[0] == reasons[2] == "duplicate pair: data rows 1, 3 repeat it"
    assert reasons[1] == reasons[3] == "supplier_id 0007 appears with several countries (CHN, VNM)"


@pytest.mark.parametrize("kept_bytes", [None, 0], ids=["kept", "read-twice"])
def test_scoring_in_chunks_of_any_size_writes_the_same_bytes(
    trained_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kept_bytes: int | None,
) -> None:
    if kept_bytes is not None:
        monkeypatch.setattr(sourcing_module, "KEPT_CHUNK_BYTES", kept_bytes)
    # Three copies of the list; the first two share supplier ids, so their rows repeat.
    ids = [f"{index % 8 if index < 16 else index:04d}" for index in range(3 * SOURCING.height)]
    sourcing = pl.concat([SOURCING] * 3).with_columns(
        pl.Series("Supplier ID", ids),
        # Percentages (read as such only because the whole column sums past 1.5) and SAP
        # validity dates: both must read the same in every chunk.
        pl.Series("share", ["40", "60", "100", "x", "50", "50", "100", "100"] * 3),
        pl.Series("VDATU", ["20200101", "", "01.01.2027", "", "", "", "", ""] * 3),
    )
    source = tmp_path / "sourcing.csv"
    sourcing.write_csv(source)
    written = {}
    for chunk_bytes in (None, 40, 300, 1000):
        output = tmp_path / f"scores_{chunk_bytes}.csv"
        outcome = score_file(
            trained_settings,
            input_path=str(source),
            output_path=str(output),
            as_of=date(2026, 3, 1),
            buyer_country="JP",
            chunk_bytes=chunk_bytes,
        )
        written[chunk_bytes] = output.read_bytes()
        assert outcome.rows == sourcing.height
        assert any("read as percentages" in note for note in outcome.notes)
        assert outcome.top["risk_score"].to_list() == sorted(
            outcome.top["risk_score"].to_list(), reverse=True
        )
    assert len(set(written.values())) == 1
    scores = pl.read_csv(tmp_path / "scores_40.csv", infer_schema=False)
    assert scores.height == sourcing.height
    assert scores["Supplier ID"].to_list() == sourcing["Supplier ID"].to_list()
    # Both copies of a pair are refused, naming each other, across chunks of 40 bytes; in the
    # third copy the bad share, the not-yet-valid record and the unknown material and country.
    assert scores.filter(pl.col("status") == "rejected").height == 16 + 4
    assert scores["reason"][0] == "duplicate pair: data rows 1, 9 repeat it"
    assert scores["reason"][8] == "duplicate pair: data rows 1, 9 repeat it"


def test_a_quoted_line_break_streams_across_chunks_as_the_file_prepared_whole(
    tmp_path: Path,
) -> None:
    from riskengine.io import ChunkedTable, read_table

    source = tmp_path / "notes.csv"
    source.write_text(
        'material,supplier,supplier_country,note\nDy2O3,Baotou Co,CN,"two\nlines"\n'
        "gallium,Yunnan Co,CN,plain\nDy2O3,Baotou Co,China,again\n",
        encoding="utf-8",
    )
    table = ChunkedTable(str(source), chunk_bytes=30)
    context, prepared = prepare_chunks(
        table, source="notes.csv", buyer_country="JP", buyer_name=None
    )
    pieces = [piece.resolved.drop(PAIR_KEY) for piece in prepared]
    whole = prepare_pairs(
        read_table(str(source)), source="notes.csv", buyer_country="JP", buyer_name=None
    )
    assert len(pieces) > 1  # streamed: no fallback to reading the file whole
    assert pl.concat(pieces).equals(whole.resolved.drop(PAIR_KEY))
    assert context.rows == 3
    assert pieces[0]["reason"][0] == "duplicate pair: data rows 1, 3 repeat it"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_with_no_new_fact_the_score_and_band_stay(
    trained_settings: Settings, reference: ReferenceData, data: st.DataObject
) -> None:
    """Between two dated facts the calendar alone never moves a score or a band."""
    facts = [day for day in fact_dates(reference) if day >= date(2020, 1, 1)]
    d1, d2 = data.draw(calm_periods(facts), label="d1, d2")
    assume(d1 >= date(2020, 1, 1))
    first = _score(trained_settings, reference, d1)
    second = _score(trained_settings, reference, d2)
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
