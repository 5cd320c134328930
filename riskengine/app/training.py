"""Training jobs: ``train`` on the public-events panel and ``train --labels`` on a team's history.

Shared with :mod:`riskengine.app.evaluation` (``backtest``, ``retrain``): the panel, the
validation and the registration steps.

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
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import polars as pl

from riskengine.config import CHAMPION_ALIAS, Settings
from riskengine.errors import UserInputError
from riskengine.features.builders import model_feature_names
from riskengine.models.panel import (
    DEFAULT_BUYER_COUNTRIES,
    HORIZON_MONTHS,
    PANEL_START,
    PanelWindow,
    build_panel,
    default_window,
)
from riskengine.models.validation_markdown import validation_markdown
from riskengine.reference.loader import ReferenceData, load_reference

PUBLIC_EVENTS = "public_events"
HISTORY = "history"
HISTORY_REJECTS_ARTIFACT = "history_rejects.json"
# Scores are compared to this many decimals so float noise cannot decide a promotion.
GATE_DECIMALS = 10


def quiet_openmp() -> None:
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
class _PublicPanel:
    reference: ReferenceData
    window: PanelWindow
    panel: pl.DataFrame
    fingerprint: str


# Panels built in this process, by (reference fingerprint, window, buyer countries): a panel is a
# pure function of these, and retraining or backtesting again in one session (the Python API, a
# notebook, the test suite) would otherwise rebuild the same months of features.
_PANELS: dict[tuple[str, PanelWindow, tuple[str, ...]], _PublicPanel] = {}
_PANELS_KEPT = 2


def _public_panel(settings: Settings, today: date | None, options: PanelOptions) -> _PublicPanel:
    from riskengine.models.training import panel_fingerprint

    reference = load_reference(settings.reference_dir)
    window = replace(
        default_window(reference, today or date.today(), options.horizon_months),
        start=options.start,
    )
    key = (reference.fingerprint, window, options.buyer_countries)
    if key not in _PANELS:
        panel = build_panel(reference, window, options.buyer_countries)
        if len(_PANELS) >= _PANELS_KEPT:
            _PANELS.pop(next(iter(_PANELS)))
        _PANELS[key] = _PublicPanel(reference, window, panel, panel_fingerprint(panel))
    return _PANELS[key]


def _procedure_fingerprint(config: Any, feature_names: tuple[str, ...]) -> str:
    text = f"{config.fingerprint()}|{','.join(feature_names)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_fingerprint(plan: Any, feature_names: tuple[str, ...]) -> str:
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
        reference=reference,
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
class Validated:
    built: _PublicPanel
    features: tuple[str, ...]
    result: Any
    decisions: pl.DataFrame
    plan: Any


def validation_plan(plan: Any, config: Any) -> Any:
    from riskengine.models.validation import Candidate, ValidationPlan

    plan = plan or ValidationPlan()
    return replace(plan, candidates=(Candidate(config),)) if config is not None else plan


def validated_procedure(
    settings: Settings,
    today: date | None,
    options: PanelOptions,
    plan: Any,
    features: tuple[str, ...] | None = None,
    built: _PublicPanel | None = None,
) -> Validated:
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
    return Validated(built, features, result, decisions, plan)


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


def register_validated(settings: Settings, validated: Validated) -> tuple[str, str, Any]:
    """Refit on all labelled rows, calibrate on the out-of-fold scores, log and register."""
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
    )
    procedure = plan_fingerprint(plan, validated.features)
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
    the settings instead of the nested choice among the plan's candidates. With ``if_missing``
    the store's lock is held from the check for a champion to its promotion, so runs started
    together train one champion; a champion whose hashes were never pinned is replaced.
    """
    quiet_openmp()
    from riskengine.models import store, tracking

    # With --if-missing the lock is held from the check to the promotion, so a second such run
    # waits, then finds the champion and skips instead of training one of its own.
    with store.store_lock(settings) if if_missing else nullcontext():
        current = tracking.champion_version(settings)
        missing = current and tracking.missing_pins(settings, current, CHAMPION_ALIAS)
        if if_missing and current is not None and not missing:
            return TrainOutcome(
                True, None, None, current, {}, f"champion is version {current}; not retraining"
            )
        validated = validated_procedure(
            settings, today, options or PanelOptions(), validation_plan(plan, config)
        )
        # Without --if-missing training runs unlocked; who is champion is read again under the
        # lock, so two runs cannot both take the place of one missing champion.
        with store.store_lock(settings):
            current = tracking.champion_version(settings)
            unverifiable = current and tracking.missing_pins(settings, current, CHAMPION_ALIAS)
            run_id, version, fitted = register_validated(settings, validated)
            if current is None or promote or unverifiable:
                tracking.set_champion(settings, version)
                if current is None:
                    reason = "no champion existed"
                elif unverifiable:
                    # Registered before hashes were pinned: it can no longer be loaded.
                    reason = f"{unverifiable} and cannot be loaded"
                else:
                    reason = f"was version {current}"
                message = f"registered version {version} and made it champion ({reason})"
                current = version
            else:
                message = (
                    f"registered version {version}; champion stays version {current} "
                    f"(`riskengine retrain` compares them on the same folds; `riskengine model "
                    f"promote {version}` promotes it by hand)"
                )
    metrics = fitted.metrics
    message += (
        f"; event-level AUC 6 months ahead {metrics['event_auc_6m']:.3f} "
        f"(95% CI {metrics['event_auc_6m_ci_low']:.3f}-{metrics['event_auc_6m_ci_high']:.3f}) "
        f"over {metrics['held_out_decisions']:.0f} held-out decisions; best simple baseline "
        f"{metrics['heuristic_event_auc_6m']:.3f}"
    )
    return TrainOutcome(False, version, run_id, current, metrics, message)


def train_history_file(
    settings: Settings, labels_path: str, *, buyer_country: str | None = None
) -> HistoryTrainOutcome:
    """``riskengine train --labels FILE``: read a team's history file and train on it."""
    from riskengine.io import read_table

    return train_from_history(
        settings, read_table(labels_path), source=labels_path, buyer_country=buyer_country
    )


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
    quiet_openmp()
    from riskengine.models import store, tracking
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
    # Who is champion is read under the lock that covers registering and promoting.
    with store.store_lock(settings):
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


def metrics_line(metrics: dict[str, float]) -> str:
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


def log_validation(settings: Settings, validated: Validated, role: str) -> str:
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
            "procedure_fingerprint": plan_fingerprint(plan, validated.features),
        },
    )
    close_figures(figures)
    return run_id
