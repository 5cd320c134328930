"""Service functions behind ``train``, ``retrain``, ``backtest``, ``labels summary`` and
``model list|promote|rollback``.

Each builds what it needs, calls the pure pieces (panel, validation, training) and records the
result through :mod:`riskengine.models.tracking`; none reads or writes user files.

Public-events training validates the procedure decision by decision
(:mod:`riskengine.models.validation`), then refits on all labelled rows. Gated retraining
(:func:`retrain`) compares procedures on the same folds: the champion's event-level AUC is its
recorded figure when it was validated on the same panel, else its feature list is validated on
the current panel now; a champion whose configuration was not recorded, or whose features no
longer exist, is never replaced automatically. The candidate becomes ``champion`` when its
event-level AUC is at least the champion's; otherwise it is registered as ``challenger`` and the
message says why. A champion trained on a team's own history is never replaced by a
public-events model automatically, and a candidate trained on the same panel with the same
procedure changes nothing (training is deterministic).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.features.registry import model_feature_names
from riskengine.models.panel import (
    DEFAULT_BUYER_COUNTRIES,
    HORIZON_MONTHS,
    PANEL_START,
    PanelWindow,
    build_labels,
    build_panel,
    default_window,
    summarise_labels,
)
from riskengine.reference.loader import ReferenceData, load_reference

PUBLIC_EVENTS = "public_events"
HISTORY = "history"
HISTORY_REJECTS_ARTIFACT = "history_rejects.json"
# Scores are compared to this many decimals so float noise cannot decide a promotion.
GATE_DECIMALS = 10


def _quiet_openmp() -> None:
    # scikit-learn's OpenMP threads busy-wait between parallel regions. On a shared 2-core
    # machine that made one boosting fit 11x slower (80 s against 7 s) whenever another
    # process was busy; passive waiting costs little when the machine is idle. It only takes
    # effect if set before scikit-learn loads its OpenMP runtime.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass(frozen=True)
class PanelOptions:
    """Which flows and months the public-events panel covers (smaller for quick runs)."""

    buyer_countries: tuple[str, ...] = DEFAULT_BUYER_COUNTRIES
    start: date = PANEL_START
    horizon_months: int = HORIZON_MONTHS


@dataclass(frozen=True)
class TrainOutcome:
    """The result of ``riskengine train``."""

    skipped: bool
    version: str | None
    run_id: str | None
    champion: str | None
    metrics: dict[str, float]
    message: str


@dataclass(frozen=True)
class HistoryTrainOutcome(TrainOutcome):
    """The result of ``riskengine train --labels FILE``: also what was left out and why."""

    rows: int
    positives: int
    unobserved_rows: int
    rejects: pl.DataFrame


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


@dataclass(frozen=True)
class ModelChange:
    """The result of ``riskengine model promote`` or ``model rollback``."""

    champion: str
    previous: str | None
    message: str


@dataclass(frozen=True)
class _PublicPanel:
    reference: ReferenceData
    window: PanelWindow
    panel: pl.DataFrame
    fingerprint: str


def _public_panel(settings: Settings, today: date | None, options: PanelOptions) -> _PublicPanel:
    from riskengine.models.training import panel_fingerprint

    reference = load_reference(settings.reference_dir)
    window = replace(
        default_window(reference, today or date.today(), options.horizon_months),
        start=options.start,
    )
    panel = build_panel(reference, window, options.buyer_countries)
    return _PublicPanel(reference, window, panel, panel_fingerprint(panel))


def _procedure_fingerprint(config: Any, feature_names: tuple[str, ...]) -> str:
    text = f"{config.fingerprint()}|{','.join(feature_names)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plan_fingerprint(plan: Any, feature_names: tuple[str, ...]) -> str:
    """What defines a public-events training procedure: the candidates, the folds, the features."""
    text = "|".join(
        [
            ",".join(candidate.fingerprint() for candidate in plan.candidates),
            f"{plan.first_year}:{plan.warmup_years}:{plan.lead_months}:{plan.bootstrap}",
            ",".join(feature_names),
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _register(
    settings: Settings,
    *,
    result: Any,
    candidate_features: tuple[str, ...],
    window: PanelWindow,
    panel_rows: int,
    reference: ReferenceData,
    label_source: str,
    extra_params: dict[str, Any],
    extra_metrics: dict[str, float] | None = None,
    extra_tags: dict[str, str] | None = None,
    extra_documents: dict[str, Any] | None = None,
    scoring_metadata: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """Log and register a trained model with everything the gate and scoring read back."""
    from riskengine.models import tracking
    from riskengine.models.plots import close_figures, reliability_figure

    config = result.config
    procedure = _procedure_fingerprint(config, candidate_features)
    params = {
        **{f"split_{name}": value for name, value in result.split.as_params().items()},
        **config.as_params(),
        "panel_start": window.start.isoformat(),
        "panel_end": window.end.isoformat(),
        "horizon_months": window.horizon_months,
        "panel_rows": panel_rows,
        "feature_count": len(result.feature_names),
        "label_source": label_source,
        "calibration": f"sigmoid on a {config.calibration_months}-month window (FrozenEstimator)",
        "baseline": "material_hhi_wgi (EU-style governance-weighted HHI)",
        **extra_params,
    }
    fingerprints = {
        "label_source": label_source,
        "reference_fingerprint": reference.fingerprint,
        "panel_fingerprint": result.panel_fingerprint,
        "config_fingerprint": config.fingerprint(),
        "procedure_fingerprint": procedure,
    }
    figures = {"reliability": reliability_figure(result.reliability)}
    run_id, version = tracking.log_training_run(
        settings,
        model=result.model,
        feature_names=result.feature_names,
        params=params,
        metrics={**result.metrics, **(extra_metrics or {})},
        neutral_values=result.neutral_values,
        input_example=result.input_example,
        figures=figures,
        tags={**fingerprints, "reference_directory": reference.directory},
        documents={
            tracking.CONFIG_ARTIFACT: {
                "config": config.to_dict(),
                "candidate_features": list(candidate_features),
                "horizon_months": window.horizon_months,
            },
            **(extra_documents or {}),
        },
        version_tags={**fingerprints, **(extra_tags or {})},
        scoring_metadata=scoring_metadata,
    )
    close_figures(figures)
    return run_id, version


@dataclass(frozen=True)
class _Validated:
    built: _PublicPanel
    features: tuple[str, ...]
    result: Any
    decisions: pl.DataFrame
    plan: Any


def _plan(plan: Any, config: Any) -> Any:
    from riskengine.models.validation import Candidate, ValidationPlan

    plan = plan or ValidationPlan()
    return replace(plan, candidates=(Candidate(config),)) if config is not None else plan


def _validated(
    settings: Settings,
    today: date | None,
    options: PanelOptions,
    plan: Any,
    features: tuple[str, ...] | None = None,
    built: _PublicPanel | None = None,
) -> _Validated:
    """Build the panel (unless given) and run the decision-level validation on it."""
    from riskengine.models.panel import flow_disruptions, panel_spine
    from riskengine.models.validation import held_out_decisions, validate

    built = built or _public_panel(settings, today, options)
    features = features or model_feature_names()
    spine = panel_spine(built.reference, options.buyer_countries)
    decisions = held_out_decisions(
        flow_disruptions(spine, built.reference),
        built.reference.policy_events,
        lead_months=plan.lead_months,
    )
    try:
        result = validate(built.panel, decisions, built.reference.policy_events, features, plan)
    except ValueError as error:
        raise UserInputError(f"cannot validate on this panel: {error}") from error
    return _Validated(built, features, result, decisions, plan)


@dataclass(frozen=True)
class _ValidationWindow:
    """The data window of a validated training run (logged as parameters)."""

    panel_start: date
    panel_end: date
    first_reported_year: int
    lead_months: int

    def as_params(self) -> dict[str, str]:
        return {
            "data_start": self.panel_start.isoformat(),
            "data_end": self.panel_end.isoformat(),
            "first_reported_year": str(self.first_reported_year),
            "lead_months": str(self.lead_months),
        }


def _validation_documents(result: Any) -> dict[str, Any]:
    return {
        "validation_decisions.json": result.decisions.to_dicts(),
        "validation_summary.json": result.summary.to_dicts(),
        "validation_years.json": result.years.to_dicts(),
        "validation_bands.json": result.bands.to_dicts(),
    }


def _register_validated(settings: Settings, validated: _Validated) -> tuple[str, str, Any]:
    """Refit on all labelled rows, calibrate on the out-of-fold scores, log and register."""
    from riskengine.models.matrix import feature_matrix
    from riskengine.models.training import TrainingResult, neutral_values
    from riskengine.models.validation import fit_final

    built, result, plan = validated.built, validated.result, validated.plan
    final = fit_final(built.panel, validated.decisions, validated.features, result.oof, plan)
    fitted = TrainingResult(
        model=final.model,
        feature_names=final.feature_names,
        split=_ValidationWindow(
            built.window.start, built.window.end, plan.first_year, plan.lead_months
        ),
        metrics=result.metrics,
        neutral_values=neutral_values(built.panel, final.feature_names),
        panel_fingerprint=built.fingerprint,
        config=final.config,
        reliability=result.reliability,
        input_example=feature_matrix(built.panel.head(5), final.feature_names),
    )
    procedure = _plan_fingerprint(plan, validated.features)
    run_id, version = _register(
        settings,
        result=fitted,
        candidate_features=validated.features,
        window=built.window,
        panel_rows=built.panel.height,
        reference=built.reference,
        label_source=PUBLIC_EVENTS,
        extra_params={
            "buyer_countries": ",".join(sorted(built.panel["buyer_country"].unique().to_list())),
            "calibration": "platt on out-of-fold scores, event-bootstrap intervals",
            "refit": "all labelled rows, decision-weighted",
            **{f"selection_{name}": value for name, value in final.selection.items()},
            **{f"band_cutoff_{name}": value for name, value in final.cutoffs.items()},
        },
        extra_tags={
            "procedure_fingerprint": procedure,
            "event_auc_6m": repr(result.metrics["event_auc_6m"]),
        },
        extra_documents=_validation_documents(result),
        scoring_metadata={
            "calibration": final.calibration.to_dict(),
            "band_cutoffs": final.cutoffs,
        },
    )
    return run_id, version, fitted


def train_public(
    settings: Settings,
    *,
    if_missing: bool = False,
    today: date | None = None,
    config: Any = None,
    options: PanelOptions | None = None,
    plan: Any = None,
    promote: bool = False,
) -> TrainOutcome:
    """Build the public-events panel, validate decision by decision, refit on all labelled
    rows, register.

    The first registered version becomes ``champion`` (or any, with ``promote``); later ones
    wait for ``riskengine retrain``'s gate or an explicit ``model promote``. ``config`` fixes
    the settings instead of the nested choice among the plan's candidates.
    """
    _quiet_openmp()
    from riskengine.models import tracking

    current = tracking.champion_version(settings)
    unverifiable = current is not None and not tracking.version_details(settings, current).tags.get(
        tracking.MODEL_SHA256_TAG
    )
    if if_missing and current is not None and not unverifiable:
        return TrainOutcome(
            True, None, None, current, {}, f"champion is version {current}; not retraining"
        )
    validated = _validated(settings, today, options or PanelOptions(), _plan(plan, config))
    run_id, version, fitted = _register_validated(settings, validated)
    if current is None or promote or unverifiable:
        tracking.set_champion(settings, version)
        if current is None:
            reason = "no champion existed"
        elif unverifiable:
            # Registered before artifacts were hashed: it can no longer be loaded.
            reason = f"version {current} has no recorded SHA-256 and cannot be loaded"
        else:
            reason = f"was version {current}"
        message = f"registered version {version} and made it champion ({reason})"
        current = version
    else:
        message = (
            f"registered version {version}; champion stays version {current} (`riskengine "
            f"retrain` compares them on the same folds; `riskengine model promote {version}` "
            "promotes it by hand)"
        )
    metrics = fitted.metrics
    message += (
        f"; event-level AUC 6 months ahead {metrics['event_auc_6m']:.3f} "
        f"(95% CI {metrics['event_auc_6m_ci_low']:.3f}-{metrics['event_auc_6m_ci_high']:.3f}) "
        f"over {metrics['held_out_decisions']:.0f} held-out decisions; best simple baseline "
        f"{metrics['heuristic_event_auc_6m']:.3f}"
    )
    return TrainOutcome(False, version, run_id, current, metrics, message)


def train_from_history(
    settings: Settings,
    history: pl.DataFrame,
    *,
    source: str = "history",
    buyer_country: str | None = None,
    horizon_months: int = HORIZON_MONTHS,
    config: Any = None,
    promote: bool = False,
) -> HistoryTrainOutcome:
    """Train on a team's own disruption records through the same pipeline, and register it.

    Parameters
    ----------
    history
        The records as read from the user's file (see :mod:`riskengine.models.history`).
    source
        The file name, for messages.
    buyer_country
        Buyer country for records without one.
    config
        Model configuration; defaults to the public one with 12-month calibration and test
        periods (a history of a few years cannot spare 24 months for each).

    Raises
    ------
    UserInputError
        When columns are missing, no record is usable, or a period of the split has no
        disruption (the message names the periods).
    """
    _quiet_openmp()
    from riskengine.models import tracking
    from riskengine.models.history import history_panel, read_history
    from riskengine.models.training import ModelConfig, time_split, train_model

    config = config or replace(ModelConfig(), test_months=12, calibration_months=12)
    reference = load_reference(settings.reference_dir)
    records = read_history(history, source=source, buyer_country=buyer_country)
    built = history_panel(records, reference, horizon_months=horizon_months)
    split = time_split(built.window, config.test_months, config.calibration_months)
    features = model_feature_names()
    try:
        result = train_model(built.panel, features, split, config)
    except ValueError as error:
        raise UserInputError(
            f"{source}: cannot train on this history: {error}. The records are split by time "
            f"into training (to {split.train_end:%Y-%m}), calibration "
            f"({split.calibration_start:%Y-%m} to {split.calibration_end:%Y-%m}) and test "
            f"({split.test_start:%Y-%m} to {split.test_end:%Y-%m}) periods, "
            f"{horizon_months} months apart; each needs disrupted and undisrupted records"
        ) from error
    digest = hashlib.sha256(history.write_csv().encode()).hexdigest()
    current = tracking.champion_version(settings)
    run_id, version = _register(
        settings,
        result=result,
        candidate_features=features,
        window=built.window,
        panel_rows=built.panel.height,
        reference=reference,
        label_source=HISTORY,
        extra_params={
            "history_source": source,
            "history_rows": history.height,
            "history_rejected_rows": built.rejects.height,
            "history_unobserved_rows": built.unobserved_rows,
            "history_observed_until": built.observed_until.isoformat(),
        },
        extra_tags={"history_sha256": digest},
        extra_documents=(
            {HISTORY_REJECTS_ARTIFACT: {"rejected_rows": built.rejects.to_dicts()}}
            if built.rejects.height
            else None
        ),
    )
    if current is None or promote:
        tracking.set_champion(settings, version)
        reason = "no champion existed" if current is None else f"was version {current}"
        message = f"registered version {version} (your history) and made it champion ({reason})"
        current = version
    else:
        message = (
            f"registered version {version} (trained on your history); champion stays version "
            f"{current}; `riskengine model promote {version}` to use it"
        )
    details = (
        f"; {built.panel.height} records used, {built.unobserved_rows} too recent to label, "
        f"{built.rejects.height} rejected"
    )
    return HistoryTrainOutcome(
        skipped=False,
        version=version,
        run_id=run_id,
        champion=current,
        metrics=result.metrics,
        message=message + details,
        rows=built.panel.height,
        positives=int(built.panel["label"].sum()),
        unobserved_rows=built.unobserved_rows,
        rejects=built.rejects,
    )


def _markdown_table(headers: list[str], aligns: str, rows: list[list[str]]) -> str:
    """A markdown table; ``aligns`` has one character per column, ``l`` or ``r``."""
    rule = "|".join("---:" if align == "r" else "---" for align in aligns)
    return "\n".join(
        [f"| {' | '.join(headers)} |", f"|{rule}|", *(f"| {' | '.join(row)} |" for row in rows)]
    )


def validation_markdown(result: Any) -> str:
    """The validation tables as markdown (the README and ``riskengine backtest`` show them)."""
    tables = [
        _markdown_table(
            [
                "score",
                "event AUC 6 m ahead",
                "95% event-bootstrap CI",
                "leave-one-event-out range",
                "median decision percentile",
            ],
            "lrrrr",
            [
                [
                    row["label"],
                    f"{row['event_auc_6m']:.3f}",
                    f"{row['ci_low']:.3f}-{row['ci_high']:.3f}",
                    f"{row['loeo_min']:.3f}-{row['loeo_max']:.3f}",
                    f"{row['median_percentile']:.0%}",
                ]
                for row in result.summary.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "decision",
                "country",
                "measure",
                "target",
                "took effect",
                "flows",
                "percentile (median)",
                "AUC",
                "best band 6 m ahead",
            ],
            "lllllrrrl",
            [
                [
                    row["event_id"],
                    row["country"],
                    row["measure"],
                    row["target"] or "all",
                    str(row["took_effect"]),
                    str(row["flows"]),
                    f"{row['risk_score_percentile']:.0%}",
                    f"{row['risk_score_auc']:.3f}",
                    row["best_band"],
                ]
                for row in result.decisions.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "year",
                "rows",
                "positives",
                "predicted rate",
                "observed rate",
                "predicted / observed",
            ],
            "lrrrrr",
            [
                [
                    str(row["fold_year"]),
                    f"{row['rows']:,}",
                    f"{row['positives']:,}",
                    f"{row['predicted']:.4f}",
                    f"{row['observed']:.4f}",
                    f"{row['predicted_over_observed']:.2f}",
                ]
                for row in result.years.iter_rows(named=True)
            ],
        ),
        _markdown_table(
            [
                "band",
                "flow-months",
                "coverage",
                "observed new-measure rate",
                "restricted rate",
                "decisions",
            ],
            "lrrrrr",
            [
                [
                    row["risk_band"],
                    f"{row['rows']:,}",
                    f"{row['coverage']:.1%}",
                    f"{row['observed_new_measure_rate']:.2%}",
                    f"{row['observed_restricted_rate']:.1%}",
                    str(row["decisions"]),
                ]
                for row in result.bands.iter_rows(named=True)
            ],
        ),
    ]
    return "\n\n".join(tables)


def _metrics_line(metrics: dict[str, float]) -> str:
    return (
        f"event-level AUC 6 months ahead {metrics['event_auc_6m']:.3f} (95% CI "
        f"{metrics['event_auc_6m_ci_low']:.3f}-{metrics['event_auc_6m_ci_high']:.3f}) over "
        f"{metrics['held_out_decisions']:.0f} held-out decisions against "
        f"{metrics['heuristic_event_auc_6m']:.3f} for the best simple baseline (gain "
        f"{metrics['event_auc_6m_gain']:+.3f}, CI {metrics['event_auc_6m_gain_ci_low']:+.3f} to "
        f"{metrics['event_auc_6m_gain_ci_high']:+.3f}); {metrics['events_flagged_6m']:.0%} of "
        f"decisions flagged high or critical with {metrics['alert_coverage']:.1%} of flows "
        f"alerted; ECE {metrics['ece']:.4f} (base rate {metrics['base_rate']:.4f}); largest "
        f"single-event influence on PR-AUC {metrics['max_event_influence']:.0%}"
    )


def _log_validation(settings: Settings, validated: _Validated, role: str) -> str:
    from riskengine.models import tracking
    from riskengine.models.plots import close_figures, reliability_figure

    result, built, plan = validated.result, validated.built, validated.plan
    figures = {"reliability": reliability_figure(result.reliability)}
    folds = [
        {
            "name": f"origin {fold.year}",
            "params": {
                "origin": fold.origin.isoformat(),
                "fit_end": f"{fold.year - 1}-01-01",
                **{f"model_{name}": value for name, value in fold.config.as_params().items()},
                "features_left_out": ",".join(fold.without) or "none",
            },
            "metrics": {},
        }
        for fold in result.folds
    ]
    run_id = tracking.log_backtest(
        settings,
        params={
            "panel_start": built.window.start.isoformat(),
            "panel_end": built.window.end.isoformat(),
            "panel_rows": built.panel.height,
            "first_reported_year": plan.first_year,
            "lead_months": plan.lead_months,
            "bootstrap_samples": plan.bootstrap,
            "candidate_count": len(plan.candidates),
        },
        metrics=result.metrics,
        folds=folds,
        figures=figures,
        tables={
            "validation.md": validation_markdown(result),
            "validation_decisions.csv": result.decisions.drop([]).write_csv(),
        },
        tags={
            "role": role,
            "panel_fingerprint": built.fingerprint,
            "reference_fingerprint": built.reference.fingerprint,
            "procedure_fingerprint": _plan_fingerprint(plan, validated.features),
        },
    )
    close_figures(figures)
    return run_id


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
    _quiet_openmp()
    validated = _validated(settings, today, options or PanelOptions(), _plan(plan, config))
    run_id = _log_validation(settings, validated, role="backtest")
    result = validated.result
    return BacktestOutcome(
        table=result.decisions,
        pooled=result.metrics,
        importances=result.summary,
        markdown=validation_markdown(result),
        run_id=run_id,
        message=f"validation: {_metrics_line(result.metrics)}; run {run_id}",
    )


def _champion_event_auc(
    settings: Settings, champion: Any, validated: _Validated, options: PanelOptions
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
    rerun = _validated(
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
    _quiet_openmp()
    from riskengine.models import tracking

    options = options or PanelOptions()
    validated = _validated(settings, today, options, _plan(plan, config))
    backtest_run = _log_validation(settings, validated, role="retrain")
    _, version, fitted = _register_validated(settings, validated)
    metrics = fitted.metrics
    figures = _metrics_line(metrics)
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
    procedure = _plan_fingerprint(validated.plan, validated.features)
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


def labels_summary(
    settings: Settings,
    horizon_months: int = HORIZON_MONTHS,
    *,
    today: date | None = None,
    options: PanelOptions | None = None,
) -> pl.DataFrame:
    """Positives and rows of the public-events panel per year and per supplier country.

    Columns ``dimension`` (``year``, ``supplier_country`` or ``all``), ``value``, ``rows``,
    ``positives``, ``positive_rate`` and ``events`` (the event ids behind the positives).
    No feature is computed, so this takes about a second.
    """
    options = options or PanelOptions()
    reference = load_reference(settings.reference_dir)
    window = replace(
        default_window(reference, today or date.today(), horizon_months), start=options.start
    )
    return summarise_labels(build_labels(reference, window, options.buyer_countries))


def list_models(settings: Settings) -> pl.DataFrame:
    """Every registered version, newest first, with its aliases, source and key figures."""
    from riskengine.models import tracking

    rows = []
    for detail in tracking.list_versions(settings):
        rows.append(
            {
                "version": detail.version,
                "aliases": ",".join(detail.aliases),
                "created": datetime.fromtimestamp(detail.created_ms / 1000, UTC).strftime(
                    "%Y-%m-%d %H:%M:%S"
                ),
                "label_source": detail.tags.get("label_source", ""),
                "test_pr_auc": detail.metrics.get("test_pr_auc"),
                "backtest_pr_auc": detail.metrics.get("backtest_pr_auc"),
                "backtest_brier": detail.metrics.get("backtest_brier"),
                "panel_fingerprint": detail.tags.get("panel_fingerprint", ""),
                "model_sha256": detail.tags.get(tracking.MODEL_SHA256_TAG, "")[:16],
                "run_id": detail.run_id,
            }
        )
    schema = {
        "version": pl.String,
        "aliases": pl.String,
        "created": pl.String,
        "label_source": pl.String,
        "test_pr_auc": pl.Float64,
        "backtest_pr_auc": pl.Float64,
        "backtest_brier": pl.Float64,
        "panel_fingerprint": pl.String,
        "model_sha256": pl.String,
        "run_id": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def promote(settings: Settings, version: str) -> ModelChange:
    """Make ``version`` champion by hand, after checking its files load and match their hash.

    Raises
    ------
    ModelNotFoundError
        When the version does not exist.
    ModelIntegrityError
        When its files were modified since registration.
    """
    from riskengine.models import tracking

    if not version.isdigit():
        raise UserInputError(f"VERSION must be a version number; got {version!r}")
    tracking.require_version(settings, version)
    previous = tracking.champion_version(settings)
    if previous == version:
        return ModelChange(version, previous, f"version {version} is already champion")
    tracking.load_registered_model(settings, version)
    tracking.set_champion(settings, version)
    was = f" (was version {previous})" if previous else ""
    return ModelChange(version, previous, f"version {version} is champion{was}")


def rollback(settings: Settings) -> ModelChange:
    """Point ``champion`` back at the version that was champion before the current one.

    Raises
    ------
    ModelNotFoundError
        When there is no earlier champion.
    """
    from riskengine.models import tracking

    current, previous = tracking.rollback_champion(settings)
    return ModelChange(
        previous,
        current,
        f"champion rolled back from version {current} to version {previous}",
    )
