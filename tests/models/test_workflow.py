"""Service functions: gated retraining, the backtest run, promotion and rollback.

A small configuration keeps these quick: Japan as the only buyer, the panel from 2018, three
origins and a few boosting rounds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from riskengine.config import Settings, load_settings
from riskengine.errors import ModelNotFoundError
from riskengine.models import tracking
from riskengine.models.backtest import BacktestPlan
from riskengine.models.training import ModelConfig
from riskengine.models.workflow import (
    PanelOptions,
    backtest,
    list_models,
    promote,
    retrain,
    rollback,
)

TODAY = date(2026, 3, 1)
OPTIONS = PanelOptions(buyer_countries=("JPN",), start=date(2018, 1, 1))
CONFIG = ModelConfig(max_iter=20)
PLAN = BacktestPlan(first_year=2022, last_year=2024, importance_rows=500, importance_repeats=1)


def _settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, tracking_uri=f"sqlite:///{tmp_path}/models/mlflow.db")


def test_retraining_is_gated_on_the_same_folds_and_deterministic(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = retrain(settings, today=TODAY, config=CONFIG, options=OPTIONS, plan=PLAN)
    assert (first.promoted, first.version, first.champion) == (True, "1", "1")
    assert "there was none" in first.message

    second = retrain(settings, today=TODAY, config=CONFIG, options=OPTIONS, plan=PLAN)
    assert (second.promoted, second.version, second.champion) == (False, "2", "1")
    assert "champion stays version 1: nothing changed since it was trained" in second.message
    # Same data, same procedure: every figure is reproduced exactly.
    assert second.metrics == first.metrics
    assert tracking.alias_version(settings, tracking.CHALLENGER_ALIAS) == "2"

    # Another configuration is judged against the champion's backtest on the same folds.
    third = retrain(
        settings, today=TODAY, config=replace(CONFIG, max_iter=5), options=OPTIONS, plan=PLAN
    )
    champion_figures = third.champion_metrics
    assert champion_figures is not None
    assert champion_figures["backtest_pr_auc"] == first.metrics["backtest_pr_auc"]
    passes = (
        third.metrics["backtest_pr_auc"] >= champion_figures["backtest_pr_auc"]
        and third.metrics["backtest_brier"] <= champion_figures["backtest_brier"]
    )
    assert third.promoted == passes
    assert third.champion == ("3" if passes else "1")
    assert "on the same 3 origins" in third.message
    if not passes:
        assert "is challenger because" in third.message


def test_backtest_logs_a_parent_run_a_child_per_origin_and_the_named_metrics(
    tmp_path: Path,
) -> None:
    from mlflow.tracking import MlflowClient

    settings = _settings(tmp_path)
    outcome = backtest(settings, today=TODAY, config=CONFIG, options=OPTIONS, plan=PLAN)
    assert outcome.table["origin"].to_list() == ["2022", "2023", "2024", "pooled"]
    assert "| pooled |" in outcome.markdown
    assert ("beats" in outcome.message) != ("does NOT beat" in outcome.message)

    client = MlflowClient(settings.tracking_uri)
    parent = client.get_run(outcome.run_id)
    for name in (
        "backtest_roc_auc",
        "backtest_pr_auc",
        "backtest_brier",
        "baseline_roc_auc",
        "baseline_pr_auc",
        "logistic_roc_auc",
        "logistic_pr_auc",
    ):
        assert name in parent.data.metrics, name
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{outcome.run_id}'",
    )
    assert sorted(child.info.run_name for child in children) == [
        "origin 2022",
        "origin 2023",
        "origin 2024",
    ]
    artifacts = {item.path for item in client.list_artifacts(outcome.run_id, "plots")}
    assert artifacts == {"plots/reliability.png", "plots/permutation_importance.png"}


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

    from riskengine.models.workflow import train_public
    from tests.models.test_tracking import register_tiny_model

    settings = _settings(tmp_path)
    register_tiny_model(settings)
    tracking.set_champion(settings, "1")
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.delete_model_version_tag(settings.model_name, "1", tracking.MODEL_SHA256_TAG)
    outcome = train_public(settings, if_missing=True, today=TODAY, config=CONFIG, options=OPTIONS)
    assert (outcome.skipped, outcome.version, outcome.champion) == (False, "2", "2")
    assert "version 1 has no recorded SHA-256" in outcome.message
    again = train_public(settings, if_missing=True, today=TODAY, config=CONFIG, options=OPTIONS)
    assert again.skipped and again.champion == "2"
