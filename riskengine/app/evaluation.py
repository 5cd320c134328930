"""Evaluation jobs: ``backtest`` (decision-level validation) and ``retrain`` (the gated refit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from riskengine.app.training import (
    GATE_DECIMALS,
    PUBLIC_EVENTS,
    PanelOptions,
    Validated,
    log_validation,
    metrics_line,
    plan_fingerprint,
    quiet_openmp,
    register_validated,
    validated_procedure,
    validation_plan,
)
from riskengine.config import Settings
from riskengine.models.validation_markdown import validation_markdown


@dataclass(frozen=True)
class BacktestOutcome:
    """The result of ``riskengine backtest``."""

    table: pl.DataFrame
    pooled: dict[str, float]
    importances: pl.DataFrame
    markdown: str
    run_id: str
    message: str


@dataclass(frozen=True)
class RetrainOutcome:
    """The result of ``riskengine retrain``: the new version, and whether it became champion."""

    promoted: bool
    version: str
    champion: str
    previous_champion: str | None
    metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    backtest_run_id: str
    message: str


def backtest(
    settings: Settings,
    *,
    today: date | None = None,
    config: Any = None,
    options: PanelOptions | None = None,
    plan: Any = None,
) -> BacktestOutcome:
    """Decision-level validation of the training procedure, logged to MLflow.

    Logs a parent run (the named metrics, the reliability plot, the tables) with a child run
    per fold, and returns the tables for the README.
    """
    quiet_openmp()
    validated = validated_procedure(
        settings, today, options or PanelOptions(), validation_plan(plan, config)
    )
    run_id = log_validation(settings, validated, role="backtest")
    result = validated.result
    return BacktestOutcome(
        table=result.decisions,
        pooled=result.metrics,
        importances=result.summary,
        markdown=validation_markdown(result),
        run_id=run_id,
        message=f"validation: {metrics_line(result.metrics)}; run {run_id}",
    )


def _champion_event_auc(
    settings: Settings, champion: Any, validated: Validated, options: PanelOptions
) -> tuple[float | None, str]:
    """The champion procedure's event-level AUC on the candidate's folds and panel."""
    from riskengine.models import tracking

    if champion.tags.get("panel_fingerprint") == validated.built.fingerprint and champion.tags.get(
        "event_auc_6m"
    ):
        return float(champion.tags["event_auc_6m"]), "its own validation on this panel"
    recorded = tracking.run_document(settings, champion.run_id, tracking.CONFIG_ARTIFACT)
    if recorded is None:
        return None, "it has no recorded configuration"
    features = tuple(recorded["candidate_features"])
    missing = sorted(set(features) - set(validated.built.panel.columns))
    if missing:
        return None, f"its features {', '.join(missing)} no longer exist"
    rerun = validated_procedure(
        settings, None, options, validated.plan, features=features, built=validated.built
    )
    return rerun.result.metrics["event_auc_6m"], "its feature list validated on these folds now"


def retrain(
    settings: Settings,
    *,
    today: date | None = None,
    config: Any = None,
    options: PanelOptions | None = None,
    plan: Any = None,
) -> RetrainOutcome:
    """Rebuild the panel, validate, refit, register; move ``champion`` only through the gate.

    The candidate becomes champion when its event-level AUC on the same folds is at least the
    champion procedure's (see :func:`_champion_event_auc`).
    """
    quiet_openmp()
    from riskengine.models import tracking

    options = options or PanelOptions()
    validated = validated_procedure(settings, today, options, validation_plan(plan, config))
    backtest_run = log_validation(settings, validated, role="retrain")
    _, version, fitted = register_validated(settings, validated)
    metrics = fitted.metrics
    figures = metrics_line(metrics)
    current = tracking.champion_version(settings)
    if current is None or current == version:
        tracking.set_champion(settings, version)
        return RetrainOutcome(
            True,
            version,
            version,
            None,
            metrics,
            None,
            backtest_run,
            f"version {version} is champion: there was none ({figures})",
        )
    champion = tracking.version_details(settings, current)

    def keep_champion(message: str, champion_metrics: dict[str, float] | None) -> RetrainOutcome:
        tracking.set_challenger(settings, version)
        return RetrainOutcome(
            False, version, current, current, metrics, champion_metrics, backtest_run, message
        )

    if champion.tags.get("label_source", PUBLIC_EVENTS) != PUBLIC_EVENTS:
        return keep_champion(
            f"champion stays version {current}: it was trained on your own history, which the "
            f"public-events validation cannot judge; version {version} ({figures}) is "
            f"challenger; `riskengine model promote {version}` to switch",
            None,
        )
    procedure = plan_fingerprint(validated.plan, validated.features)
    if (
        champion.tags.get("panel_fingerprint") == validated.built.fingerprint
        and champion.tags.get("procedure_fingerprint") == procedure
    ):
        return keep_champion(
            f"champion stays version {current}: nothing changed since it was trained (same "
            f"reference data and panel {validated.built.fingerprint}, same procedure); version "
            f"{version} reproduces it and is challenger",
            metrics,
        )
    champion_auc, how = _champion_event_auc(settings, champion, validated, options)
    if champion_auc is None:
        return keep_champion(
            f"champion stays version {current}: it cannot be validated on the same folds "
            f"({how}); version {version} ({figures}) is challenger; review it with `riskengine "
            f"backtest` and `riskengine model promote {version}`",
            None,
        )
    candidate_auc = metrics["event_auc_6m"]
    versus = (
        f"event-level AUC {candidate_auc:.4f} against {champion_auc:.4f} on the same "
        f"{len(validated.result.folds)} folds (champion: {how})"
    )
    champion_metrics = {"event_auc_6m": champion_auc}
    if round(candidate_auc, GATE_DECIMALS) >= round(champion_auc, GATE_DECIMALS):
        tracking.set_champion(settings, version)
        return RetrainOutcome(
            True,
            version,
            version,
            current,
            metrics,
            champion_metrics,
            backtest_run,
            f"version {version} is champion (was {current}): {versus}",
        )
    return keep_champion(
        f"champion stays version {current}: version {version} is challenger because its "
        f"event-level AUC is lower: {versus}",
        champion_metrics,
    )
