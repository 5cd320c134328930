"""Service functions behind the CLI commands: each reads, computes and writes one job.

Heavy modules (scikit-learn, MLflow) are imported inside the functions that need them, so
that the CLI starts quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.config import Settings
from riskengine.io import read_table, write_table
from riskengine.reference.loader import (
    ReferenceData,
    TableSummary,
    load_reference,
    summarise_reference,
)
from riskengine.scoring import PreparedPairs, prepare_pairs


@dataclass(frozen=True)
class ScoreOutcome:
    """What a scoring run produced, for the summary on stderr."""

    output: pl.DataFrame
    model_version: str
    reference_fingerprint: str

    @property
    def scored(self) -> int:
        return self.output.filter(pl.col("status") == "scored").height

    @property
    def rejected(self) -> int:
        return self.output.height - self.scored


def check_reference(settings: Settings) -> tuple[ReferenceData, list[TableSummary]]:
    """Load and validate the reference data; summarise each table."""
    reference = load_reference(settings.reference_dir)
    return reference, summarise_reference(reference)


def _prepare(
    input_path: str, input_format: str | None, buyer_country: str | None, buyer_name: str | None
) -> PreparedPairs:
    raw = read_table(input_path, input_format)
    source = "<stdin>" if input_path == "-" else input_path
    return prepare_pairs(raw, source=source, buyer_country=buyer_country, buyer_name=buyer_name)


def score_file(
    settings: Settings,
    *,
    input_path: str,
    output_path: str,
    as_of: date,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
    model_alias: str = "champion",
    input_format: str | None = None,
    output_format: str | None = None,
) -> ScoreOutcome:
    """Score every row of a sourcing list and write the result (nothing is written on error)."""
    from riskengine.models.tracking import load_registered_model
    from riskengine.scoring import score_pairs

    prepared = _prepare(input_path, input_format, buyer_country, buyer_name)
    reference = load_reference(settings.reference_dir)
    model = load_registered_model(settings, model_alias)
    output = score_pairs(prepared, reference, model, as_of=as_of)
    write_table(output, output_path, output_format)
    return ScoreOutcome(output, model.version, reference.fingerprint)


def features_file(
    settings: Settings,
    *,
    input_path: str,
    output_path: str,
    as_of: date,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
) -> pl.DataFrame:
    """Write one row per input row: the input columns, status and reason, then every feature."""
    from riskengine.features.registry import PAIR_KEY, registry
    from riskengine.scoring import feature_table

    prepared = _prepare(input_path, input_format, buyer_country, buyer_name)
    reference = load_reference(settings.reference_dir)
    features = feature_table(prepared, reference, as_of=as_of)
    feature_columns = [spec.name for spec in registry()]
    joined = prepared.resolved.select(PAIR_KEY, "reason").join(
        features.select(PAIR_KEY, *feature_columns), on=PAIR_KEY, how="left", maintain_order="left"
    )
    clashing = [
        name
        for name in [*feature_columns, "status", "reason", "as_of"]
        if name in prepared.raw.columns
    ]
    if clashing:
        from riskengine.errors import UserInputError

        raise UserInputError(f"input already has column(s) {', '.join(clashing)}; rename them")
    output = pl.concat(
        [
            prepared.raw,
            joined.select(
                pl.when(pl.col("reason").is_null())
                .then(pl.lit("scored"))
                .otherwise(pl.lit("rejected"))
                .alias("status"),
                "reason",
                pl.lit(as_of.isoformat()).alias("as_of"),
                *feature_columns,
            ),
        ],
        how="horizontal",
    )
    write_table(output, output_path, output_format)
    return output


@dataclass(frozen=True)
class TrainOutcome:
    """The result of ``riskengine train``."""

    skipped: bool
    version: str | None
    run_id: str | None
    champion: str | None
    metrics: dict[str, float]
    message: str


def train(
    settings: Settings, *, if_missing: bool = False, today: date | None = None
) -> TrainOutcome:
    """Build the public-events panel, train, evaluate on the held-out later period, register.

    The first registered version becomes ``champion``; later ones are left for the gated
    promotion of ``make retrain``.
    """
    from riskengine.models import tracking

    current = tracking.champion_version(settings)
    if if_missing and current is not None:
        return TrainOutcome(
            True, None, None, current, {}, f"champion is version {current}; not retraining"
        )

    from riskengine.features.registry import model_feature_names
    from riskengine.models.panel import build_panel, default_window
    from riskengine.models.plots import reliability_figure
    from riskengine.models.training import HYPERPARAMETERS, time_split, train_model

    reference = load_reference(settings.reference_dir)
    window = default_window(reference, today or date.today())
    panel = build_panel(reference, window)
    split = time_split(window)
    result = train_model(panel, model_feature_names(), split)
    params = {
        **{f"split_{name}": value for name, value in split.as_params().items()},
        **{f"hgb_{name}": value for name, value in HYPERPARAMETERS.items()},
        "panel_start": window.start.isoformat(),
        "panel_end": window.end.isoformat(),
        "horizon_months": window.horizon_months,
        "panel_rows": panel.height,
        "feature_count": len(result.feature_names),
        "calibration": "sigmoid on the calibration window (FrozenEstimator)",
        "baseline": "material_hhi_wgi (EU-style governance-weighted HHI)",
    }
    tags = {
        "reference_fingerprint": reference.fingerprint,
        "panel_fingerprint": result.panel_fingerprint,
        "reference_directory": reference.directory,
    }
    run_id, version = tracking.log_training_run(
        settings,
        model=result.model,
        feature_names=result.feature_names,
        params=params,
        metrics=result.metrics,
        neutral_values=result.neutral_values,
        input_example=result.input_example,
        figures={"reliability": reliability_figure(result.reliability)},
        tags=tags,
    )
    if current is None:
        tracking.set_champion(settings, version)
        current = version
        message = f"registered version {version} and made it champion (no champion existed)"
    else:
        message = f"registered version {version}; champion stays version {current}"
    return TrainOutcome(False, version, run_id, current, result.metrics, message)
