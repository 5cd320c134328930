"""Training on the public events: what is logged with the model, and ``train --if-missing``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from riskengine.config import Settings
from riskengine.models import tracking
from riskengine.models.tracking import load_registered_model

QuickTraining = Any  # the ``quick_training`` fixture's type (tests/conftest.py)


def test_training_logs_metrics_baseline_and_a_signature(any_trained_settings: Settings) -> None:
    import mlflow

    model = load_registered_model(any_trained_settings)
    for name in (
        "event_auc_6m",
        "event_auc_6m_ci_low",
        "event_auc_6m_ci_high",
        "heuristic_event_auc_6m",
        "events_flagged_6m",
        "alert_coverage",
        "ece",
        "max_event_influence",
    ):
        assert 0.0 <= model.metrics[name] <= 1.0, name
    assert model.calibration["replicates"] and set(model.band_cutoffs) == {
        "medium",
        "high",
        "critical",
    }
    info = mlflow.models.get_model_info(f"models:/{any_trained_settings.model_name}@champion")
    assert info.signature is not None
    assert set(model.feature_names) <= set(info.signature.inputs.input_names())


def test_train_if_missing_keeps_the_champion(trained_settings: Settings) -> None:
    from riskengine.app.training import train_public as train

    outcome = train(trained_settings, if_missing=True)
    assert outcome.skipped and outcome.champion == "1"


def test_train_if_missing_replaces_a_champion_registered_without_a_hash(
    store_settings: Settings,
    quick_training: QuickTraining,
    tiny_model_registrar: Callable[[Settings], str],
) -> None:
    from mlflow.tracking import MlflowClient

    from riskengine.app.training import train_public

    settings = store_settings
    tiny_model_registrar(settings)
    tracking.set_champion(settings, "1")
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.delete_model_version_tag(settings.model_name, "1", tracking.MODEL_SHA256_TAG)
    outcome = train_public(settings, if_missing=True, **quick_training.kwargs())
    assert (outcome.skipped, outcome.version, outcome.champion) == (False, "2", "2")
    assert "version 1 has no recorded SHA-256" in outcome.message
    again = train_public(settings, if_missing=True, **quick_training.kwargs())
    assert again.skipped and again.champion == "2"
