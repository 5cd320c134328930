"""The one module that talks to MLflow: runs, the model registry and its aliases.

The default store is a SQLite database under ``models/``; artifacts live beside it. What makes
a stored model trusted (hashes, the signed manifest, the skops allow-list) is
:mod:`riskengine.models.trust`; this module fetches what it checks from the store.

Reliability:

- every write to the store happens under a file lock beside the database, so two ``train`` or
  ``score`` processes on the same store take turns instead of failing with "database is
  locked"; a process that has to wait says so on stderr (through the ``riskengine`` logger).
  A reader that cannot create or open the lock (another user's store, a read-only
  filesystem) reads without it, and nothing that only reads ever writes to the store;
- only ``train`` (and ``backtest``) create a store: reading a store that does not exist is a
  :class:`ModelNotFoundError` that leaves nothing behind, and a database that is not a sound
  SQLite file is a :class:`ModelStoreError` naming it;
- every registered version is pinned in the signed manifest (:mod:`riskengine.models.trust`)
  and checked against it before it is deserialised;
- a store can move: artifact locations are resolved under the store's own directory
  (:mod:`riskengine.models.locations`), so a copy never reads or writes the original's files;
- a load through the registry is remembered (:mod:`riskengine.models.resolution`), so the
  next process can load the same version without MLflow while the registry is unchanged;
- the champion's history is a registered-model tag, so ``rollback`` can undo a promotion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracking import MlflowClient
from sqlalchemy.exc import DatabaseError

from riskengine.config import CHALLENGER_ALIAS, CHAMPION_ALIAS, PINNED_ALIASES, Settings
from riskengine.errors import ModelIntegrityError, ModelNotFoundError, ModelStoreError
from riskengine.models import locations, resolution, tree_scorer, trust
from riskengine.models.store import (
    ARTIFACTS_DIRECTORY,
    artifact_root,
    damaged_message,
    database_path,
    local_path,
    no_store_message,
    store_exists,
    store_lock,
)
from riskengine.models.versions import EXPLAIN_ARTIFACT, RegisteredModel, VersionDetails
from riskengine.reference.loader import ReferenceData, load_reference

EXPERIMENT_NAME = "riskengine"
MODEL_ARTIFACT_NAME = "model"
CONFIG_ARTIFACT = "model_config.json"
CHAMPION_HISTORY_TAG = "champion_history"
# SQLite's words for a file that is not a sound database, as MLflow and SQLAlchemy pass them on.
DAMAGED_DATABASE_WORDS = ("file is not a database", "malformed", "no such table")

logger = logging.getLogger("riskengine")


# -- the store -------------------------------------------------------------------------------


@contextmanager
def _open_store(
    settings: Settings, *, write: bool = False, create: bool = False
) -> Iterator[MlflowClient | None]:
    """A client on the store, under its lock; ``None`` when reading a store that does not exist.

    Readers take the lock when they can and never create anything; writers need an existing
    store unless ``create`` (training). SQLite errors that mean a damaged database become a
    :class:`ModelStoreError` naming it.
    """
    if not create and not store_exists(settings):
        if write:
            raise ModelNotFoundError(no_store_message(settings))
        yield None
        return
    try:
        with store_lock(settings, read_only=not write):
            if create:
                # Checked under the lock: another process creating the store holds it while
                # its database has some of MLflow's tables and not yet others.
                store_exists(settings)
            yield _configure(settings, write=write)
    except (DatabaseError, MlflowException) as error:
        if not any(words in str(error) for words in DAMAGED_DATABASE_WORDS):
            raise
        raise ModelStoreError(
            damaged_message(database_path(settings) or settings.tracking_uri, str(error)[:200])
        ) from error


def _configure(settings: Settings, *, write: bool = True) -> MlflowClient:
    # MLflow logs database migrations and registrations at INFO on every command.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    if write:
        settings.models_dir.mkdir(parents=True, exist_ok=True)
        experiment = mlflow.get_experiment_by_name(EXPERIMENT_NAME)
        if experiment is None:
            relocatable = database_path(settings) is not None
            mlflow.create_experiment(
                EXPERIMENT_NAME,
                artifact_location=artifact_root(settings).as_uri(),
                tags={locations.ARTIFACT_ROOT_TAG: ARTIFACTS_DIRECTORY} if relocatable else None,
            )
        else:
            locations.follow_the_store(client, settings, experiment)
        mlflow.set_experiment(EXPERIMENT_NAME)
    return client


def _version_by_alias(client: MlflowClient, settings: Settings, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(settings.model_name, alias).version)
    except MlflowException:
        return None


def champion_version(settings: Settings) -> str | None:
    """The version the ``champion`` alias points at, or ``None``."""
    return alias_version(settings, CHAMPION_ALIAS)


def alias_version(settings: Settings, alias: str) -> str | None:
    """The version ``alias`` points at, or ``None`` (also when there is no store)."""
    with _open_store(settings) as client:
        return None if client is None else _version_by_alias(client, settings, alias)


# -- integrity -------------------------------------------------------------------------------


def _download_version(uri: str, directory: str) -> Path:
    """Download a version's files from their artifact ``uri`` into ``directory/model``."""
    target = Path(directory) / "model"
    target.mkdir()
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(target)))


def _record_digest(
    client: MlflowClient, settings: Settings, version: str
) -> tuple[str, dict[str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        local = _download_version(locations.version_artifacts(client, settings, version), directory)
        digest, files = trust.artifact_digest(local)
    client.set_model_version_tag(settings.model_name, version, trust.MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        settings.model_name, version, trust.MODEL_FILES_TAG, json.dumps(files, sort_keys=True)
    )
    return digest, files


def _run_files(client: MlflowClient, settings: Settings, run_id: str) -> dict[str, str]:
    uri = locations.run_artifacts(client, settings, run_id)
    with tempfile.TemporaryDirectory() as directory:
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=directory)
        return trust.artifact_digest(Path(local))[1]


def _pin(
    client: MlflowClient,
    settings: Settings,
    version: str,
    run_id: str,
    model_files: tuple[str, dict[str, str]],
) -> None:
    """Sign the manifest entry of ``version`` with its run's files and metrics as stored."""
    trust.pin_version(
        settings,
        version,
        run_id,
        model_files=model_files,
        run_files=_run_files(client, settings, run_id),
        metrics=dict(client.get_run(run_id).data.metrics),
    )


def missing_pins(settings: Settings, version: str, alias: str | None = None) -> str | None:
    """Why ``version`` (reached through ``alias``, if given) can never be loaded for want of
    pinned hashes, or ``None``.

    A version registered by an older riskengine has no hashes in its tags or no entry in the
    signed manifest, and an alias it moved has no signed record; ``train --if-missing``
    replaces such a champion. A present but altered entry is not missing: loading it says what
    was altered, and training does not paper over it.
    """
    with _open_store(settings) as client:
        if client is None:
            return None
        tags = client.get_model_version(settings.model_name, version).tags
    if not tags.get(trust.MODEL_SHA256_TAG):
        return f"version {version} has no recorded SHA-256"
    return trust.missing_pin(settings, version, alias)


def repin_version(settings: Settings, version: str) -> None:
    """Trust ``version``'s files as they are now: record their hashes in the version's tags and
    sign a new manifest entry (needs the signing key).

    For the key holder who has checked the files by other means; loading never calls it.
    """
    with _open_store(settings, write=True) as client:
        assert client is not None
        run_id = str(client.get_model_version(settings.model_name, version).run_id)
        _pin(client, settings, version, run_id, _record_digest(client, settings, version))


# -- runs and registration -------------------------------------------------------------------


def log_training_run(
    settings: Settings,
    *,
    model: Any,
    feature_names: tuple[str, ...],
    params: dict[str, Any],
    metrics: dict[str, float],
    neutral_values: dict[str, float],
    figures: dict[str, Any],
    tags: dict[str, str],
    documents: dict[str, Any] | None = None,
    version_tags: dict[str, str] | None = None,
    scoring_metadata: dict[str, Any] | None = None,
    reference: ReferenceData | None = None,
) -> tuple[str, str]:
    """Log one training run, register the model, record its SHA-256; return
    ``(run_id, version)``.

    ``documents`` are logged as JSON artifacts by file name (the model configuration among
    them); ``version_tags`` are set on the new version; ``scoring_metadata`` (calibration,
    band cut-offs) travels in the explanation artifact that scoring loads with the model.
    The version is also the full scorer, with ``reference`` (default: settings.reference_dir).
    """
    from riskengine.serving import pyfunc as scorer

    # Before anything is logged: a key that cannot be created or read stops here.
    trust.signing_key(settings, create=True)
    reference = reference or load_reference(settings.reference_dir)
    explanation = {"feature_names": list(feature_names), "neutral_values": neutral_values}
    explanation.update(scoring_metadata or {})
    with _open_store(settings, write=True, create=True) as client:
        assert client is not None
        # The scorer writes its version into its output: known before registering, as the
        # store's lock keeps other registrations out.
        known = client.search_model_versions(f"name='{settings.model_name}'")
        expected = str(max((int(item.version) for item in known), default=0) + 1)
        with mlflow.start_run(run_name="train") as run:
            mlflow.log_params(params)
            mlflow.log_metrics({name: value for name, value in metrics.items() if value == value})
            mlflow.set_tags(tags)
            mlflow.log_dict({"features": list(feature_names)}, "feature_list.json")
            mlflow.log_dict(explanation, EXPLAIN_ARTIFACT)
            for name, document in (documents or {}).items():
                mlflow.log_dict(document, name)
            for name, figure in figures.items():
                mlflow.log_figure(figure, f"plots/{name}.png")
            info = Model.log(
                None,
                name=MODEL_ARTIFACT_NAME,
                flavor=SimpleNamespace(save_model=_save_full_scorer),
                scorer_files=dict(reference=reference, version=expected, explanation=explanation),
                flavor_name=scorer.LOADER_MODULE,
                registered_model_name=settings.model_name,
                sk_model=model,
                signature=ModelSignature.from_dict(scorer.signature_document()),
                input_example=scorer.input_example(),
                serialization_format="skops",
                skops_trusted_types=trust.SKOPS_TRUSTED_TYPES,
                pip_requirements=scorer.pinned_requirements(),
                # Else MLflow loads the scorer to score the example (tests/serving does).
                validate_serving_input=False,
            )
        version = str(info.registered_model_version)
        if version != expected:
            raise ModelStoreError(
                f"model {settings.model_name!r} was registered as version {version}, but its "
                f"scorer was written as version {expected}; train again"
            )
        model_files = _record_digest(client, settings, version)
        for key, value in (version_tags or {}).items():
            client.set_model_version_tag(settings.model_name, version, key, value)
        _pin(client, settings, version, run.info.run_id, model_files)
        return run.info.run_id, version


def _save_full_scorer(
    path: str, mlflow_model: Model, *, scorer_files: dict[str, Any], **options: Any
) -> None:
    """Save a version (:meth:`mlflow.models.Model.log` calls this as its flavour's
    ``save_model``): the scikit-learn model with its tree scorer, which
    :func:`load_registered_model` reads, and as the ``python_function`` flavour the full
    scorer of :mod:`riskengine.serving.pyfunc`, loaded by module name, its reference snapshot
    and catalog in ``scorer/``."""
    from riskengine.serving import pyfunc as scorer

    options.pop("validate_serving_input", None)
    mlflow.sklearn.save_model(path=path, mlflow_model=mlflow_model, **options)
    tree_scorer.export(options["sk_model"], Path(path))
    model_file = mlflow_model.flavors["sklearn"]["pickled_model"]
    scorer.write_scorer_files(Path(path), model_file=model_file, **scorer_files)
    environment = mlflow_model.flavors.pop("python_function")["env"]
    mlflow.pyfunc.add_to_model(
        mlflow_model,
        loader_module=scorer.LOADER_MODULE,
        conda_env=environment["conda"],
        python_env=environment["virtualenv"],
    )
    mlflow_model.save(str(Path(path) / "MLmodel"))


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
    with _open_store(settings, write=True, create=True):
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
    """A JSON artifact of a run (an object or a list), or ``None`` when the run has none.

    The artifact of a registered version's run is checked against the hash its signed manifest
    entry pins.

    Raises
    ------
    ModelIntegrityError
        When the artifact differs from the pinned hash.
    """
    with _open_store(settings) as client:
        if client is None:
            return None
        artifacts = locations.run_artifacts(client, settings, run_id)
        # The repository lists paths relative to the run's artifact directory, as ``name`` is.
        listed = get_artifact_repository(artifacts).list_artifacts()
        if name not in {item.path for item in listed}:
            return None
        with tempfile.TemporaryDirectory() as directory:
            path = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=f"{artifacts}/{name}", dst_path=directory
                )
            )
            for version in trust.versions_pinning_run(settings, run_id):
                verified = trust.verified_entry(settings, version, run_id)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                trust.compare(
                    settings,
                    version,
                    "run artifacts",
                    {name: verified["run_files"].get(name)},
                    {name: digest},
                )
            return json.loads(path.read_text())


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
    with _open_store(settings) as client:
        if client is None:
            raise ModelNotFoundError(no_store_message(settings))
        _require_version(client, settings, version)


def set_champion(settings: Settings, version: str) -> None:
    """Point ``champion`` at ``version``, append it to the champion history, and drop the
    ``challenger`` alias if it pointed at the same version."""
    with _open_store(settings, write=True) as client:
        assert client is not None
        _require_version(client, settings, version)
        history = _champion_history(client, settings)
        if not history or history[-1] != version:
            history.append(version)
        trust.pin_alias(settings, CHAMPION_ALIAS, version)
        client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)
        client.set_registered_model_tag(
            settings.model_name, CHAMPION_HISTORY_TAG, json.dumps(history)
        )
        if _version_by_alias(client, settings, CHALLENGER_ALIAS) == version:
            trust.pin_alias(settings, CHALLENGER_ALIAS, None)
            client.delete_registered_model_alias(settings.model_name, CHALLENGER_ALIAS)


def set_challenger(settings: Settings, version: str) -> None:
    """Point ``challenger`` at ``version``."""
    with _open_store(settings, write=True) as client:
        assert client is not None
        _require_version(client, settings, version)
        trust.pin_alias(settings, CHALLENGER_ALIAS, version)
        client.set_registered_model_alias(settings.model_name, CHALLENGER_ALIAS, version)


def rollback_champion(settings: Settings) -> tuple[str, str]:
    """Point ``champion`` back at the previous champion; return ``(from, to)`` versions.

    Raises
    ------
    ModelNotFoundError
        When there is no champion or no earlier champion to return to.
    """
    with _open_store(settings, write=True) as client:
        assert client is not None
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
        trust.pin_alias(settings, CHAMPION_ALIAS, previous)
        client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, previous)
        client.set_registered_model_tag(
            settings.model_name, CHAMPION_HISTORY_TAG, json.dumps(history)
        )
        return current, previous


def list_versions(settings: Settings) -> list[VersionDetails]:
    """Every registered version, newest first, with its run's metrics and parameters."""
    with _open_store(settings) as client:
        if client is None:
            return []
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
        types outside :data:`riskengine.models.trust.SKOPS_TRUSTED_TYPES`.
    """
    with _open_store(settings) as client:
        if client is None:
            raise ModelNotFoundError(no_store_message(settings))
        # Taken before the alias is read, so a write after it changes what is remembered.
        identity = resolution.settled_identity(settings)
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
        run_id = str(version_info.run_id)
        version_uri = locations.version_artifacts(client, settings, version)
        with tempfile.TemporaryDirectory() as directory:
            local = _download_version(version_uri, directory)
            digest = trust.check_recorded_digest(settings, version, dict(version_info.tags), local)
            # The tags live in the database beside the files they describe; the signed entry
            # does not, so it decides.
            entry = trust.verified_entry(settings, version, run_id)
            if alias_or_version in PINNED_ALIASES:
                trust.check_alias(settings, alias_or_version, version)
            trust.compare(
                settings,
                version,
                "model files",
                entry["model_files"],
                trust.artifact_digest(local)[1],
            )
            run_uri = locations.run_artifacts(client, settings, run_id)
            explain_uri = f"{run_uri}/{EXPLAIN_ARTIFACT}"
            explain_path = Path(
                mlflow.artifacts.download_artifacts(artifact_uri=explain_uri, dst_path=directory)
            )
            explain_bytes = explain_path.read_bytes()
            trust.check_run_file(settings, version, entry, EXPLAIN_ARTIFACT, explain_bytes)
            explain = json.loads(explain_bytes)
            metrics = dict(client.get_run(run_id).data.metrics)
            trust.compare(settings, version, "run metrics", entry["metrics"], metrics)
            try:
                # Deserialise the copy whose bytes were just checked, not the store's.
                model = _checked_model(settings, version, local)
            except ModelIntegrityError:
                raise
            except Exception as error:
                # The bytes are the registered ones, so this is an environment that cannot
                # read them (another scikit-learn), which the user can act on.
                raise ModelIntegrityError(
                    f"model {settings.model_name!r} version {version} passed its checks but "
                    f"cannot be loaded here ({type(error).__name__}: {str(error)[:200]}); "
                    "retrain with this installation"
                ) from error
        resolution.remember(
            settings,
            alias_or_version,
            identity=identity,
            version=version,
            run_id=run_id,
            model_directory=local_path(version_uri),
            run_directory=local_path(run_uri),
        )
        return RegisteredModel.from_explanation(
            model,
            version=version,
            run_id=run_id,
            explanation=explain,
            metrics=metrics,
            artifact_sha256=digest,
        )


def _checked_model(settings: Settings, version: str, local: Path) -> Any:
    """The version's tree scorer when it carries one (no unpickling, no scikit-learn), else
    its skops file read with riskengine's allow-list."""
    if tree_scorer.present(local):
        # The skops file is not read, but MLflow's own loader would trust what MLmodel declares.
        trust.check_declared_types(settings, version, (local / "MLmodel").read_text())
        return tree_scorer.load(local)
    trust.check_skops_types(settings, version, local)
    return mlflow.sklearn.load_model(str(local))


# -- for loaders of their own (Spark's workers) ------------------------------------------


def download_verified_version(
    settings: Settings, alias_or_version: str, directory: str
) -> tuple[str, Path]:
    """Download a version's model files into ``directory`` and check them as
    :func:`load_registered_model` does (recorded SHA-256, signed
    entry, pinned alias, skops types); returns the version and the local directory.

    Raises
    ------
    ModelNotFoundError
        When the version or alias does not exist.
    ModelIntegrityError
        When the files differ from those recorded at registration.
    """
    details = version_details(settings, alias_or_version)
    version = details.version
    with _open_store(settings) as client:
        assert client is not None  # version_details found the version in this store
        local = _download_version(locations.version_artifacts(client, settings, version), directory)
    trust.check_recorded_digest(settings, version, details.tags, local)
    entry = trust.verified_entry(settings, version, details.run_id)
    if alias_or_version in PINNED_ALIASES:
        trust.check_alias(settings, alias_or_version, version)
    trust.compare(
        settings, version, "model files", entry["model_files"], trust.artifact_digest(local)[1]
    )
    trust.check_skops_types(settings, version, local)
    return version, local


def scorer_parameters(model_directory: Path) -> set[str]:
    """The parameters a version's pyfunc declares in its signature (MLflow drops any other)."""
    signature = Model.load(str(model_directory / "MLmodel")).signature
    params = signature.params if signature is not None else None
    return {spec.name for spec in params.params} if params is not None else set()


def load_pyfunc(model_directory: str) -> Any:
    """A version's pyfunc, as MLflow loads it (its signature and parameters enforced)."""
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(model_directory)
