"""The one module that talks to MLflow: runs, the model registry and its aliases.

The default store is a SQLite database under ``models/``; artifacts live beside it.

Reliability:

- every use of the store happens under a file lock beside the database, so two ``train`` or
  ``score`` processes on the same store take turns instead of failing with "database is
  locked"; a process that has to wait says so on stderr (through the ``riskengine`` logger);
- at registration the SHA-256 of every stored file of the model is recorded as version tags;
  loading downloads the files, checks them against the tags and the skops types against the
  allow-list kept in this module, and only then deserialises them (from the checked copy);
- the champion's history is a registered-model tag, so ``rollback`` can undo a promotion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import mlflow
from filelock import FileLock, Timeout
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from riskengine.config import CHAMPION_ALIAS, Settings
from riskengine.errors import (
    ModelIntegrityError,
    ModelNotFoundError,
    RiskEngineError,
    UserInputError,
)

EXPERIMENT_NAME = "riskengine"
MODEL_ARTIFACT_NAME = "model"
EXPLAIN_ARTIFACT = "explain.json"
CONFIG_ARTIFACT = "model_config.json"
CHALLENGER_ALIAS = "challenger"
CHAMPION_HISTORY_TAG = "champion_history"
MODEL_SHA256_TAG = "model_sha256"
MODEL_FILES_TAG = "model_files_sha256"
LOCK_TIMEOUT_SECONDS = 900
# Written by MLflow into every download of a registered version; not a stored artifact.
DOWNLOAD_ONLY_FILES = frozenset({"registered_model_meta"})

logger = logging.getLogger("riskengine")

# skops refuses unknown types on load; these are the ones a calibrated HistGradientBoosting
# classifier contains. Kept in code, never read from the model file: a model whose MLmodel or
# skops file asks for anything else is refused.
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
    artifact_sha256: str = ""
    # How the model's raw output becomes a probability with an interval, and the band
    # cut-offs; empty for a model whose output is already calibrated (own-history training).
    calibration: dict[str, Any] = field(default_factory=dict)
    band_cutoffs: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionDetails:
    """One registered version: its aliases, tags and its training run's metrics."""

    version: str
    run_id: str
    created_ms: int
    aliases: tuple[str, ...]
    tags: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


# -- the store and its lock ------------------------------------------------------------------


def lock_path(settings: Settings) -> Path:
    """The lock file: beside a SQLite database, else in ``models/``."""
    parsed = urlparse(settings.tracking_uri)
    if parsed.scheme == "sqlite" and parsed.path not in ("", "/:memory:"):
        database = Path(unquote(parsed.path))
        return database.with_name(database.name + ".lock")
    return settings.models_dir / "mlflow.lock"


@contextmanager
def store_lock(settings: Settings) -> Iterator[None]:
    """Hold the store's lock; wait (saying so) while another process holds it.

    Re-entrant within a thread, so a function holding it may call another that takes it.

    Raises
    ------
    RiskEngineError
        When the other process still holds the lock after :data:`LOCK_TIMEOUT_SECONDS`.
    """
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, is_singleton=True)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        logger.warning(
            "another riskengine process is using the model store %s; waiting for it to finish "
            "(lock file %s)",
            settings.tracking_uri,
            path,
        )
        try:
            lock.acquire(timeout=LOCK_TIMEOUT_SECONDS)
        except Timeout as error:
            raise RiskEngineError(
                f"the model store {settings.tracking_uri} has been locked by another process "
                f"for {LOCK_TIMEOUT_SECONDS} s; if no riskengine process is running, delete "
                f"{path}"
            ) from error
    try:
        yield
    finally:
        lock.release()


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


def _version_by_alias(client: MlflowClient, settings: Settings, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException:
        return None


def champion_version(settings: Settings) -> str | None:
    """The version the ``champion`` alias points at, or ``None``."""
    return alias_version(settings, CHAMPION_ALIAS)


def alias_version(settings: Settings, alias: str) -> str | None:
    """The version ``alias`` points at, or ``None``."""
    with store_lock(settings):
        return _version_by_alias(_configure(settings), settings, alias)


# -- integrity -------------------------------------------------------------------------------


def artifact_digest(directory: Path) -> tuple[str, dict[str, str]]:
    """SHA-256 of every file under ``directory`` and one digest over all of them.

    The combined digest covers names and contents, so a renamed, added or removed file
    changes it as much as an edited one.
    """
    files: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        if path.is_file() and relative not in DOWNLOAD_ONLY_FILES:
            files[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    combined = hashlib.sha256(
        "".join(f"{name}\0{digest}\n" for name, digest in files.items()).encode()
    ).hexdigest()
    return combined, files


def _download_version(settings: Settings, version: str, directory: str) -> Path:
    target = Path(directory) / "model"
    target.mkdir()
    uri = f"models:/{settings.model_name}/{version}"
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))


def _record_digest(client: MlflowClient, settings: Settings, version: str) -> str:
    with tempfile.TemporaryDirectory() as directory:
        digest, files = artifact_digest(_download_version(settings, version, directory))
    client.set_model_version_tag(settings.model_name, version, MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        settings.model_name, version, MODEL_FILES_TAG, json.dumps(files, sort_keys=True)
    )
    return digest


def _check_integrity(settings: Settings, version: str, tags: dict[str, str], local: Path) -> str:
    """Compare the downloaded files with the recorded hashes and the skops allow-list."""
    expected = tags.get(MODEL_SHA256_TAG)
    if not expected:
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} has no recorded SHA-256, so its "
            "files cannot be checked; retrain it with `riskengine train`"
        )
    digest, files = artifact_digest(local)
    if digest != expected:
        recorded = json.loads(tags.get(MODEL_FILES_TAG, "{}"))
        changed = sorted(
            name for name in set(files) | set(recorded) if files.get(name) != recorded.get(name)
        )
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} was modified after registration: "
            f"{', '.join(changed) or 'its files'} differ from the SHA-256 recorded at "
            f"registration ({expected[:12]}..., found {digest[:12]}...); refusing to load it. "
            "Restore the artifact or retrain"
        )
    _check_skops_types(settings, version, local)
    return digest


def _check_skops_types(settings: Settings, version: str, local: Path) -> None:
    import skops.io
    import yaml

    allowed = set(SKOPS_TRUSTED_TYPES)
    flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["sklearn"]
    declared = set(flavor.get("skops_trusted_types") or [])
    model_file = local / flavor["pickled_model"]
    try:
        needed = set(skops.io.get_untrusted_types(file=model_file))
    except zipfile.BadZipFile as error:
        # A skops file is a zip archive; anything else is not a model riskengine wrote.
        raise UserInputError(
            f"model {settings.model_name!r} version {version}: {model_file.name} is not a skops "
            f"model file (not a zip archive: {error}); retrain or restore the model store"
        ) from error
    extra = sorted((declared | needed) - allowed)
    if extra:
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} needs types outside riskengine's "
            f"allow-list: {', '.join(extra)}; refusing to load it"
        )


# -- runs and registration -------------------------------------------------------------------


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
    documents: dict[str, Any] | None = None,
    version_tags: dict[str, str] | None = None,
    scoring_metadata: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """Log one training run, register the model, record its SHA-256; return
    ``(run_id, version)``.

    ``documents`` are logged as JSON artifacts by file name (the model configuration among
    them); ``version_tags`` are set on the new version; ``scoring_metadata`` (calibration,
    band cut-offs) travels in the explanation artifact that scoring loads with the model.
    """
    with store_lock(settings):
        client = _configure(settings)
        with mlflow.start_run(run_name="train") as run:
            mlflow.log_params(params)
            mlflow.log_metrics({name: value for name, value in metrics.items() if value == value})
            mlflow.set_tags(tags)
            mlflow.log_dict({"features": list(feature_names)}, "feature_list.json")
            mlflow.log_dict(
                {
                    "feature_names": list(feature_names),
                    "neutral_values": neutral_values,
                    **(scoring_metadata or {}),
                },
                EXPLAIN_ARTIFACT,
            )
            for name, document in (documents or {}).items():
                mlflow.log_dict(document, name)
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
        versions = client.search_model_versions(
            f"name='{settings.model_name}' and run_id='{run.info.run_id}'"
        )
        version = str(max(int(item.version) for item in versions))
        _record_digest(client, settings, version)
        for key, value in (version_tags or {}).items():
            client.set_model_version_tag(settings.model_name, version, key, value)
        return run.info.run_id, version


def log_backtest(
    settings: Settings,
    *,
    params: dict[str, Any],
    metrics: dict[str, float],
    folds: list[dict[str, Any]],
    figures: dict[str, Any],
    tables: dict[str, str],
    tags: dict[str, str],
) -> str:
    """Log a backtest: a parent run with pooled metrics, plots and tables, and a child run per
    origin with that origin's dates and metrics. Returns the parent run's id.

    ``folds`` items hold ``name``, ``params`` and ``metrics``; ``tables`` maps file names to
    their text (CSV or markdown).
    """
    with store_lock(settings):
        _configure(settings)
        with mlflow.start_run(run_name="backtest") as parent:
            mlflow.log_params(params)
            mlflow.log_metrics({name: value for name, value in metrics.items() if value == value})
            mlflow.set_tags(tags)
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}.png")
            for name, text in tables.items():
                mlflow.log_text(text, name)
            for fold in folds:
                with mlflow.start_run(run_name=fold["name"], nested=True):
                    mlflow.log_params(fold["params"])
                    mlflow.log_metrics(
                        {name: value for name, value in fold["metrics"].items() if value == value}
                    )
        return parent.info.run_id


def run_document(settings: Settings, run_id: str, name: str) -> Any:
    """A JSON artifact of a run (an object or a list), or ``None`` when the run has none."""
    with store_lock(settings):
        client = _configure(settings)
        if name not in {item.path for item in client.list_artifacts(run_id)}:
            return None
        with tempfile.TemporaryDirectory() as directory:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=name, dst_path=directory
            )
            return json.loads(Path(path).read_text())


# -- aliases, promotion and rollback ----------------------------------------------------------


def _champion_history(client: MlflowClient, settings: Settings) -> list[str]:
    tags = client.get_registered_model(settings.model_name).tags
    return list(json.loads(tags.get(CHAMPION_HISTORY_TAG, "[]")))


def _require_version(client: MlflowClient, settings: Settings, version: str) -> None:
    try:
        client.get_model_version(settings.model_name, version)
    except MlflowException as error:
        raise ModelNotFoundError(
            f"no version {version!r} of model {settings.model_name!r} in "
            f"{settings.tracking_uri}; `riskengine model list` shows the versions"
        ) from error


def require_version(settings: Settings, version: str) -> None:
    """Raise :class:`ModelNotFoundError` (naming ``model list``) unless ``version`` exists."""
    with store_lock(settings):
        _require_version(_configure(settings), settings, version)


def set_champion(settings: Settings, version: str) -> None:
    """Point ``champion`` at ``version``, append it to the champion history, and drop the
    ``challenger`` alias if it pointed at the same version."""
    with store_lock(settings):
        client = _configure(settings)
        _require_version(client, settings, version)
        history = _champion_history(client, settings)
        if not history or history[-1] != version:
            history.append(version)
        client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)
        client.set_registered_model_tag(
            settings.model_name, CHAMPION_HISTORY_TAG, json.dumps(history)
        )
        if _version_by_alias(client, settings, CHALLENGER_ALIAS) == version:
            client.delete_registered_model_alias(settings.model_name, CHALLENGER_ALIAS)


def set_challenger(settings: Settings, version: str) -> None:
    """Point ``challenger`` at ``version``."""
    with store_lock(settings):
        client = _configure(settings)
        _require_version(client, settings, version)
        client.set_registered_model_alias(settings.model_name, CHALLENGER_ALIAS, version)


def rollback_champion(settings: Settings) -> tuple[str, str]:
    """Point ``champion`` back at the previous champion; return ``(from, to)`` versions.

    Raises
    ------
    ModelNotFoundError
        When there is no champion or no earlier champion to return to.
    """
    with store_lock(settings):
        client = _configure(settings)
        current = _version_by_alias(client, settings, CHAMPION_ALIAS)
        if current is None:
            raise ModelNotFoundError(f"model {settings.model_name!r} has no champion to roll back")
        history = _champion_history(client, settings)
        while history and history[-1] == current:
            history.pop()
        if not history:
            raise ModelNotFoundError(
                f"champion version {current} is the first champion of {settings.model_name!r}; "
                "there is no previous champion to roll back to"
            )
        previous = history[-1]
        client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, previous)
        client.set_registered_model_tag(
            settings.model_name, CHAMPION_HISTORY_TAG, json.dumps(history)
        )
        return current, previous


def list_versions(settings: Settings) -> list[VersionDetails]:
    """Every registered version, newest first, with its run's metrics and parameters."""
    with store_lock(settings):
        client = _configure(settings)
        try:
            registered = client.get_registered_model(settings.model_name)
        except MlflowException:
            return []
        # Versions found by search carry no aliases; the registered model lists them all.
        aliases: dict[str, list[str]] = {}
        for alias, version in registered.aliases.items():
            aliases.setdefault(str(version), []).append(alias)
        details = []
        for item in client.search_model_versions(f"name='{settings.model_name}'"):
            run = client.get_run(str(item.run_id))
            details.append(
                VersionDetails(
                    version=str(item.version),
                    run_id=str(item.run_id),
                    created_ms=int(item.creation_timestamp),
                    aliases=tuple(sorted(aliases.get(str(item.version), []))),
                    tags=dict(item.tags),
                    metrics=dict(run.data.metrics),
                    params=dict(run.data.params),
                )
            )
        return sorted(details, key=lambda detail: int(detail.version), reverse=True)


def version_details(settings: Settings, alias_or_version: str) -> VersionDetails:
    """One version by number or alias.

    Raises
    ------
    ModelNotFoundError
        When neither exists.
    """
    for detail in list_versions(settings):
        if alias_or_version == detail.version or alias_or_version in detail.aliases:
            return detail
    raise ModelNotFoundError(
        f"no model {settings.model_name!r} version or alias {alias_or_version!r} in "
        f"{settings.tracking_uri}; run `make train` first"
    )


# -- loading ---------------------------------------------------------------------------------


def load_registered_model(
    settings: Settings, alias_or_version: str = CHAMPION_ALIAS
) -> RegisteredModel:
    """Load a model version (by alias or number) with its explanation metadata.

    Raises
    ------
    ModelNotFoundError
        When the version or alias does not exist.
    ModelIntegrityError
        When the stored files differ from the SHA-256 recorded at registration, or need
        types outside :data:`SKOPS_TRUSTED_TYPES`.
    """
    with store_lock(settings):
        client = _configure(settings)
        try:
            if alias_or_version.isdigit():
                version_info = client.get_model_version(settings.model_name, alias_or_version)
            else:
                version_info = client.get_model_version_by_alias(
                    settings.model_name, alias_or_version
                )
        except MlflowException as error:
            raise ModelNotFoundError(
                f"no model {settings.model_name!r} version or alias {alias_or_version!r} in "
                f"{settings.tracking_uri}; run `make train` first"
            ) from error
        version = str(version_info.version)
        with tempfile.TemporaryDirectory() as directory:
            local = _download_version(settings, version, directory)
            digest = _check_integrity(settings, version, dict(version_info.tags), local)
            # Deserialise the copy whose bytes were just checked, not the store's.
            model = mlflow.sklearn.load_model(str(local))
            path = mlflow.artifacts.download_artifacts(
                run_id=version_info.run_id, artifact_path=EXPLAIN_ARTIFACT, dst_path=directory
            )
            explain = json.loads(Path(path).read_text())
        run = client.get_run(str(version_info.run_id))
        return RegisteredModel(
            model=model,
            version=version,
            run_id=str(version_info.run_id),
            feature_names=tuple(explain["feature_names"]),
            neutral_values=explain["neutral_values"],
            calibration=explain.get("calibration", {}),
            band_cutoffs=explain.get("band_cutoffs", {}),
            metrics=dict(run.data.metrics),
            artifact_sha256=digest,
        )
