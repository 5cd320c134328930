"""A team's own disruption history: validation, labels over the horizon, training end to end."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import polars as pl
import pytest

from riskengine.config import Settings, load_settings
from riskengine.errors import MissingColumnsError, UserInputError
from riskengine.models.history import history_panel, label_history, read_history
from riskengine.reference.loader import ReferenceData


def _records(rows: list[tuple[str, str, str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema=["material", "supplier", "supplier_country", "buyer_country", "period", "disrupted"],
        orient="row",
    )


def _settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path}/mlflow.db")


def test_every_record_is_used_or_rejected_with_its_row_and_reason() -> None:
    frame = _records(
        [
            ("Dy2O3", "Baotou Example", "CN", "JP", "2024-01", "0"),
            ("unobtainium", "Nowhere Ltd", "CN", "JP", "2024-01", "0"),
            ("Dy2O3", "Baotou Example", "CN", "JP", "January 2024", "1"),
            ("Dy2O3", "Baotou Example", "CN", "JP", "2024-02", "maybe"),
            ("Dy2O3", "Baotou Example", "CN", "", "2024-03", "1"),
            ("Dy2O3", "baotou example", "China", "Japan", "2024-01-01", "yes"),
        ]
    )
    history = read_history(frame, source="history.csv")
    assert history.records.height + history.rejects.height == frame.height
    reasons = dict(zip(history.rejects["row"], history.rejects["reason"], strict=True))
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert "unknown material 'unobtainium'" in reasons[2]
    assert "period 'January 2024' is not YYYY-MM or YYYY-MM-DD" in reasons[3]
    assert "disrupted 'maybe' is not 0 or 1" in reasons[4]
    assert "buyer country is empty" in reasons[5]
    # The same pair (names compared without case) in the same period is counted once.
    assert reasons[6] == "duplicate of row 1 (same pair and period)"
    assert history.rejects["material"].to_list() == [frame["material"][i] for i in (1, 2, 3, 4, 5)]
    assert history.records["period"].to_list() == [date(2024, 1, 1)]


def test_missing_columns_are_named() -> None:
    frame = _records([("Dy2O3", "Baotou Example", "CN", "JP", "2024-01", "0")]).drop("disrupted")
    with pytest.raises(MissingColumnsError, match="disrupted"):
        read_history(frame, source="history.csv")


def test_a_disruption_labels_every_period_whose_horizon_contains_it() -> None:
    quarters = [f"{year}-{month:02d}" for year in (2019, 2020) for month in (1, 4, 7, 10)]
    frame = _records(
        [
            ("Dy2O3", "Baotou Example", "CN", "JP", quarter, "1" if quarter == "2020-04" else "0")
            for quarter in quarters
        ]
        + [("Tb4O7", "Ganzhou Example", "CN", "JP", quarter, "0") for quarter in quarters]
    )
    labelled = label_history(read_history(frame, source="h").records, horizon_months=12)
    dysprosium = labelled.filter(pl.col("material_id") == "dysprosium_oxide")
    # Quarterly records: the 12-month horizon of 2019-07 to 2020-04 contains 2020-04.
    assert dysprosium["label"].to_list() == [0, 0, 1, 1, 1, 1, 0, 0]
    assert labelled.filter(pl.col("material_id") == "terbium_oxide")["label"].sum() == 0
    # The history runs to 2021-01 (last quarter plus one step): 2020-01 is the last period
    # whose whole horizon is recorded.
    assert dysprosium["observed"].to_list() == [True] * 5 + [False] * 3


def test_a_history_too_short_for_one_horizon_is_refused(reference: ReferenceData) -> None:
    frame = _records([("Dy2O3", "Baotou Example", "CN", "JP", "2024-01", "1")])
    with pytest.raises(UserInputError, match="no record has 12 months of recorded history"):
        history_panel(read_history(frame, source="h"), reference, horizon_months=12)


def test_features_are_built_as_of_each_period(reference: ReferenceData) -> None:
    frame = _records(
        [
            ("Dy2O3", "Baotou Example", "CN", "JP", period, "0")
            for period in ("2024-10", "2025-04", "2025-05", "2026-05")
        ]
    )
    panel = history_panel(read_history(frame, source="h"), reference, horizon_months=1).panel
    severity = dict(zip(panel["as_of"], panel["export_control_severity"], strict=True))
    # China's dysprosium licensing took effect 2025-04-04 (E010).
    assert severity[date(2024, 10, 1)] == 0
    assert severity[date(2025, 5, 1)] == 1


def test_training_on_the_shipped_demo_history_registers_a_model(store_settings: Settings) -> None:
    from riskengine.app.training import train_from_history
    from riskengine.io import read_table
    from riskengine.models.tracking import load_registered_model, run_document, version_details

    path = resources.files("riskengine") / "demo" / "history.csv"
    shipped = read_table(str(path), None)
    assert 200 <= shipped.height <= 400
    assert shipped["supplier"].str.ends_with("(illustrative)").all()
    unusable = shipped.head(1).with_columns(pl.lit("Nowhere Ltd").alias("supplier"))
    history = pl.concat([shipped, unusable.with_columns(pl.lit("2024-13").alias("period"))])
    settings = store_settings
    outcome = train_from_history(settings, history, source="history.csv")
    assert (outcome.version, outcome.champion) == ("1", "1")
    assert outcome.rejects["row"].to_list() == [history.height]
    assert outcome.rows + outcome.unobserved_rows + 1 == history.height
    assert 0 < outcome.positives < outcome.rows
    assert 0.0 <= outcome.metrics["test_pr_auc"] <= 1.0
    model = load_registered_model(settings)
    assert model.version == "1" and model.artifact_sha256
    details = version_details(settings, "1")
    assert details.tags["label_source"] == "history"
    assert len(details.tags["history_sha256"]) == 64
    logged = run_document(settings, details.run_id, "history_rejects.json")
    assert logged is not None
    assert "period '2024-13'" in logged["rejected_rows"][0]["reason"]


def test_a_history_without_disruptions_in_a_period_says_which_periods(tmp_path: Path) -> None:
    from riskengine.app.training import train_from_history

    quarters = [f"{year}-{month:02d}" for year in range(2018, 2026) for month in (1, 4, 7, 10)]
    frame = _records(
        [("Dy2O3", "Baotou Example", "CN", "JP", quarter, "0") for quarter in quarters]
        + [("Tb4O7", "Ganzhou Example", "CN", "JP", quarter, "0") for quarter in quarters]
    )
    with pytest.raises(UserInputError, match=r"h\.csv: cannot train on this history.*training"):
        train_from_history(_settings(tmp_path), frame, source="h.csv")
    assert not (tmp_path / "mlflow.db").exists()
