"""Rolling-origin backtest of the training procedure, against two baselines on the same folds.

For each origin (1 January of each year), the procedure is run as it could have been on that
day: the booster is fitted on rows whose label horizon ended a year before the calibration
window starts, calibrated on the twelve months whose labels close by the origin, and evaluated
on the months of the following horizon. No row used for fitting or calibration has a label
that reads past the origin. An origin is evaluated only when every label of its held-out
months is observed.

The same folds score two baselines:

- the EU-style governance-weighted HHI (``material_hhi_wgi``): its raw value ranks rows for
  ROC-AUC, PR-AUC and precision at the top 5%; a one-feature logistic map fitted on the
  calibration window turns it into a probability for the Brier score;
- a logistic regression on every model feature (median imputation, scaling, balanced classes),
  calibrated on the same window as the model.

The panel is built once and sliced per origin. Each fold fits the same booster configuration
as production training; boosting rounds can be lowered for speed with
:attr:`BacktestPlan.max_iter` (a backtest of fewer rounds measures a slightly different
procedure, so the gate in :mod:`riskengine.models.workflow` never mixes the two).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date

import numpy as np
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.inspection import permutation_importance
from sklearn.metrics import brier_score_loss

from riskengine.features.common import months_before
from riskengine.models.matrix import feature_matrix
from riskengine.models.panel import PanelWindow, months_after
from riskengine.models.training import (
    ModelConfig,
    baseline_index,
    evaluation_scores,
    fit_baseline_mapper,
    fit_calibrated,
    learnable_features,
    period_rows,
)

MODELS = ("model", "baseline", "logistic")
# Pooled metric names: the model's carry the ``backtest_`` prefix the issue asks for.
POOLED_PREFIXES = {"model": "backtest_", "baseline": "baseline_", "logistic": "logistic_"}
METRICS = ("roc_auc", "pr_auc", "brier", "precision_top5")


@dataclass(frozen=True)
class BacktestPlan:
    """Which origins to try and how much work the diagnostics may take."""

    first_year: int = 2012
    last_year: int = 2025
    importance_rows: int = 8_000
    importance_repeats: int = 2
    max_iter: int | None = None

    def to_dict(self) -> dict[str, int | None]:
        return asdict(self)


@dataclass(frozen=True)
class Fold:
    """One origin: the months each part of the procedure may use (inclusive)."""

    origin: date
    fit_end: date
    calibration_start: date
    calibration_end: date
    evaluation_end: date

    def as_params(self) -> dict[str, str]:
        return {name: value.isoformat() for name, value in asdict(self).items()}


@dataclass
class BacktestResult:
    """Per-origin and pooled metrics of the model and both baselines, with diagnostics."""

    table: pl.DataFrame
    pooled: dict[str, float]
    predictions: pl.DataFrame
    importances: pl.DataFrame
    folds: list[Fold]
    skipped: dict[date, str]
    folds_fingerprint: str
    reliability: dict[str, dict[str, list[float]]] = field(default_factory=dict)


def plan_folds(
    window: PanelWindow, plan: BacktestPlan, calibration_months: int
) -> tuple[list[Fold], dict[date, str]]:
    """The origins that can be evaluated, and why the others cannot."""
    horizon = window.horizon_months
    folds: list[Fold] = []
    skipped: dict[date, str] = {}
    for year in range(plan.first_year, plan.last_year + 1):
        origin = date(year, 1, 1)
        evaluation_end = months_after(origin, horizon - 1)
        calibration_end = months_before(origin, horizon)
        calibration_start = months_before(calibration_end, calibration_months - 1)
        fit_end = months_before(calibration_start, horizon)
        if evaluation_end > window.end:
            skipped[origin] = (
                f"held-out labels not fully observed (the panel's labels are complete to "
                f"{window.end:%Y-%m})"
            )
        elif fit_end < window.start:
            skipped[origin] = (
                f"no months to fit on before the calibration window (the panel starts "
                f"{window.start:%Y-%m})"
            )
        else:
            folds.append(Fold(origin, fit_end, calibration_start, calibration_end, evaluation_end))
    return folds, skipped


def folds_fingerprint(
    folds: list[Fold], panel_fingerprint: str, window: PanelWindow, plan: BacktestPlan
) -> str:
    """Identifies the folds: the same value means the same rows in every part of every fold."""
    text = json.dumps(
        {
            "panel": panel_fingerprint,
            "horizon": window.horizon_months,
            "folds": [fold.as_params() for fold in folds],
            "max_iter": plan.max_iter,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _importances(
    model: object,
    rows: pl.DataFrame,
    feature_names: tuple[str, ...],
    plan: BacktestPlan,
    seed: int,
) -> pl.DataFrame | None:
    """Drop in PR-AUC when each feature is shuffled, on a sample of the held-out rows."""
    if rows.height > plan.importance_rows:
        rows = rows.sample(plan.importance_rows, seed=seed)
    labels = rows["label"].to_numpy()
    if not 0 < labels.sum() < len(labels):
        return None
    result = permutation_importance(
        model,
        feature_matrix(rows, feature_names),
        labels,
        scoring="average_precision",
        n_repeats=plan.importance_repeats,
        random_state=seed,
    )
    return pl.DataFrame(
        {
            "feature": list(feature_names),
            "importance": result.importances_mean.astype(float),
        }
    )


def _fold_metrics(
    labels: np.ndarray,
    model_probability: np.ndarray,
    logistic_probability: np.ndarray,
    index: np.ndarray,
    baseline_probability: np.ndarray,
) -> dict[str, float]:
    metrics = evaluation_scores(labels, model_probability, "model_")
    metrics |= evaluation_scores(labels, logistic_probability, "logistic_")
    metrics |= evaluation_scores(labels, index, "baseline_", probabilities=False)
    metrics["baseline_brier"] = float(brier_score_loss(labels, baseline_probability))
    return metrics


def run_backtest(
    panel: pl.DataFrame,
    feature_names: tuple[str, ...],
    window: PanelWindow,
    config: ModelConfig,
    plan: BacktestPlan | None = None,
    panel_fingerprint: str = "",
) -> BacktestResult:
    """Evaluate the training procedure at every feasible origin; pool the held-out rows.

    Parameters
    ----------
    panel
        The whole panel (built once), with ``as_of`` and ``label``.
    feature_names
        Candidate model features; each fold drops those with no value before its origin.
    window
        The panel's months and label horizon.
    config
        The model configuration under test (``plan.max_iter`` may lower its rounds).
    plan
        Origins and diagnostics; defaults to every year from 2012 to 2025.
    panel_fingerprint
        Identifies the panel in :attr:`BacktestResult.folds_fingerprint`.
    """
    plan = plan or BacktestPlan()
    if plan.max_iter is not None:
        config = replace(config, max_iter=plan.max_iter)
    folds, skipped = plan_folds(window, plan, config.calibration_months)
    evaluated: list[Fold] = []
    table_rows: list[dict[str, object]] = []
    predictions: list[pl.DataFrame] = []
    importances: list[pl.DataFrame] = []
    for fold in folds:
        fit = period_rows(panel, None, fold.fit_end)
        calibration = period_rows(panel, fold.calibration_start, fold.calibration_end)
        evaluation = period_rows(panel, fold.origin, fold.evaluation_end)
        single = [
            name
            for name, part in (("fitting", fit), ("calibration", calibration))
            if part["label"].n_unique() < 2
        ]
        if single or evaluation.is_empty():
            skipped[fold.origin] = (
                f"the {' and '.join(single)} period has a single label class"
                if single
                else "no held-out rows"
            )
            continue
        names = learnable_features(fit, feature_names)
        model = fit_calibrated(fit, calibration, names, config)
        logistic = fit_calibrated(fit, calibration, names, config, kind="logistic")
        mapper = fit_baseline_mapper(calibration)
        matrix = feature_matrix(evaluation, names)
        labels = evaluation["label"].to_numpy().astype(np.int64)
        index = baseline_index(evaluation)
        fold_predictions = pl.DataFrame(
            {
                "origin": [fold.origin] * evaluation.height,
                "as_of": evaluation["as_of"],
                "label": labels,
                "model": model.predict_proba(matrix)[:, 1],
                "logistic": logistic.predict_proba(matrix)[:, 1],
                "baseline": index,
                "baseline_probability": mapper.predict_proba(index.reshape(-1, 1))[:, 1],
            }
        )
        predictions.append(fold_predictions)
        metrics = _fold_metrics(
            labels,
            fold_predictions["model"].to_numpy(),
            fold_predictions["logistic"].to_numpy(),
            index,
            fold_predictions["baseline_probability"].to_numpy(),
        )
        table_rows.append(
            {
                "origin": str(fold.origin.year),
                "fit_rows": fit.height,
                "calibration_rows": calibration.height,
                "evaluation_rows": evaluation.height,
                "positives": int(labels.sum()),
                **metrics,
            }
        )
        fold_importance = _importances(model, evaluation, names, plan, seed=fold.origin.year)
        if fold_importance is not None:
            importances.append(fold_importance.with_columns(pl.lit(fold.origin).alias("origin")))
        evaluated.append(fold)

    if not predictions:
        raise ValueError(
            "no backtest origin could be evaluated: "
            + "; ".join(f"{origin:%Y}: {reason}" for origin, reason in sorted(skipped.items()))
        )
    pooled_predictions = pl.concat(predictions)
    pooled_labels = pooled_predictions["label"].to_numpy()
    pooled_metrics = _fold_metrics(
        pooled_labels,
        pooled_predictions["model"].to_numpy(),
        pooled_predictions["logistic"].to_numpy(),
        pooled_predictions["baseline"].to_numpy(),
        pooled_predictions["baseline_probability"].to_numpy(),
    )
    table_rows.append(
        {
            "origin": "pooled",
            "fit_rows": None,
            "calibration_rows": None,
            "evaluation_rows": pooled_predictions.height,
            "positives": int(pooled_labels.sum()),
            **pooled_metrics,
        }
    )
    pooled = {
        f"{POOLED_PREFIXES[model]}{metric}": pooled_metrics[f"{model}_{metric}"]
        for model in MODELS
        for metric in METRICS
    }
    pooled |= {
        "backtest_origins": float(len(evaluated)),
        "backtest_rows": float(pooled_predictions.height),
        "backtest_positives": float(pooled_labels.sum()),
    }
    table = pl.DataFrame(table_rows, infer_schema_length=None)
    skipped_rows = pl.DataFrame(
        {"origin": [f"{origin:%Y}" for origin in sorted(skipped)]}
    ).with_columns(
        pl.Series("skipped", [skipped[origin] for origin in sorted(skipped)], dtype=pl.String)
    )
    table = (
        pl.concat([table, skipped_rows], how="diagonal_relaxed")
        .with_columns(pl.col("origin").replace({"pooled": "9999"}).alias("_order"))
        .sort("_order")
        .drop("_order")
    )
    if "skipped" not in table.columns:
        table = table.with_columns(pl.lit(None, dtype=pl.String).alias("skipped"))
    return BacktestResult(
        table=table,
        pooled=pooled,
        predictions=pooled_predictions,
        importances=_summarise_importances(importances),
        folds=evaluated,
        skipped=skipped,
        folds_fingerprint=folds_fingerprint(evaluated, panel_fingerprint, window, plan),
        reliability={
            name: _reliability(pooled_labels, pooled_predictions[column].to_numpy())
            for name, column in (
                ("model", "model"),
                ("logistic", "logistic"),
                ("EU index (logistic map)", "baseline_probability"),
            )
        },
    )


def _summarise_importances(importances: list[pl.DataFrame]) -> pl.DataFrame:
    schema = {"feature": pl.String, "mean_pr_auc_drop": pl.Float64, "std": pl.Float64}
    if not importances:
        return pl.DataFrame(schema=schema | {"origins": pl.UInt32})
    return (
        pl.concat(importances)
        .group_by("feature")
        .agg(
            pl.col("importance").mean().alias("mean_pr_auc_drop"),
            pl.col("importance").std().fill_null(0.0).alias("std"),
            pl.len().alias("origins"),
        )
        .sort(["mean_pr_auc_drop", "feature"], descending=[True, False])
    )


def _reliability(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, list[float]]:
    observed, predicted = calibration_curve(labels, probabilities, n_bins=10, strategy="quantile")
    return {"predicted": predicted.tolist(), "observed": observed.tolist()}


def markdown_table(table: pl.DataFrame) -> str:
    """The backtest table as GitHub markdown: per origin and pooled, model against baselines."""
    columns = [
        ("origin", "origin"),
        ("evaluation_rows", "rows"),
        ("positives", "positives"),
        ("model_pr_auc", "model PR-AUC"),
        ("baseline_pr_auc", "EU index PR-AUC"),
        ("logistic_pr_auc", "logistic PR-AUC"),
        ("model_roc_auc", "model ROC-AUC"),
        ("baseline_roc_auc", "EU index ROC-AUC"),
        ("logistic_roc_auc", "logistic ROC-AUC"),
        ("model_brier", "model Brier"),
        ("baseline_brier", "EU index Brier"),
        ("logistic_brier", "logistic Brier"),
        ("model_precision_top5", "model P@5%"),
        ("baseline_precision_top5", "EU index P@5%"),
        ("logistic_precision_top5", "logistic P@5%"),
    ]
    lines = [
        "| " + " | ".join(title for _, title in columns) + " |",
        "|" + "|".join("---" if name == "origin" else "---:" for name, _ in columns) + "|",
    ]
    for row in table.iter_rows(named=True):
        if row.get("skipped"):
            cells = [row["origin"], f"skipped: {row['skipped']}"] + [""] * (len(columns) - 2)
        else:
            cells = [_cell(row[name], name) for name, _ in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        return f"{value:.4f}" if name.endswith("brier") else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
