"""The one module that talks to MLflow: runs, the model registry and the champion alias.

The default store is a SQLite database under ``models/``; artifacts live beside it.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from riskengine.config import CHAMPION_ALIAS, Settings
from riskengine.errors import ModelNotFoundError

EXPERIMENT_NAME = "riskengine"
MODEL_ARTIFACT_NAME = "model"
EXPLAIN_ARTIFACT = "explain.json"

# skops refuses unknown types on load; these are the ones a calibrated HistGradientBoosting
# classifier contains. Kept in code, never read from the model file.
SKOPS_TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.frozen._frozen.FrozenEstimator",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
    "numpy.dtype",
]


@dataclass(frozen=True)
class RegisteredModel:
    """A model version in the registry and the metadata scoring needs."""

    model: Any
    version: str
    run_id: str
    feature_names: tuple[str, ...]
    neutral_values: dict[str, float]
    metrics: dict[str, float]


def _configure(settings: Settings) -> MlflowClient:
    # MLflow logs database migrations and registrations at INFO on every command.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    if mlflow.get_experiment_by_name(EXPERIMENT_NAME) is None:
        artifacts = (settings.models_dir / "artifacts").resolve()
        mlflow.create_experiment(EXPERIMENT_NAME, artifact_location=artifacts.as_uri())
    mlflow.set_experiment(EXPERIMENT_NAME)
    return MlflowClient(settings.tracking_uri, settings.tracking_uri)


def champion_version(settings: Settings) -> str | None:
    """The version the ``champion`` alias points at, or ``None``."""
    client = _configure(settings)
    try:
        return str(client.get_model_version_by_alias(settings.model_name, CHAMPION_ALIAS).version)
    except MlflowException:
        return None


def log_training_run(
    settings: Settings,
    *,
    model: Any,
    feature_names: tuple[str, ...],
    params: dict[str, Any],
    metrics: dict[str, float],
    neutral_values: dict[str, float],
    input_example: Any,
    figures: dict[str, Any],
    tags: dict[str, str],
) -> tuple[str, str]:
    """Log one training run, register the model and return ``(run_id, version)``."""
    _configure(settings)
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_params(params)
        mlflow.log_metrics(metrics)
        mlflow.set_tags(tags)
        mlflow.log_dict({"features": list(feature_names)}, "feature_list.json")
        mlflow.log_dict(
            {"feature_names": list(feature_names), "neutral_values": neutral_values},
            EXPLAIN_ARTIFACT,
        )
        for name, figure in figures.items():
            mlflow.log_figure(figure, f"plots/{name}.png")
        signature = infer_signature(input_example, model.predict_proba(input_example))
        mlflow.sklearn.log_model(
            model,
            name=MODEL_ARTIFACT_NAME,
            signature=signature,
            input_example=input_example,
            pyfunc_predict_fn="predict_proba",
            serialization_format="skops",
            skops_trusted_types=SKOPS_TRUSTED_TYPES,
            pip_requirements=["scikit-learn", "skops"],
            registered_model_name=settings.model_name,
        )
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    versions = client.search_model_versions(
        f"name='{settings.model_name}' and run_id='{run.info.run_id}'"
    )
    return run.info.run_id, str(max(int(version.version) for version in versions))


def set_champion(settings: Settings, version: str) -> None:
    """Point the ``champion`` alias at ``version``."""
    client = _configure(settings)
    client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)


def load_registered_model(
    settings: Settings, alias_or_version: str = CHAMPION_ALIAS
) -> RegisteredModel:
    """Load a model version (by alias or number) with its explanation metadata."""
    client = _configure(settings)
    try:
        if alias_or_version.isdigit():
            version_info = client.get_model_version(settings.model_name, alias_or_version)
        else:
            version_info = client.get_model_version_by_alias(settings.model_name, alias_or_version)
    except MlflowException as error:
        raise ModelNotFoundError(
            f"no model {settings.model_name!r} version or alias {alias_or_version!r} in "
            f"{settings.tracking_uri}; run `make train` first"
        ) from error
    model = mlflow.sklearn.load_model(f"models:/{settings.model_name}/{version_info.version}")
    with tempfile.TemporaryDirectory() as directory:
        path = mlflow.artifacts.download_artifacts(
            run_id=version_info.run_id, artifact_path=EXPLAIN_ARTIFACT, dst_path=directory
        )
        explain = json.loads(Path(path).read_text())
    run = client.get_run(version_info.run_id)
    return RegisteredModel(
        model=model,
        version=str(version_info.version),
        run_id=version_info.run_id,
        feature_names=tuple(explain["feature_names"]),
        neutral_values=explain["neutral_values"],
        metrics=dict(run.data.metrics),
    )
