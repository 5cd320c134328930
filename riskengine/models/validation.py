"""Validation by decision: is each restriction seen coming six months ahead, among all flows?

The unit of evidence is a decision: one government measure (or escalation) on an exporter and a
set of materials, for some destinations, from a date. A monthly panel repeats a decision over
many flows and months, so row metrics weigh a 20-material measure twenty times a one-material
one. Here every decision counts once.

The procedure (:func:`validate`):

- **Time-blocked, purged folds.** For each calendar year Y, the fold's model is fitted on panel
  rows whose 12-month label horizon closed by 1 January Y (rows up to Y-1-01-01), so no
  training label reads an event of the held-out year. Its settings are chosen inside the fold
  (nested): each candidate configuration is fitted on rows two years older still and judged by
  the same decision-level AUC on the decisions of the year before the origin.
- **Held-out decisions.** Every restrictive decision whose scoring date (the first of the month
  at least ``lead_months`` before it took effect) falls in a reported year is scored by that
  year's model among all flows of that date: its flows' percentiles, and its AUC (the chance
  that one of its flows outranks an unaffected flow, ties counted half).
- **Event-level AUC** is the mean of the decisions' AUCs, with 95% event-bootstrap intervals
  and leave-one-event-out extremes; the same for the baselines ("the supplier country is
  China", "the supplier country's restrictive measures in the last 5 years", the EU-style
  index Σ share² × WGI, and a logistic regression on the model's features).
- **Calibration** is a Platt map fitted on the out-of-fold scores of earlier folds only, so the
  reported calibration error and predicted ÷ observed per year are out of sample too. The
  band cut-offs of a fold come from earlier folds' scores of the whole flow universe.

The registered model (:func:`fit_final`) is refitted on all labelled rows with the settings the
same nested choice picks at the last origin, and calibrated on all out-of-fold scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score

from riskengine.bands import RISK_BANDS, coverage_cutoffs, risk_band
from riskengine.features.common import months_before
from riskengine.features.export_controls import RESTRICTIVE
from riskengine.models.calibration import Calibration, PlattMap
from riskengine.models.hazard import (
    RANDOM_SEED,
    fit_calibration,
    fit_hazard,
    fit_logistic,
    fit_platt,
    raw_scores,
)
from riskengine.models.matrix import feature_matrix
from riskengine.models.training import ModelConfig, learnable_features
from riskengine.restriction_state import STATE_BAND_FLOORS, combine, state_score, with_state

LEAD_MONTHS = 6
BOOTSTRAP_SAMPLES = 2000
MEASURES_WINDOW_MONTHS = 60
ECE_BINS = 10


@dataclass(frozen=True)
class Candidate:
    """One setting of the nested choice: a booster configuration and the features it leaves
    out (the choice of features is made inside the folds like that of the settings)."""

    config: ModelConfig
    without: tuple[str, ...] = ()

    def features(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name for name in names if name not in self.without)

    def fingerprint(self) -> str:
        return f"{self.config.fingerprint()}-{'+'.join(self.without)}"


SHALLOW = ModelConfig(max_leaf_nodes=7, max_iter=100, learning_rate=0.1, l2_regularization=1.0)
DEEPER = ModelConfig(max_leaf_nodes=15, max_iter=150, learning_rate=0.1, l2_regularization=1.0)
SLOW = ModelConfig(max_leaf_nodes=7, max_iter=200, learning_rate=0.05, l2_regularization=10.0)
CONCENTRATION_FEATURES = (
    "material_hhi",
    "top_producer_share",
    "material_hhi_wgi",
    "supplier_country_share",
    "supplier_country_governance",
)
# Shallow and strongly regularised to deeper, and two feature choices: without the peer-ban
# indicator, and without production concentration (whose editions are sparse before 2022).
CANDIDATES: tuple[Candidate, ...] = (
    Candidate(SHALLOW),
    Candidate(DEEPER),
    Candidate(SLOW),
    Candidate(SHALLOW, without=("peer_unprocessed_bans_in_force",)),
    Candidate(SLOW, without=CONCENTRATION_FEATURES),
)
BASELINES = ("china", "measures_5y", "eu_index", "logistic")
# What each scored column is, in the tables the README, the MLflow run and the report show.
SCORE_LABELS = {
    "risk_score": "risk_score (state + hazard)",
    "model_score": "model_score (learnt hazard only)",
    "china": "baseline: supplier country is China",
    "measures_5y": "baseline: supplier country's restrictive measures, last 5 years",
    "eu_index": "baseline: EU-style index (HHI x WGI)",
    "logistic": "baseline: logistic regression, same features",
}
HEURISTICS = ("china", "measures_5y", "eu_index")


@dataclass(frozen=True)
class ValidationPlan:
    """Which years are reported and how much resampling the intervals use."""

    first_year: int = 2015
    warmup_years: int = 2
    lead_months: int = LEAD_MONTHS
    bootstrap: int = BOOTSTRAP_SAMPLES
    candidates: tuple[Candidate, ...] = CANDIDATES
    seed: int = RANDOM_SEED


# -- decisions and their flows ----------------------------------------------------------------


def first_of_month(day: date) -> date:
    return date(day.year, day.month, 1)


def held_out_decisions(
    disruptions: pl.DataFrame, reference_events: pl.DataFrame, *, lead_months: int
) -> pl.DataFrame:
    """Each decision with its date, scoring date and the flows it covers.

    Columns: ``event_id``, ``disrupts_on``, ``scoring_date`` (the first of the month at least
    ``lead_months`` before), ``pair_ids`` (list), and the event's country, measure and target.
    """
    decisions = disruptions.group_by("event_id").agg(
        pl.col("disrupts_on").min(), pl.col("pair_id").unique().sort().alias("pair_ids")
    )
    scoring = [first_of_month(months_before(day, lead_months)) for day in decisions["disrupts_on"]]
    return (
        decisions.with_columns(pl.Series("scoring_date", scoring, dtype=pl.Date))
        .join(
            reference_events.select(
                "event_id", "country_iso3", "measure", "target_country_iso3", "materials"
            ),
            on="event_id",
            how="left",
        )
        .sort("scoring_date", "event_id")
    )


def measures_last_5_years(
    rows: pl.DataFrame, policy_events: pl.DataFrame, *, months: int = MEASURES_WINDOW_MONTHS
) -> np.ndarray:
    """The baseline: restrictive export measures by the supplier country that took effect in
    the ``months`` before each row's ``as_of`` (known by then)."""
    restrictive = policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & (pl.col("scope") == "flow")
        & pl.col("effective").is_not_null()
    ).select(pl.col("country_iso3").alias("supplier_country"), "effective", "announced")
    keys = rows.select("supplier_country", "as_of").unique()
    counts = (
        keys.join(restrictive, on="supplier_country", how="inner")
        .filter(
            (pl.col("effective") <= pl.col("as_of"))
            & (pl.col("effective") > pl.col("as_of").dt.offset_by(f"-{months}mo"))
        )
        .group_by("supplier_country", "as_of")
        .len("measures")
    )
    return (
        rows.select("supplier_country", "as_of")
        .join(counts, on=["supplier_country", "as_of"], how="left", maintain_order="left")[
            "measures"
        ]
        .fill_null(0)
        .cast(pl.Float64)
        .to_numpy()
    )


def flow_percentiles(scores: np.ndarray, affected: np.ndarray) -> tuple[np.ndarray, float]:
    """Mid-rank percentile (0-1) of each affected flow among all flows, and the decision's AUC.

    The AUC is the chance that an affected flow outranks an unaffected one, ties counted half.
    """
    every = np.sort(scores)
    unaffected = np.sort(scores[~affected])
    picked = scores[affected]
    below = np.searchsorted(every, picked, "left")
    tied = np.searchsorted(every, picked, "right") - below
    percentiles = (below + 0.5 * tied) / len(every)
    if len(unaffected) == 0:
        return percentiles, math.nan
    lower = np.searchsorted(unaffected, picked, "left")
    equal = np.searchsorted(unaffected, picked, "right") - lower
    auc = float(np.mean((lower + 0.5 * equal) / len(unaffected)))
    return percentiles, auc


def bootstrap_interval(
    values: np.ndarray, samples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` under resampling with replacement."""
    if len(values) == 0:
        return math.nan, math.nan
    generator = np.random.default_rng(seed)
    means = values[generator.integers(0, len(values), (samples, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def expected_calibration_error(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Mean |observed - predicted| over equal-mass bins, weighted by the bins' rows."""
    order = np.argsort(probabilities, kind="stable")
    error = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            error += len(chunk) * abs(labels[chunk].mean() - probabilities[chunk].mean())
    return float(error / len(labels))


# -- the folds ---------------------------------------------------------------------------------


@dataclass
class FoldModel:
    """One year's model, its settings and its out-of-fold scores."""

    year: int
    origin: date
    config: ModelConfig
    model: Any
    logistic: Any
    feature_names: tuple[str, ...]
    logistic_features: tuple[str, ...]
    without: tuple[str, ...] = ()


def _scoreable(
    universe_by_date: dict[date, pl.DataFrame], decisions: pl.DataFrame
) -> Iterator[tuple[dict[str, Any], pl.DataFrame, np.ndarray]]:
    """Each decision with the flows of its scoring date and which of them it covers; decisions
    with no covered flow in the panel that day are skipped."""
    for decision in decisions.iter_rows(named=True):
        universe = universe_by_date.get(decision["scoring_date"])
        if universe is None:
            continue
        affected = universe["pair_id"].is_in(decision["pair_ids"]).to_numpy()
        if affected.any():
            yield decision, universe, affected


def _decision_auc(
    universe_by_date: dict[date, pl.DataFrame],
    decisions: pl.DataFrame,
    score_column: str,
) -> np.ndarray:
    return np.array(
        [
            flow_percentiles(universe[score_column].to_numpy(), affected)[1]
            for _, universe, affected in _scoreable(universe_by_date, decisions)
        ]
    )


def choose_config(
    panel: pl.DataFrame,
    decisions: pl.DataFrame,
    feature_names: tuple[str, ...],
    origin: date,
    candidates: tuple[Candidate, ...],
) -> tuple[Candidate, dict[str, float]]:
    """The candidate with the best decision-level AUC one year before ``origin`` (nested).

    Each candidate is fitted on rows whose labels closed 12 months before the inner origin and
    scored on the decisions whose scoring date lies in the year before ``origin`` and whose
    effect began before it. With fewer than three such decisions the first candidate is kept.
    """
    inner_origin = months_before(origin, 12)
    fit_rows = panel.filter(pl.col("as_of") <= months_before(inner_origin, 12))
    inner = decisions.filter(
        (pl.col("scoring_date") >= inner_origin)
        & (pl.col("scoring_date") < origin)
        & (pl.col("disrupts_on") < origin)
    )
    scores: dict[str, float] = {}
    if inner.height < 3 or fit_rows["label"].n_unique() < 2:
        return candidates[0], scores
    dates = inner["scoring_date"].unique().to_list()
    universe = panel.filter(pl.col("as_of").is_in(dates))
    names = learnable_features(fit_rows, feature_names)
    best, best_score = candidates[0], -1.0
    for position, candidate in enumerate(candidates):
        chosen = candidate.features(names)
        model = fit_hazard(fit_rows, chosen, candidate.config)
        scored = universe.with_columns(pl.Series("raw", raw_scores(model, universe, chosen)))
        by_date = {day: part for (day,), part in scored.partition_by("as_of", as_dict=True).items()}
        auc = float(np.nanmean(_decision_auc(by_date, inner, "raw")))
        scores[f"candidate_{position}"] = auc
        if auc > best_score:
            best, best_score = candidate, auc
    return best, scores


@dataclass
class ValidationResult:
    """Everything the validation measured: the tables, the metrics and the out-of-fold rows."""

    decisions: pl.DataFrame
    summary: pl.DataFrame
    years: pl.DataFrame
    bands: pl.DataFrame
    metrics: dict[str, float]
    oof: pl.DataFrame
    folds: list[FoldModel]
    reliability: dict[str, list[float]]


def _score_rows(
    rows: pl.DataFrame, fold: FoldModel, calibration: PlattMap, policy_events: pl.DataFrame
) -> pl.DataFrame:
    raw = raw_scores(fold.model, rows, fold.feature_names)
    hazard = calibration.apply(raw)
    logistic = fold.logistic.predict_proba(feature_matrix(rows, fold.logistic_features))[:, 1]
    return with_state(rows).select(
        "pair_id",
        "as_of",
        "supplier_country",
        "label",
        "label_events",
        "restriction_state",
        pl.Series("raw", raw),
        pl.Series("model_score", hazard),
        combine(pl.col("state_score"), pl.Series(hazard)).alias("risk_score"),
        (pl.col("supplier_country") == "CHN").cast(pl.Float64).alias("china"),
        pl.Series("measures_5y", measures_last_5_years(rows, policy_events)),
        pl.col("material_hhi_wgi").cast(pl.Float64).fill_null(0.0).alias("eu_index")
        if "material_hhi_wgi" in rows.columns
        else pl.lit(0.0).alias("eu_index"),
        pl.Series("logistic", logistic),
        pl.lit(fold.year).alias("fold_year"),
    )


def _bands(scores: pl.DataFrame, cutoffs: dict[str, float]) -> pl.Series:
    floor = pl.col("restriction_state").replace_strict(STATE_BAND_FLOORS, return_dtype=pl.String)
    return scores.select(risk_band(pl.col("risk_score"), cutoffs, floor).alias("risk_band"))[
        "risk_band"
    ]


def validate(
    panel: pl.DataFrame,
    decisions: pl.DataFrame,
    policy_events: pl.DataFrame,
    feature_names: tuple[str, ...],
    plan: ValidationPlan | None = None,
) -> ValidationResult:
    """Run the decision-level validation (see the module docstring) on a built panel.

    ``decisions`` come from :func:`held_out_decisions` on the panel spine's disruptions.

    Raises
    ------
    ValueError
        When no fold has both label classes or no decision can be scored.
    """
    plan = plan or ValidationPlan()
    last_month = _last_month(panel)
    first_fold = plan.first_year - plan.warmup_years
    folds: list[FoldModel] = []
    scored_parts: list[pl.DataFrame] = []
    for year in range(first_fold, last_month.year + 1):
        origin = date(year, 1, 1)
        fit_rows = panel.filter(pl.col("as_of") <= months_before(origin, 12))
        if fit_rows.is_empty() or fit_rows["label"].n_unique() < 2:
            continue
        learnable = learnable_features(fit_rows, feature_names)
        candidate, _ = choose_config(panel, decisions, learnable, origin, plan.candidates)
        names = candidate.features(learnable)
        fold = FoldModel(
            year=year,
            origin=origin,
            config=candidate.config,
            model=fit_hazard(fit_rows, names, candidate.config),
            logistic=fit_logistic(fit_rows, learnable),
            feature_names=names,
            logistic_features=learnable,
            without=candidate.without,
        )
        folds.append(fold)
        held = panel.filter(pl.col("as_of").dt.year() == year)
        # Calibrated on earlier folds' out-of-fold rows whose labels closed by the origin;
        # the warm-up folds fall back to their own training rows (and are never reported).
        earlier = [
            part.filter(pl.col("as_of") <= months_before(origin, 12)) for part in scored_parts
        ]
        earlier_rows = pl.concat(earlier) if earlier else pl.DataFrame()
        if earlier_rows.height and earlier_rows["label"].n_unique() == 2:
            calibration = fit_platt(
                earlier_rows["raw"].to_numpy(), earlier_rows["label"].to_numpy()
            )
        else:
            calibration = fit_platt(
                raw_scores(fold.model, fit_rows, names), fit_rows["label"].to_numpy()
            )
        scored = _score_rows(held, fold, calibration, policy_events)
        prior = [part.filter(pl.col("as_of") < origin) for part in scored_parts]
        prior_scores = pl.concat(prior)["risk_score"].to_numpy() if prior else np.array([])
        cutoffs = coverage_cutoffs(
            prior_scores if len(prior_scores) else scored["risk_score"].to_numpy()
        )
        scored = scored.with_columns(_bands(scored, cutoffs))
        scored_parts.append(scored)
    if not scored_parts:
        raise ValueError("no fold has both label classes; widen the panel")
    oof = pl.concat(scored_parts)
    reported = oof.filter(pl.col("fold_year") >= plan.first_year)
    return _summarise(reported, oof, decisions, folds, plan)


def _summarise(
    reported: pl.DataFrame,
    oof: pl.DataFrame,
    decisions: pl.DataFrame,
    folds: list[FoldModel],
    plan: ValidationPlan,
) -> ValidationResult:
    by_date = {day: part for (day,), part in reported.partition_by("as_of", as_dict=True).items()}
    columns = ("risk_score", "model_score", *BASELINES)
    rows = []
    for decision, universe, affected in _scoreable(by_date, decisions):
        row: dict[str, Any] = {
            "event_id": decision["event_id"],
            "country": decision["country_iso3"],
            "measure": decision["measure"],
            "target": decision["target_country_iso3"],
            "took_effect": decision["disrupts_on"],
            "scored_on": decision["scoring_date"],
            "flows": int(affected.sum()),
            "universe": len(affected),
        }
        for column in columns:
            percentiles, auc = flow_percentiles(universe[column].to_numpy(), affected)
            row[f"{column}_percentile"] = float(np.median(percentiles))
            row[f"{column}_auc"] = auc
        bands = universe["risk_band"].to_numpy()[affected]
        row["flagged"] = bool(np.isin(bands, ["high", "critical"]).any())
        row["best_band"] = max(bands.tolist(), key=RISK_BANDS.index)
        rows.append(row)
    if not rows:
        raise ValueError("no held-out decision has a flow in the panel; widen the panel")
    table = pl.DataFrame(rows)
    metrics: dict[str, float] = {"held_out_decisions": float(table.height)}
    summary_rows = []
    for position, column in enumerate(columns):
        aucs = table[f"{column}_auc"].to_numpy()
        low, high = bootstrap_interval(aucs, plan.bootstrap, plan.seed + position)
        leave_one_out = (aucs.sum() - aucs) / max(len(aucs) - 1, 1)
        summary_rows.append(
            {
                "score": column,
                "label": SCORE_LABELS[column],
                "event_auc_6m": float(aucs.mean()),
                "ci_low": low,
                "ci_high": high,
                "loeo_min": float(leave_one_out.min()),
                "loeo_max": float(leave_one_out.max()),
                "median_percentile": float(np.median(table[f"{column}_percentile"].to_numpy())),
            }
        )
    summary = pl.DataFrame(summary_rows)
    model_row = summary.row(0, named=True)
    metrics |= {
        "event_auc_6m": model_row["event_auc_6m"],
        "event_auc_6m_ci_low": model_row["ci_low"],
        "event_auc_6m_ci_high": model_row["ci_high"],
        "event_auc_6m_loeo_min": model_row["loeo_min"],
        "hazard_event_auc_6m": summary.row(1, named=True)["event_auc_6m"],
        "logistic_event_auc_6m": summary.filter(pl.col("score") == "logistic")["event_auc_6m"][0],
    }
    heuristic = summary.filter(pl.col("score").is_in(HEURISTICS)).sort(
        "event_auc_6m", descending=True
    )
    best = heuristic["score"][0]
    metrics["heuristic_event_auc_6m"] = float(heuristic["event_auc_6m"][0])
    difference = table["risk_score_auc"].to_numpy() - table[f"{best}_auc"].to_numpy()
    low, high = bootstrap_interval(difference, plan.bootstrap, plan.seed + 99)
    metrics |= {
        "event_auc_6m_gain": float(difference.mean()),
        "event_auc_6m_gain_ci_low": low,
        "event_auc_6m_gain_ci_high": high,
        "events_flagged_6m": _share(table["flagged"]),
        "alert_coverage": _share(reported["risk_band"].is_in(["high", "critical"])),
        "critical_coverage": _share(reported["risk_band"] == "critical"),
    }
    labels = reported["label"].to_numpy()
    hazard = reported["model_score"].to_numpy()
    base_rate = float(labels.mean())
    metrics["base_rate"] = base_rate
    metrics["ece"] = expected_calibration_error(labels, hazard)
    metrics["ece_to_base_rate"] = metrics["ece"] / base_rate if base_rate else math.nan
    pooled = (
        float(average_precision_score(labels, hazard))
        if 0 < labels.sum() < len(labels)
        else math.nan
    )
    metrics["pooled_pr_auc"] = pooled
    metrics["max_event_influence"] = _max_event_influence(reported, pooled)
    years = (
        reported.group_by("fold_year")
        .agg(
            pl.len().alias("rows"),
            pl.col("label").sum().alias("positives"),
            pl.col("model_score").mean().alias("predicted"),
            pl.col("label").mean().alias("observed"),
        )
        .with_columns((pl.col("predicted") / pl.col("observed")).alias("predicted_over_observed"))
        .sort("fold_year")
    )
    ratios = years["predicted_over_observed"].to_numpy()
    metrics["years_calibrated_share"] = float(np.mean((ratios >= 0.5) & (ratios <= 2.0)))
    bands = _band_table(reported)
    metrics["band_order_kept_loeo"] = float(_band_order_kept(reported))
    observed, predicted = calibration_curve(labels, hazard, n_bins=10, strategy="quantile")
    reliability = {"predicted": predicted.tolist(), "observed": observed.tolist()}
    return ValidationResult(table, summary, years, bands, metrics, oof, folds, reliability)


def _share(flags: pl.Series) -> float:
    """The share of true values of a boolean column."""
    return float(flags.cast(pl.Float64).to_numpy().mean())


def _last_month(panel: pl.DataFrame) -> date:
    """The panel's last month (its ``as_of`` column holds dates)."""
    last: date = panel["as_of"].max()  # type: ignore[assignment]
    return last


def _without_event(rows: pl.DataFrame, event_id: str) -> pl.DataFrame:
    """Rows with ``event_id`` left out: rows positive only through it are dropped."""
    only = pl.col("label_events") == event_id
    return rows.filter(~only.fill_null(False))


def _max_event_influence(rows: pl.DataFrame, pooled: float) -> float:
    events = rows["label_events"].drop_nulls().str.split(";").explode().unique().to_list()
    largest = 0.0
    for event in events:
        kept = _without_event(rows, event)
        labels = kept["label"].to_numpy()
        if not 0 < labels.sum() < len(labels) or not pooled:
            continue
        value = float(average_precision_score(labels, kept["model_score"].to_numpy()))
        largest = max(largest, abs(value - pooled) / pooled)
    return largest


IN_FORCE_STATES = ("listed_buyer", "listed_supplier", "ban", "quota_or_tax", "licensing")


def _band_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Per band: its coverage, the observed rate of a new measure within 12 months, and the
    observed rate of restriction (a regime in force or a new measure): what ``risk_score``
    means."""
    restricted = (pl.col("label") == 1) | pl.col("restriction_state").is_in(IN_FORCE_STATES)
    return (
        rows.group_by("risk_band")
        .agg(
            pl.len().alias("rows"),
            (pl.len() / rows.height).alias("coverage"),
            pl.col("label").mean().alias("observed_new_measure_rate"),
            restricted.mean().alias("observed_restricted_rate"),
            pl.col("label_events")
            .str.split(";")
            .explode()
            .drop_nulls()
            .n_unique()
            .alias("decisions"),
        )
        .with_columns(
            pl.col("risk_band")
            .replace_strict(
                {band: rank for rank, band in enumerate(RISK_BANDS)}, return_dtype=pl.Int8
            )
            .alias("rank")
        )
        .sort("rank")
        .drop("rank")
    )


def _band_order_kept(rows: pl.DataFrame) -> bool:
    """Whether the bands' observed restriction rates rise from low to critical with every
    single decision left out (bands with no rows are skipped)."""
    events = rows["label_events"].drop_nulls().str.split(";").explode().unique().to_list()
    for event in [None, *events]:
        kept = rows if event is None else _without_event(rows, event)
        rates = _band_table(kept)["observed_restricted_rate"].to_numpy()
        if np.any(np.diff(rates) < 0):
            return False
    return True


# -- the registered model ---------------------------------------------------------------------


@dataclass
class FinalModel:
    """The model refitted on all labelled rows, its calibration and its band cut-offs."""

    model: Any
    config: ModelConfig
    feature_names: tuple[str, ...]
    calibration: Calibration
    cutoffs: dict[str, float]
    selection: dict[str, float]


def fit_final(
    panel: pl.DataFrame,
    decisions: pl.DataFrame,
    feature_names: tuple[str, ...],
    oof: pl.DataFrame,
    plan: ValidationPlan | None = None,
) -> FinalModel:
    """Refit on every labelled row with the nested choice at the last origin; calibrate on all
    out-of-fold scores (with event-bootstrap replicates); cut the bands on their universe."""
    plan = plan or ValidationPlan()
    origin = months_before(_last_month(panel), -1)
    learnable = learnable_features(panel, feature_names)
    candidate, selection = choose_config(panel, decisions, learnable, origin, plan.candidates)
    names = candidate.features(learnable)
    model = fit_hazard(panel, names, candidate.config)
    calibration = fit_calibration(
        oof["raw"].to_numpy(), oof["label"].to_numpy(), oof["label_events"], seed=plan.seed
    )
    hazard = calibration.point.apply(oof["raw"].to_numpy())
    scores = oof.select(
        combine(state_score(pl.col("restriction_state")), pl.Series(hazard)).alias("risk_score")
    )["risk_score"].to_numpy()
    return FinalModel(
        model, candidate.config, names, calibration, coverage_cutoffs(scores), selection
    )
