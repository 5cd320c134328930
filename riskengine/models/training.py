"""Model factory, time-based split, fit, calibration and held-out evaluation.

The public-events model is validated and refitted by :mod:`riskengine.models.validation`; this
module holds the booster factory and configuration it uses, and the time-split training with a
calibration window that a team's own delivery history trains with
(:mod:`riskengine.models.history`). Imports scikit-learn; only the commands that train or score
import it.

Monotonic constraints (:data:`MONOTONIC_INCREASING`) encode directions known in advance: more
concentration, weaker governance, more or more severe restrictions in force, announced or aimed
at the buyer never lower the risk. Class imbalance (0.1-5% positives) is left to calibration;
the model is judged on ranking decisions, never accuracy.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date
from typing import Any, cast

import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from riskengine.features.common import months_before
from riskengine.models.matrix import feature_matrix
from riskengine.models.panel import PanelWindow

BASELINE_FEATURE = "material_hhi_wgi"
RANDOM_STATE = 0
TOP_FRACTION = 0.05

# Direction known: more concentration, weaker governance, more or more severe restrictions
# (in force, announced, recent, aimed at the buyer) never lower the risk. Left free: the age of
# the data, the days since the last restriction, and a ban already in force (a flow that is
# already banned cannot be newly restricted, so its direction is not obvious).
MONOTONIC_INCREASING = (
    "announced_measure_severity",
    "buyer_country_targeted_measures_24m",
    "buyer_country_targeted_measures_in_force",
    "buyer_import_hhi",
    "decayed_restriction_severity",
    "destination_measure_severity",
    "export_control_severity",
    "material_hhi",
    "material_hhi_wgi",
    "material_measures_in_force",
    "material_new_restrictions_24m",
    "peer_unprocessed_bans_in_force",
    "supplier_country_governance",
    "supplier_country_measures_in_force",
    "supplier_country_new_restrictions_12m",
    "supplier_country_new_restrictions_24m",
    "supplier_country_new_restrictions_60m",
    "supplier_country_other_measures_24m",
    "supplier_country_restrictions_to_date",
    "supplier_country_share",
    "supplier_share_of_buyer_imports",
    "top_producer_share",
)


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines how a model is trained, logged with every run.

    Two runs with equal configurations on the same panel produce the same model, so the
    configuration's fingerprint plus the panel's identify a training procedure.
    """

    learning_rate: float = 0.1
    max_iter: int = 150
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    class_weight: str | None = None
    monotonic_increasing: tuple[str, ...] = MONOTONIC_INCREASING
    calibration_months: int = 24
    test_months: int = 24
    random_state: int = RANDOM_STATE

    def as_params(self) -> dict[str, str | int | float]:
        """Flat parameters for MLflow (the monotonic list is logged in the config artifact)."""
        params: dict[str, str | int | float] = {}
        for name, value in asdict(self).items():
            if name == "monotonic_increasing":
                params["monotonic_feature_count"] = len(value)
            else:
                params[f"model_{name}"] = "none" if value is None else value
        params["config_fingerprint"] = self.fingerprint()
        return params

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary; :meth:`from_dict` reads it back."""
        values = asdict(self)
        values["monotonic_increasing"] = list(self.monotonic_increasing)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """The configuration a run recorded; unknown keys are refused."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown model configuration keys: {', '.join(unknown)}")
        values = dict(values)
        if "monotonic_increasing" in values:
            values["monotonic_increasing"] = tuple(values["monotonic_increasing"])
        return cls(**values)

    def fingerprint(self) -> str:
        """A short hash of the configuration."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def for_rows(self, rows: int) -> ModelConfig:
        """The same configuration with leaves small enough for ``rows`` distinct training rows.

        A team's own history may have a few hundred rows, where large leaves could not split.
        """
        leaf = min(self.min_samples_leaf, max(2, rows // 20))
        return replace(self, min_samples_leaf=leaf)


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


def make_classifier(
    feature_names: tuple[str, ...], config: ModelConfig | None = None
) -> HistGradientBoostingClassifier:
    """Gradient boosting with monotonic constraints where the direction is known.

    Classes are balanced through sample weights (see :func:`compress`), not here.
    """
    config = config or ModelConfig()
    increasing = set(config.monotonic_increasing)
    return HistGradientBoostingClassifier(
        learning_rate=config.learning_rate,
        max_iter=config.max_iter,
        max_leaf_nodes=config.max_leaf_nodes,
        min_samples_leaf=config.min_samples_leaf,
        l2_regularization=config.l2_regularization,
        monotonic_cst=[1 if name in increasing else 0 for name in feature_names],
        # A fixed number of boosting rounds: early stopping would hold out a random tenth of
        # rows that are months of the same flows, and make the model depend on that draw.
        early_stopping=False,
        random_state=config.random_state,
    )


def make_logistic() -> Any:
    """The linear comparison model: median imputation, scaling, logistic regression."""
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    )


def learnable_features(rows: pl.DataFrame, feature_names: tuple[str, ...]) -> tuple[str, ...]:
    """The features with at least one value in ``rows``.

    A feature with no value anywhere in the fitting period (governance scores are first
    published in 2024) cannot be learnt from; it is left out and the run records which.
    """
    return tuple(name for name in feature_names if rows[name].null_count() < rows.height)


@dataclass(frozen=True)
class CompressedRows:
    """Distinct (features, label) rows with how many panel rows each stands for."""

    matrix: pd.DataFrame
    labels: np.ndarray
    counts: np.ndarray

    def weights(self, class_weight: str | None) -> np.ndarray:
        """Row counts, times the class weight that balances the classes for ``balanced``.

        The class weights come from these rows' own counts, never from a later period.
        """
        if class_weight is None:
            return self.counts.astype(np.float64)
        total = self.counts.sum()
        positives = self.counts[self.labels == 1].sum()
        if class_weight == "balanced":
            factor = np.where(
                self.labels == 1, total / (2.0 * positives), total / (2.0 * (total - positives))
            )
        elif class_weight == "sqrt":
            factor = np.where(self.labels == 1, np.sqrt((total - positives) / positives), 1.0)
        else:
            raise ValueError(
                f"class_weight must be 'balanced', 'sqrt' or None; got {class_weight!r}"
            )
        return self.counts * factor


def compress(rows: pl.DataFrame, feature_names: tuple[str, ...]) -> CompressedRows:
    """Collapse identical rows into one weighted row.

    A flow's features rarely change from one month to the next: the public panel's 0.8 million
    rows hold about 20 thousand distinct ones. Weighting each distinct row by its count leaves
    every loss the same (boosting gradients, the calibration's and the logistic regression's
    log loss) and makes fitting some forty times faster. First-seen order keeps it
    deterministic.
    """
    distinct = (
        rows.select(*(pl.col(name).cast(pl.Float64) for name in feature_names), "label")
        .group_by([*feature_names, "label"], maintain_order=True)
        .len("count")
    )
    return CompressedRows(
        matrix=feature_matrix(distinct, feature_names),
        labels=distinct["label"].to_numpy().astype(np.int64),
        counts=distinct["count"].to_numpy().astype(np.float64),
    )


def fit_calibrated(
    fit_rows: pl.DataFrame,
    calibration_rows: pl.DataFrame,
    feature_names: tuple[str, ...],
    config: ModelConfig,
    kind: str = "boosting",
) -> CalibratedClassifierCV:
    """Fit ``kind`` (``boosting`` or ``logistic``) on ``fit_rows``, then calibrate it with a
    sigmoid on ``calibration_rows``.

    Raises
    ------
    ValueError
        When either period has a single label class.
    """
    for name, part in (("fitting", fit_rows), ("calibration", calibration_rows)):
        if part["label"].n_unique() < 2:
            raise ValueError(f"the {name} period has only one label class")
    fit = compress(fit_rows, feature_names)
    weights = fit.weights(config.class_weight)
    if kind == "boosting":
        estimator = make_classifier(feature_names, config.for_rows(len(fit.labels)))
        estimator.fit(fit.matrix, fit.labels, sample_weight=weights)
    else:
        estimator = make_logistic()
        estimator.fit(
            fit.matrix,
            fit.labels,
            standardscaler__sample_weight=weights,
            logisticregression__sample_weight=weights,
        )
    calibration = compress(calibration_rows, feature_names)
    model = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid")
    with warnings.catch_warnings():
        # The weights are meant for the sigmoid only: the frozen estimator is not refitted,
        # which is what the warning is about.
        warnings.filterwarnings("ignore", message="Since FrozenEstimator does not appear")
        model.fit(calibration.matrix, calibration.labels, sample_weight=calibration.counts)
    return model


def baseline_index(rows: pl.DataFrame) -> np.ndarray:
    """The EU-style governance-weighted HHI of each row (0 when unknown)."""
    return rows[BASELINE_FEATURE].cast(pl.Float64).fill_null(0.0).to_numpy()


def fit_baseline_mapper(calibration_rows: pl.DataFrame) -> LogisticRegression:
    """A one-feature logistic map from the EU index to a probability, so its Brier score is
    comparable; fitted on the calibration window like the model's calibration."""
    return LogisticRegression().fit(
        baseline_index(calibration_rows).reshape(-1, 1), calibration_rows["label"].to_numpy()
    )


def precision_at_top(
    labels: np.ndarray, scores: np.ndarray, fraction: float = TOP_FRACTION
) -> float:
    """Share of positives among the top ``fraction`` of rows by score.

    Rows tied at the cut-off count at their average label, which is the expected precision if
    ties were broken at random: a score that cannot separate rows earns no credit for order.
    """
    if len(labels) == 0:
        return math.nan
    take = max(1, math.ceil(fraction * len(labels)))
    order = np.argsort(-scores, kind="stable")
    threshold = scores[order[take - 1]]
    above = scores > threshold
    tied = scores == threshold
    from_tied = take - int(above.sum())
    hits = labels[above].sum() + from_tied * labels[tied].mean()
    return float(hits / take)


def evaluation_scores(
    labels: np.ndarray, scores: np.ndarray, prefix: str, *, probabilities: bool = True
) -> dict[str, float]:
    """ROC-AUC, PR-AUC, precision at the top 5% and (for ``probabilities``) the Brier score.

    AUCs are NaN when the rows hold a single class; an index that is not a probability (the
    EU one) gets no Brier score here.
    """
    both_classes = 0 < labels.sum() < len(labels)
    scores_by_name = {
        f"{prefix}roc_auc": float(roc_auc_score(labels, scores)) if both_classes else math.nan,
        f"{prefix}pr_auc": (
            float(average_precision_score(labels, scores)) if both_classes else math.nan
        ),
        f"{prefix}precision_top5": precision_at_top(labels, scores),
    }
    if probabilities:
        scores_by_name[f"{prefix}brier"] = float(brier_score_loss(labels, scores, labels=[0, 1]))
    return scores_by_name


@dataclass
class TrainingResult:
    """The trained model, its held-out metrics and what is needed to explain it.

    ``split`` is the data window the metrics come from (anything with ``as_params()``: a
    :class:`TimeSplit` here, the validation window for a public-events model).
    """

    model: Any
    feature_names: tuple[str, ...]
    split: Any
    metrics: dict[str, float]
    neutral_values: dict[str, float]
    panel_fingerprint: str
    config: ModelConfig = field(default_factory=ModelConfig)
    reliability: dict[str, list[float]] = field(default_factory=dict)


def period_rows(panel: pl.DataFrame, start: date | None, end: date) -> pl.DataFrame:
    """Rows whose ``as_of`` lies in [``start``, ``end``] (no lower bound for ``None``)."""
    rows = panel.filter(pl.col("as_of") <= end)
    return rows if start is None else rows.filter(pl.col("as_of") >= start)


def panel_fingerprint(panel: pl.DataFrame) -> str:
    """A short hash of the panel's content, stable across runs on the same data."""
    row_hashes = panel.hash_rows(seed=0)
    return hashlib.sha256(row_hashes.to_numpy().tobytes()).hexdigest()[:16]


def neutral_values(rows: pl.DataFrame, feature_names: tuple[str, ...]) -> dict[str, float]:
    """Training medians: the values a feature family is set to when explaining a score."""
    medians = rows.select(pl.col(name).cast(pl.Float64).median() for name in feature_names).row(0)
    return {
        name: float(value) if value is not None else 0.0
        for name, value in zip(feature_names, medians, strict=True)
    }


def train_model(
    panel: pl.DataFrame,
    feature_names: tuple[str, ...],
    split: TimeSplit,
    config: ModelConfig | None = None,
) -> TrainingResult:
    """Fit on the training period, calibrate on the calibration window, evaluate on the test period.

    The baseline is the EU-style governance-weighted HHI, mapped to a probability by a one-feature
    logistic regression fitted on the same calibration window, so its Brier score is comparable.

    Raises
    ------
    ValueError
        When a period has a single label class.
    """
    config = config or ModelConfig()
    train = period_rows(panel, None, split.train_end)
    calibration = period_rows(panel, split.calibration_start, split.calibration_end)
    test = period_rows(panel, split.test_start, split.test_end)
    for name, part in (("training", train), ("calibration", calibration), ("test", test)):
        if part.is_empty() or part["label"].n_unique() < 2:
            raise ValueError(f"the {name} period has only one label class; widen the panel")

    feature_names = learnable_features(train, feature_names)
    model = fit_calibrated(train, calibration, feature_names, config)

    test_labels = test["label"].to_numpy()
    test_probabilities = model.predict_proba(feature_matrix(test, feature_names))[:, 1]
    metrics = evaluation_scores(test_labels, test_probabilities, "test_")
    index = baseline_index(test)
    mapper = fit_baseline_mapper(calibration)
    metrics |= evaluation_scores(test_labels, index, "baseline_", probabilities=False)
    metrics["baseline_brier"] = float(
        brier_score_loss(test_labels, mapper.predict_proba(index.reshape(-1, 1))[:, 1])
    )
    metrics |= {
        "train_rows": float(train.height),
        "train_positive_rate": float(cast(float, train["label"].mean())),
        "calibration_rows": float(calibration.height),
        "test_rows": float(test.height),
        "test_positive_rate": float(test_labels.mean()),
    }
    observed, predicted = calibration_curve(
        test_labels, test_probabilities, n_bins=10, strategy="quantile"
    )
    return TrainingResult(
        model=model,
        feature_names=feature_names,
        split=split,
        metrics=metrics,
        neutral_values=neutral_values(train, feature_names),
        panel_fingerprint=panel_fingerprint(panel),
        config=config,
        reliability={"predicted": predicted.tolist(), "observed": observed.tolist()},
    )
