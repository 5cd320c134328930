"""Registry jobs: ``labels summary``, ``model list``, ``model promote`` and ``model rollback``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import polars as pl

from riskengine.app.training import PanelOptions
from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.models.panel import HORIZON_MONTHS, build_labels, default_window, summarise_labels
from riskengine.reference.loader import load_reference


@dataclass(frozen=True)
class ModelChange:
    """The result of ``riskengine model promote`` or ``model rollback``."""

    champion: str
    previous: str | None
    message: str


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
    from riskengine.models import tracking, trust

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
                "model_sha256": detail.tags.get(trust.MODEL_SHA256_TAG, "")[:16],
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
