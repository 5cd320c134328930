"""Evaluation: gated retraining and the validation run (``backtest``).

The ``quick_training`` fixture keeps these quick: Japan as the only buyer, the panel from 2018,
one candidate configuration with few boosting rounds and a short bootstrap.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from riskengine.app.evaluation import backtest, retrain
from riskengine.config import Settings
from riskengine.models import tracking
from riskengine.models.validation import Candidate

QuickTraining = Any  # the ``quick_training`` fixture's type (tests/conftest.py)


def test_retraining_is_gated_on_the_same_folds_and_deterministic(
    store_settings: Settings, quick_training: QuickTraining
) -> None:
    settings = store_settings
    # Three retrainings: each validates on the quick panel's folds from 2025 on only (the
    # panel is the quick training's, built once per process); the gate needs folds, not many.
    quick_training = replace(quick_training, plan=replace(quick_training.plan, first_year=2025))
    first = retrain(settings, **quick_training.kwargs())
    assert (first.promoted, first.version, first.champion) == (True, "1", "1")
    assert "there was none" in first.message

    second = retrain(settings, **quick_training.kwargs())
    assert (second.promoted, second.version, second.champion) == (False, "2", "1")
    assert "champion stays version 1: nothing changed since it was trained" in second.message
    # Same data, same procedure: every figure is reproduced exactly.
    assert second.metrics == first.metrics
    assert tracking.alias_version(settings, tracking.CHALLENGER_ALIAS) == "2"

    # Another procedure is judged against the champion's validation on the same panel.
    other = replace(
        quick_training.plan, candidates=(Candidate(replace(quick_training.config, max_iter=5)),)
    )
    third = retrain(
        settings, today=quick_training.today, options=quick_training.options, plan=other
    )
    assert third.champion_metrics is not None
    assert third.champion_metrics["event_auc_6m"] == first.metrics["event_auc_6m"]
    passes = third.metrics["event_auc_6m"] >= first.metrics["event_auc_6m"]
    assert third.promoted == passes
    assert third.champion == ("3" if passes else "1")
    assert "on the same" in third.message and "folds" in third.message


def test_backtest_logs_the_named_metrics_a_child_per_fold_and_the_tables(
    store_settings: Settings, quick_training: QuickTraining
) -> None:
    from mlflow.tracking import MlflowClient

    settings = store_settings
    outcome = backtest(settings, **quick_training.kwargs())
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
