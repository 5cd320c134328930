"""Service functions behind ``train``, ``retrain``, ``backtest``, ``labels summary`` and
``model list|promote|rollback``.

Each builds what it needs, calls the pure pieces (panel, training, backtest) and records the
result through :mod:`riskengine.models.tracking`; none reads or writes user files.

Gated retraining (:func:`retrain`) compares training *procedures* on the same folds. A fitted
champion cannot be scored on the backtest's folds without having seen most of them, so "the
champion's PR-AUC on the same folds" is the backtest of the champion's recorded configuration
and feature list on the current panel:

1. when the champion's own backtest was run on exactly these folds (same panel, origins and
   horizon: the ``backtest_folds`` tag matches), its logged metrics are used;
2. otherwise, when its configuration and feature list equal the candidate's, its backtest on
   these folds *is* the candidate's (training is deterministic), so no second run is needed:
   new reference data with an unchanged procedure ties, and the model fitted on the newer data
   is promoted;
3. otherwise the champion's configuration is backtested on these folds now; a champion whose
   configuration was not recorded, or whose features no longer exist, is never replaced
   automatically.

The candidate becomes ``champion`` when its pooled PR-AUC is at least the champion's and its
Brier score is not worse; otherwise it is registered as ``challenger`` and the message says
why. A champion trained on a team's own history is never replaced by a public-events model
automatically. A candidate trained on the same panel with the same procedure as the champion changes
nothing, so it never moves ``champion`` (retraining on unchanged data is deterministic: its
backtest equals the champion's, figure for figure).
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


def _on_training_run(pooled: dict[str, float]) -> dict[str, float]:
    """Pooled backtest metrics under names that cannot be mistaken for the held-out test's
    (the training run's ``baseline_*`` describe its test period)."""
    return {
        name if name.startswith("backtest_") else f"backtest_{name}": value
        for name, value in pooled.items()
    }


def _procedure_fingerprint(config: Any, feature_names: tuple[str, ...]) -> str:
    text = f"{config.fingerprint()}|{','.join(feature_names)}"
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
    )
    close_figures(figures)
    return run_id, version


def train_public(
    settings: Settings,
    *,
    if_missing: bool = False,
    today: date | None = None,
    config: Any = None,
    options: PanelOptions | None = None,
    promote: bool = False,
) -> TrainOutcome:
    """Build the public-events panel, train, evaluate on the held-out later period, register.

    The first registered version becomes ``champion`` (or any, with ``promote``); later ones
    wait for ``riskengine retrain``'s gate or an explicit ``model promote``.
    """
    _quiet_openmp()
    from riskengine.models import tracking
    from riskengine.models.training import ModelConfig, time_split, train_model

    current = tracking.champion_version(settings)
    unverifiable = current is not None and not tracking.version_details(settings, current).tags.get(
        tracking.MODEL_SHA256_TAG
    )
    if if_missing and current is not None and not unverifiable:
        return TrainOutcome(
            True, None, None, current, {}, f"champion is version {current}; not retraining"
        )
    config = config or ModelConfig()
    built = _public_panel(settings, today, options or PanelOptions())
    features = model_feature_names()
    split = time_split(built.window, config.test_months, config.calibration_months)
    result = train_model(built.panel, features, split, config)
    run_id, version = _register(
        settings,
        result=result,
        candidate_features=features,
        window=built.window,
        panel_rows=built.panel.height,
        reference=built.reference,
        label_source=PUBLIC_EVENTS,
        extra_params={"buyer_countries": ",".join((options or PanelOptions()).buyer_countries)},
    )
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
            f"retrain` compares them on the backtest; `riskengine model promote {version}` "
            "promotes it by hand)"
        )
    return TrainOutcome(False, version, run_id, current, result.metrics, message)


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


def _log_backtest(
    settings: Settings, built: _PublicPanel, backtest: Any, config: Any, plan: Any, role: str
) -> str:
    from riskengine.models import tracking
    from riskengine.models.backtest import markdown_table
    from riskengine.models.plots import (
        close_figures,
        importance_figure,
        reliability_comparison_figure,
    )

    rows_by_origin = {row["origin"]: row for row in backtest.table.iter_rows(named=True)}
    folds = []
    for fold in backtest.folds:
        row = rows_by_origin[str(fold.origin.year)]
        folds.append(
            {
                "name": f"origin {fold.origin:%Y}",
                "params": {
                    **fold.as_params(),
                    "fit_rows": row["fit_rows"],
                    "calibration_rows": row["calibration_rows"],
                    "evaluation_rows": row["evaluation_rows"],
                },
                "metrics": {
                    name: float(value)
                    for name, value in row.items()
                    if isinstance(value, float) or name == "positives"
                },
            }
        )
    figures = {
        "reliability": reliability_comparison_figure(backtest.reliability),
        "permutation_importance": importance_figure(backtest.importances),
    }
    run_id = tracking.log_backtest(
        settings,
        params={
            **config.as_params(),
            **{f"plan_{name}": value for name, value in plan.to_dict().items()},
            "origins": ",".join(f"{fold.origin:%Y}" for fold in backtest.folds),
            "skipped_origins": ",".join(f"{origin:%Y}" for origin in sorted(backtest.skipped)),
            "horizon_months": built.window.horizon_months,
            "panel_start": built.window.start.isoformat(),
            "panel_end": built.window.end.isoformat(),
            "panel_rows": built.panel.height,
        },
        metrics=backtest.pooled,
        folds=folds,
        figures=figures,
        tables={
            "backtest_table.csv": backtest.table.write_csv(),
            "backtest_table.md": markdown_table(backtest.table),
            "permutation_importance.csv": backtest.importances.write_csv(),
        },
        tags={
            "role": role,
            "panel_fingerprint": built.fingerprint,
            "reference_fingerprint": built.reference.fingerprint,
            "backtest_folds": backtest.folds_fingerprint,
            "config_fingerprint": config.fingerprint(),
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
    """Rolling-origin backtest of the model against the EU index and a logistic regression.

    Logs a parent run (pooled metrics, reliability plot, permutation importances, the table)
    with a child run per origin, and returns the table for the README.
    """
    _quiet_openmp()
    from riskengine.models.backtest import BacktestPlan, markdown_table, run_backtest
    from riskengine.models.training import ModelConfig

    config = config or ModelConfig()
    plan = plan or BacktestPlan()
    built = _public_panel(settings, today, options or PanelOptions())
    result = run_backtest(
        built.panel, model_feature_names(), built.window, config, plan, built.fingerprint
    )
    run_id = _log_backtest(settings, built, result, config, plan, role="backtest")
    pooled = result.pooled
    verdict = "beats" if pooled["backtest_pr_auc"] > pooled["baseline_pr_auc"] else "does NOT beat"
    message = (
        f"backtest over {len(result.folds)} origins "
        f"({', '.join(f'{fold.origin:%Y}' for fold in result.folds)}): the model {verdict} the "
        f"EU-style index on pooled PR-AUC ({pooled['backtest_pr_auc']:.4f} against "
        f"{pooled['baseline_pr_auc']:.4f}; logistic regression {pooled['logistic_pr_auc']:.4f}); "
        f"Brier {pooled['backtest_brier']:.5f} against {pooled['baseline_brier']:.5f}; run {run_id}"
    )
    return BacktestOutcome(
        table=result.table,
        pooled=pooled,
        importances=result.importances,
        markdown=markdown_table(result.table),
        run_id=run_id,
        message=message,
    )


@dataclass(frozen=True)
class _Comparison:
    metrics: dict[str, float] | None
    how: str


def _champion_backtest(
    settings: Settings,
    champion: Any,
    candidate_procedure: str,
    candidate: Any,
    built: _PublicPanel,
    plan: Any,
) -> _Comparison:
    """The champion's pooled backtest metrics on the candidate's folds (see module docstring)."""
    from riskengine.models import tracking
    from riskengine.models.backtest import run_backtest
    from riskengine.models.training import ModelConfig

    tags = champion.tags
    if tags.get("backtest_folds") == candidate.folds_fingerprint and tags.get("backtest_run_id"):
        metrics = tracking.run_metrics(settings, tags["backtest_run_id"])
        return _Comparison(metrics, "its own backtest on these folds")
    recorded = tracking.run_document(settings, champion.run_id, tracking.CONFIG_ARTIFACT)
    if recorded is None:
        return _Comparison(None, "it has no recorded configuration")
    champion_config = ModelConfig.from_dict(recorded["config"])
    champion_features = tuple(recorded["candidate_features"])
    if recorded.get("horizon_months") != built.window.horizon_months:
        return _Comparison(None, "it was trained for a different horizon")
    if _procedure_fingerprint(champion_config, champion_features) == candidate_procedure:
        return _Comparison(
            candidate.pooled, "the same configuration and features, so the same backtest"
        )
    missing = sorted(set(champion_features) - set(built.panel.columns))
    if missing:
        return _Comparison(None, f"its features {', '.join(missing)} no longer exist")
    rerun = run_backtest(
        built.panel, champion_features, built.window, champion_config, plan, built.fingerprint
    )
    if rerun.folds_fingerprint != candidate.folds_fingerprint:
        return _Comparison(None, "its calibration window gives different folds")
    return _Comparison(rerun.pooled, "its configuration backtested on these folds now")


def retrain(
    settings: Settings,
    *,
    today: date | None = None,
    config: Any = None,
    options: PanelOptions | None = None,
    plan: Any = None,
) -> RetrainOutcome:
    """Rebuild the panel, train, backtest, register; move ``champion`` only through the gate.

    See the module docstring for how the champion's figures on the same folds are found.
    """
    _quiet_openmp()
    from riskengine.models import tracking
    from riskengine.models.backtest import BacktestPlan, run_backtest
    from riskengine.models.training import ModelConfig, time_split, train_model

    config = config or ModelConfig()
    plan = plan or BacktestPlan()
    options = options or PanelOptions()
    built = _public_panel(settings, today, options)
    features = model_feature_names()
    split = time_split(built.window, config.test_months, config.calibration_months)
    result = train_model(built.panel, features, split, config)
    candidate = run_backtest(built.panel, features, built.window, config, plan, built.fingerprint)
    backtest_run = _log_backtest(settings, built, candidate, config, plan, role="retrain")
    procedure = _procedure_fingerprint(config, features)
    pooled = candidate.pooled
    _, version = _register(
        settings,
        result=result,
        candidate_features=features,
        window=built.window,
        panel_rows=built.panel.height,
        reference=built.reference,
        label_source=PUBLIC_EVENTS,
        extra_params={"buyer_countries": ",".join(options.buyer_countries)},
        extra_metrics=_on_training_run(pooled),
        extra_tags={
            "backtest_run_id": backtest_run,
            "backtest_folds": candidate.folds_fingerprint,
            "backtest_pr_auc": repr(pooled["backtest_pr_auc"]),
            "backtest_brier": repr(pooled["backtest_brier"]),
        },
    )
    metrics = {**result.metrics, **_on_training_run(pooled)}
    current = tracking.champion_version(settings)
    if current is None:
        tracking.set_champion(settings, version)
        return RetrainOutcome(
            True,
            version,
            version,
            None,
            metrics,
            None,
            backtest_run,
            f"version {version} is champion: there was none (backtest PR-AUC "
            f"{pooled['backtest_pr_auc']:.4f}, Brier {pooled['backtest_brier']:.5f})",
        )
    champion = tracking.version_details(settings, current)
    figures = (
        f"PR-AUC {pooled['backtest_pr_auc']:.4f}, Brier {pooled['backtest_brier']:.5f} over "
        f"{len(candidate.folds)} origins"
    )

    def keep_champion(message: str, champion_metrics: dict[str, float] | None) -> RetrainOutcome:
        tracking.set_challenger(settings, version)
        return RetrainOutcome(
            False, version, current, current, metrics, champion_metrics, backtest_run, message
        )

    if champion.tags.get("label_source", PUBLIC_EVENTS) != PUBLIC_EVENTS:
        return keep_champion(
            f"champion stays version {current}: it was trained on your own history, which the "
            f"public-events backtest cannot judge; version {version} ({figures}) is challenger; "
            f"`riskengine model promote {version}` to switch",
            None,
        )
    if (
        champion.tags.get("panel_fingerprint") == built.fingerprint
        and champion.tags.get("procedure_fingerprint") == procedure
    ):
        return keep_champion(
            f"champion stays version {current}: nothing changed since it was trained (same "
            f"reference data and panel {built.fingerprint}, same configuration and features); "
            f"version {version} reproduces it ({figures}) and is challenger",
            metrics,
        )
    comparison = _champion_backtest(settings, champion, procedure, candidate, built, plan)
    if comparison.metrics is None:
        return keep_champion(
            f"champion stays version {current}: it cannot be backtested on the same folds "
            f"({comparison.how}); version {version} ({figures}) is challenger; review it with "
            f"`riskengine backtest` and `riskengine model promote {version}`",
            None,
        )
    champion_pr = comparison.metrics["backtest_pr_auc"]
    champion_brier = comparison.metrics["backtest_brier"]
    better_pr = round(pooled["backtest_pr_auc"], GATE_DECIMALS) >= round(champion_pr, GATE_DECIMALS)
    not_worse_brier = round(pooled["backtest_brier"], GATE_DECIMALS) <= round(
        champion_brier, GATE_DECIMALS
    )
    versus = (
        f"PR-AUC {pooled['backtest_pr_auc']:.4f} against {champion_pr:.4f}, Brier "
        f"{pooled['backtest_brier']:.5f} against {champion_brier:.5f} on the same "
        f"{len(candidate.folds)} origins (champion figures: {comparison.how})"
    )
    if better_pr and not_worse_brier:
        tracking.set_champion(settings, version)
        return RetrainOutcome(
            True,
            version,
            version,
            current,
            metrics,
            comparison.metrics,
            backtest_run,
            f"version {version} is champion (was {current}): {versus}",
        )
    reasons = []
    if not better_pr:
        reasons.append("its pooled PR-AUC is lower")
    if not not_worse_brier:
        reasons.append("its Brier score is worse")
    return keep_champion(
        f"champion stays version {current}: version {version} is challenger because "
        f"{' and '.join(reasons)}: {versus}",
        comparison.metrics,
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
