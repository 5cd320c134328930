"""Pipeline factory, time-based split, fit, calibration and held-out evaluation.

Imports scikit-learn; only the commands that train or score import this module.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from riskengine.features.common import months_before
from riskengine.models.matrix import feature_matrix
from riskengine.models.panel import PanelWindow

BASELINE_FEATURE = "material_hhi_wgi"
RANDOM_STATE = 0

# Direction known: more concentration, weaker governance, more severe or more recent
# restrictions never lower the risk. Left free: the age of the data and the days since the
# last restriction, whose effect need not be monotonic.
MONOTONIC_INCREASING = frozenset(
    {
        "material_hhi",
        "top_producer_share",
        "material_hhi_wgi",
        "supplier_country_share",
        "supplier_country_governance",
        "export_control_severity",
        "destination_measure_severity",
        "flow_ban_in_force",
        "supplier_country_new_restrictions_24m",
        "material_new_restrictions_24m",
        "announced_measure_severity",
    }
)

HYPERPARAMETERS: dict[str, float | int] = {
    "learning_rate": 0.1,
    "max_iter": 150,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 200,
    "l2_regularization": 1.0,
}


@dataclass(frozen=True)
class TimeSplit:
    """Month ranges (inclusive) of the three periods; gaps of one horizon separate them."""

    train_end: date
    calibration_start: date
    calibration_end: date
    test_start: date
    test_end: date

    def as_params(self) -> dict[str, str]:
        return {name: value.isoformat() for name, value in self.__dict__.items()}


def time_split(
    window: PanelWindow, test_months: int = 24, calibration_months: int = 12
) -> TimeSplit:
    """Train, then calibrate, then test, each separated by a gap of the label horizon.

    A row's label looks ``horizon`` months ahead, so a gap of the horizon keeps every label of an
    earlier period from reading events inside a later one.
    """
    test_start = months_before(window.end, test_months - 1)
    calibration_end = months_before(test_start, window.horizon_months)
    calibration_start = months_before(calibration_end, calibration_months - 1)
    train_end = months_before(calibration_start, window.horizon_months)
    return TimeSplit(train_end, calibration_start, calibration_end, test_start, window.end)


def make_classifier(feature_names: tuple[str, ...]) -> HistGradientBoostingClassifier:
    """Gradient boosting with monotonic constraints where the direction is known."""
    return HistGradientBoostingClassifier(
        **HYPERPARAMETERS,
        monotonic_cst=[1 if name in MONOTONIC_INCREASING else 0 for name in feature_names],
        class_weight="balanced",
        random_state=RANDOM_STATE,
    )


@dataclass
class TrainingResult:
    """The calibrated model, its held-out metrics and what is needed to explain it."""

    model: CalibratedClassifierCV
    feature_names: tuple[str, ...]
    split: TimeSplit
    metrics: dict[str, float]
    neutral_values: dict[str, float]
    panel_fingerprint: str
    reliability: dict[str, list[float]] = field(default_factory=dict)
    input_example: pd.DataFrame | None = None


def _period(panel: pl.DataFrame, start: date | None, end: date) -> pl.DataFrame:
    rows = panel.filter(pl.col("as_of") <= end)
    return rows if start is None else rows.filter(pl.col("as_of") >= start)


def panel_fingerprint(panel: pl.DataFrame) -> str:
    """A short hash of the panel's content, stable across runs on the same data."""
    row_hashes = panel.hash_rows(seed=0)
    return hashlib.sha256(row_hashes.to_numpy().tobytes()).hexdigest()[:16]


def _scores(labels: np.ndarray, probabilities: np.ndarray, prefix: str) -> dict[str, float]:
    return {
        f"{prefix}roc_auc": float(roc_auc_score(labels, probabilities)),
        f"{prefix}pr_auc": float(average_precision_score(labels, probabilities)),
        f"{prefix}brier": float(brier_score_loss(labels, probabilities)),
    }


def train_model(
    panel: pl.DataFrame, feature_names: tuple[str, ...], split: TimeSplit
) -> TrainingResult:
    """Fit on the training period, calibrate on the calibration window, evaluate on the test period.

    The baseline is the EU-style governance-weighted HHI, mapped to a probability by a one-feature
    logistic regression fitted on the same calibration window, so its Brier score is comparable.
    """
    train = _period(panel, None, split.train_end)
    calibration = _period(panel, split.calibration_start, split.calibration_end)
    test = _period(panel, split.test_start, split.test_end)
    for name, part in (("training", train), ("calibration", calibration), ("test", test)):
        if part["label"].n_unique() < 2:
            raise ValueError(f"the {name} period has only one label class; widen the panel")

    # A feature with no value anywhere in the training period (governance scores are first
    # published in 2024) cannot be learnt from; it is left out and the run records which.
    feature_names = tuple(name for name in feature_names if train[name].null_count() < train.height)
    classifier = make_classifier(feature_names)
    classifier.fit(feature_matrix(train, feature_names), train["label"].to_numpy())
    model = CalibratedClassifierCV(FrozenEstimator(classifier), method="sigmoid")
    model.fit(feature_matrix(calibration, feature_names), calibration["label"].to_numpy())

    test_labels = test["label"].to_numpy()
    test_probabilities = model.predict_proba(feature_matrix(test, feature_names))[:, 1]
    metrics = _scores(test_labels, test_probabilities, "test_")

    baseline_index = test[BASELINE_FEATURE].fill_null(0.0).to_numpy().reshape(-1, 1)
    baseline_mapper = LogisticRegression().fit(
        calibration[BASELINE_FEATURE].fill_null(0.0).to_numpy().reshape(-1, 1),
        calibration["label"].to_numpy(),
    )
    baseline_probabilities = baseline_mapper.predict_proba(baseline_index)[:, 1]
    metrics |= {
        "baseline_roc_auc": float(roc_auc_score(test_labels, baseline_index.ravel())),
        "baseline_pr_auc": float(average_precision_score(test_labels, baseline_index.ravel())),
        "baseline_brier": float(brier_score_loss(test_labels, baseline_probabilities)),
    }
    metrics |= {
        "train_rows": float(train.height),
        "train_positive_rate": float(train["label"].mean()),
        "calibration_rows": float(calibration.height),
        "test_rows": float(test.height),
        "test_positive_rate": float(test_labels.mean()),
    }
    observed, predicted = calibration_curve(
        test_labels, test_probabilities, n_bins=10, strategy="quantile"
    )
    neutral_values = {
        name: float(value) if value is not None else 0.0
        for name, value in zip(
            feature_names,
            train.select(pl.col(name).cast(pl.Float64).median() for name in feature_names).row(0),
            strict=True,
        )
    }
    return TrainingResult(
        model=model,
        feature_names=feature_names,
        split=split,
        metrics=metrics,
        neutral_values=neutral_values,
        panel_fingerprint=panel_fingerprint(panel),
        reliability={"predicted": predicted.tolist(), "observed": observed.tolist()},
        input_example=feature_matrix(test.head(5), feature_names),
    )
