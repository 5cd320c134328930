"""The learnt hazard: decision-weighted boosting and its calibration.

A decision (one measure on an exporter and some materials) labels many flow-months; weighting
the rows so that each decision counts the same keeps a 20-material measure from outweighing
twenty one-material ones. The booster's raw output is mapped to a probability by a Platt map
fitted on out-of-fold scores; refits of that map on event-bootstrap samples give each score its
interval (:class:`riskengine.models.calibration.Calibration`).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from riskengine.models.calibration import Calibration, PlattMap
from riskengine.models.matrix import feature_matrix
from riskengine.models.training import ModelConfig, make_classifier, make_logistic

CALIBRATION_BOOTSTRAP = 200
RANDOM_SEED = 0


def decision_weights(rows: pl.DataFrame) -> np.ndarray:
    """Weights under which each decision's positive rows sum to the same total.

    Negative rows weigh 1. The positives' total weight equals their count, shared equally
    between the decisions behind them, so a measure tagged on 20 materials counts once.
    """
    labels = rows["label"].to_numpy()
    positives = int(labels.sum())
    if positives == 0:
        return np.ones(rows.height)
    exploded = (
        rows.select(pl.int_range(pl.len()).alias("row"), "label_events")
        .filter(pl.col("label_events").is_not_null())
        .with_columns(pl.col("label_events").str.split(";"))
        .explode("label_events")
    )
    per_event = exploded.group_by("label_events", maintain_order=True).agg(pl.len().alias("rows"))
    share = positives / per_event.height
    row_weights = (
        exploded.join(per_event, on="label_events")
        .sort("row", "label_events")
        .group_by("row", maintain_order=True)
        .agg((share / pl.col("rows")).sum().alias("weight"))
    )
    weights = np.ones(rows.height)
    weights[row_weights["row"].to_numpy()] = row_weights["weight"].to_numpy()
    return weights


def _compressed(
    rows: pl.DataFrame, feature_names: tuple[str, ...], weights: np.ndarray
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Distinct (features, label) rows with summed weights: the same loss, far fewer rows."""
    distinct = (
        rows.select(*(pl.col(name).cast(pl.Float64) for name in feature_names), "label")
        .with_columns(pl.Series("weight", weights))
        .group_by([*feature_names, "label"], maintain_order=True)
        .agg(pl.col("weight").sum())
    )
    return (
        feature_matrix(distinct, feature_names),
        distinct["label"].to_numpy().astype(np.int64),
        distinct["weight"].to_numpy(),
    )


def fit_hazard(
    rows: pl.DataFrame, feature_names: tuple[str, ...], config: ModelConfig
) -> HistGradientBoostingClassifier:
    """Boosting on decision-weighted rows: the learnt hazard, before calibration."""
    matrix, labels, weights = _compressed(rows, feature_names, decision_weights(rows))
    model = make_classifier(feature_names, config.for_rows(len(labels)))
    model.fit(matrix, labels, sample_weight=weights)
    return model


def fit_logistic(rows: pl.DataFrame, feature_names: tuple[str, ...]) -> Any:
    """The logistic baseline on the same decision-weighted rows."""
    matrix, labels, weights = _compressed(rows, feature_names, decision_weights(rows))
    model = make_logistic()
    model.fit(
        matrix,
        labels,
        standardscaler__sample_weight=weights,
        logisticregression__sample_weight=weights,
    )
    return model


def raw_scores(model: Any, rows: pl.DataFrame, feature_names: tuple[str, ...]) -> np.ndarray:
    """The model's uncalibrated probability, computed once per distinct feature vector."""
    distinct = rows.select(feature_names).unique(maintain_order=True)
    probability = model.predict_proba(feature_matrix(distinct, feature_names))[:, 1]
    lookup = distinct.with_columns(pl.Series("raw", probability))
    return (
        rows.select(feature_names)
        .join(lookup, on=list(feature_names), how="left", nulls_equal=True, maintain_order="left")[
            "raw"
        ]
        .to_numpy()
    )


def fit_platt(raw: np.ndarray, labels: np.ndarray, weights: np.ndarray | None = None) -> PlattMap:
    """A Platt map from raw scores to probabilities (almost no regularisation)."""
    clipped = np.clip(raw, 1e-9, 1 - 1e-9)
    logit = np.log(clipped / (1 - clipped))
    if labels.min() == labels.max():
        rate = float(labels.mean())
        return PlattMap(0.0, math.log(max(rate, 1e-6) / max(1 - rate, 1e-6)))
    # Rows share few distinct scores (one per distinct feature vector): the distinct (score,
    # label) pairs with their summed weights are the same objective, fitted ~100x faster.
    pairs, position = np.unique(
        np.column_stack([logit, labels.astype(np.float64)]), axis=0, return_inverse=True
    )
    summed = np.bincount(
        position.ravel(),
        weights=np.ones(len(labels)) if weights is None else weights,
        minlength=len(pairs),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=1e6, max_iter=1000).fit(
            pairs[:, :1], pairs[:, 1].astype(np.int64), sample_weight=summed
        )
    return PlattMap(float(model.coef_[0, 0]), float(model.intercept_[0]))


def fit_calibration(
    raw: np.ndarray,
    labels: np.ndarray,
    label_events: pl.Series,
    *,
    replicates: int = CALIBRATION_BOOTSTRAP,
    seed: int = RANDOM_SEED,
) -> Calibration:
    """A Platt map on out-of-fold scores, and replicates refitted on event-bootstrap samples.

    A replicate redraws the decisions with replacement: a positive row weighs as many times as
    its decisions were drawn (its decisions' mean draw count), negatives stay at 1. Rows are
    first collapsed to distinct (score, label, decisions) so the refits stay cheap.
    """
    # First-seen order keeps the refits, and so the registered calibration, reproducible.
    frame = (
        pl.DataFrame({"raw": raw, "label": labels, "events": label_events})
        .group_by("raw", "label", "events", maintain_order=True)
        .len("count")
    )
    point = fit_platt(frame["raw"].to_numpy(), frame["label"].to_numpy(), frame["count"].to_numpy())
    events = frame["events"].drop_nulls().str.split(";").explode().unique().sort().to_list()
    if not events or replicates == 0:
        return Calibration(point)
    event_lists = frame["events"].str.split(";").to_list()
    index = {event: position for position, event in enumerate(events)}
    generator = np.random.default_rng(seed)
    fits = []
    for _ in range(replicates):
        draws = np.bincount(generator.integers(0, len(events), len(events)), minlength=len(events))
        multiplier = np.array(
            [
                1.0 if ids is None else float(np.mean([draws[index[event]] for event in ids]))
                for ids in event_lists
            ]
        )
        weights = frame["count"].to_numpy() * multiplier
        keep = weights > 0
        fits.append(
            fit_platt(frame["raw"].to_numpy()[keep], frame["label"].to_numpy()[keep], weights[keep])
        )
    return Calibration(point, fits)
