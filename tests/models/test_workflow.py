"""Service functions: gated retraining, the validation run, promotion and rollback.

A small configuration keeps these quick: Japan as the only buyer, the panel from 2018, one
candidate configuration with few boosting rounds and a short bootstrap.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from riskengine.app.evaluation import backtest, retrain
from riskengine.app.registry import list_models, promote, rollback
from riskengine.app.training import PanelOptions
from riskengine.config import Settings, load_settings
from riskengine.errors import ModelNotFoundError
from riskengine.models import tracking
from riskengine.models.training import ModelConfig
from riskengine.models.validation import Candidate, ValidationPlan

TODAY = date(2026, 3, 1)
OPTIONS = PanelOptions(buyer_countries=("JPN",), start=date(2018, 1, 1))
CONFIG = ModelConfig(max_iter=20)
PLAN = ValidationPlan(
    first_year=2021, warmup_years=1, bootstrap=200, candidates=(Candidate(CONFIG),)
)


def _settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path}/models/mlflow.db")


def test_retraining_is_gated_on_the_same_folds_and_deterministic(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = retrain(settings, today=TODAY, options=OPTIONS, plan=PLAN)
    assert (first.promoted, first.version, first.champion) == (True, "1", "1")
    assert "there was none" in first.message

    second = retrain(settings, today=TODAY, options=OPTIONS, plan=PLAN)
    assert (second.promoted, second.version, second.champion) == (False, "2", "1")
    assert "champion stays version 1: nothing changed since it was trained" in second.message
    # Same data, same procedure: every figure is reproduced exactly.
    assert second.metrics == first.metrics
    assert tracking.alias_version(settings, tracking.CHALLENGER_ALIAS) == "2"

    # Another procedure is judged against the champion's validation on the same panel.
    other = replace(PLAN, candidates=(Candidate(replace(CONFIG, max_iter=5)),))
    third = retrain(settings, today=TODAY, options=OPTIONS, plan=other)
    assert third.champion_metrics is not None
    assert third.champion_metrics["event_auc_6m"] == first.metrics["event_auc_6m"]
    passes = third.metrics["event_auc_6m"] >= first.metrics["event_auc_6m"]
    assert third.promoted == passes
    assert third.champion == ("3" if passes else "1")
    assert "on the same" in third.message and "folds" in third.message


def test_backtest_logs_the_named_metrics_a_child_per_fold_and_the_tables(
    tmp_path: Path,
) -> None:
    from mlflow.tracking import MlflowClient

    settings = _settings(tmp_path)
    outcome = backtest(settings, today=TODAY, options=OPTIONS, plan=PLAN)
    assert outcome.table.height == outcome.pooled["held_out_decisions"] > 0
    assert "| risk_score (state + hazard) |" in outcome.markdown
    assert "event-level AUC 6 months ahead" in outcome.message

    client = MlflowClient(settings.tracking_uri)
    parent = client.get_run(outcome.run_id)
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
        assert name in parent.data.metrics, name
    low, value, high = (
        parent.data.metrics[name]
        for name in ("event_auc_6m_ci_low", "event_auc_6m", "event_auc_6m_ci_high")
    )
    assert low <= value <= high
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{outcome.run_id}'",
    )
    assert sorted(child.info.run_name for child in children) == [
        f"origin {year}" for year in range(2020, 2026)
    ]
    artifacts = {item.path for item in client.list_artifacts(outcome.run_id)}
    assert {"validation.md", "validation_decisions.csv", "plots"} <= artifacts


def test_promote_and_rollback_move_the_champion_and_list_shows_aliases(tmp_path: Path) -> None:
    from tests.models.test_tracking import register_tiny_model

    settings = _settings(tmp_path)
    for expected in ("1", "2", "3"):
        assert register_tiny_model(settings) == expected
    assert promote(settings, "1").message == "version 1 is champion"
    assert promote(settings, "3").message == "version 3 is champion (was version 1)"
    tracking.set_challenger(settings, "2")
    listed = list_models(settings)
    assert listed["version"].to_list() == ["3", "2", "1"]
    assert dict(zip(listed["version"], listed["aliases"], strict=True)) == {
        "3": "champion",
        "2": "challenger",
        "1": "",
    }
    assert listed.filter(pl.col("model_sha256") == "").is_empty()
    assert rollback(settings).message == "champion rolled back from version 3 to version 1"
    assert tracking.champion_version(settings) == "1"
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        rollback(settings)
    with pytest.raises(ModelNotFoundError, match="no version"):
        promote(settings, "9")


def test_train_if_missing_replaces_a_champion_registered_without_a_hash(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from riskengine.app.training import train_public
    from tests.models.test_tracking import register_tiny_model

    settings = _settings(tmp_path)
    register_tiny_model(settings)
    tracking.set_champion(settings, "1")
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.delete_model_version_tag(settings.model_name, "1", tracking.MODEL_SHA256_TAG)
    outcome = train_public(settings, if_missing=True, today=TODAY, options=OPTIONS, plan=PLAN)
    assert (outcome.skipped, outcome.version, outcome.champion) == (False, "2", "2")
    assert "version 1 has no recorded SHA-256" in outcome.message
    again = train_public(settings, if_missing=True, today=TODAY, options=OPTIONS, plan=PLAN)
    assert again.skipped and again.champion == "2"
