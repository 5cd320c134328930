"""The one module that talks to MLflow: runs, the model registry and its aliases.

The default store is a SQLite database under ``models/``; artifacts live beside it.

Reliability:

- every write to the store happens under a file lock beside the database, so two ``train`` or
  ``score`` processes on the same store take turns instead of failing with "database is
  locked"; a process that has to wait says so on stderr (through the ``riskengine`` logger).
  A reader that cannot create or open the lock (another user's store, a read-only
  filesystem) reads without it, and nothing that only reads ever writes to the store;
- only ``train`` (and ``backtest``) create a store: reading a store that does not exist is a
  :class:`ModelNotFoundError` that leaves nothing behind, and a database that is not a sound
  SQLite file is a :class:`ModelStoreError` naming it;
- at registration the SHA-256 of every stored file of the model, of every artifact of its
  run (``explain.json`` with the calibration and band cut-offs among them) and the run's
  metrics are pinned in a manifest beside the database (``mlflow.db.manifest.json``), each
  version's entry signed with HMAC-SHA256 under a key kept outside the store
  (:attr:`Settings.signing_key`, created with mode 0600 by the first training). Loading checks
  the signature, then the files and metrics against the entry, then the skops types against
  the allow-list kept in this module, and only then deserialises them (from the checked
  copy). Where ``champion`` and ``challenger`` point is signed there too. Editing the
  database, the artifacts, or both, cannot make a model load that the key holder did not
  register, nor move the champion; editing the manifest without the key breaks its signature;
- the champion's history is a registered-model tag, so ``rollback`` can undo a promotion.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
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
from sqlalchemy.exc import DatabaseError

from riskengine.config import CHAMPION_ALIAS, SIGNING_KEY_ENV, Settings
from riskengine.errors import (
    ModelIntegrityError,
    ModelNotFoundError,
    ModelStoreError,
    RiskEngineError,
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
MANIFEST_FORMAT = "riskengine-manifest/1"
# What a failed open or lock of a file we may not write looks like (another user's store, a
# read-only mount); root without CAP_DAC_OVERRIDE gets the same.
READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
# SQLite's words for a file that is not a sound database, as MLflow and SQLAlchemy pass them on.
DAMAGED_DATABASE_WORDS = ("file is not a database", "malformed", "no such table")

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


def database_path(settings: Settings) -> Path | None:
    """The SQLite database of a ``sqlite:`` tracking URI, or ``None`` for other stores."""
    parsed = urlparse(settings.tracking_uri)
    if parsed.scheme != "sqlite" or parsed.path in ("", "/", "/:memory:"):
        return None
    # sqlite:///relative.db and sqlite:////absolute.db: the path follows the third slash.
    return Path(unquote(parsed.path)[1:])


def lock_path(settings: Settings) -> Path:
    """The lock file: beside a SQLite database, else in ``models/``."""
    database = database_path(settings)
    if database is not None:
        return database.with_name(database.name + ".lock")
    return settings.models_dir / "mlflow.lock"


def manifest_path(settings: Settings) -> Path:
    """The signed manifest of pinned hashes: beside a SQLite database, else in ``models/``."""
    database = database_path(settings)
    if database is not None:
        return database.with_name(database.name + ".manifest.json")
    return settings.models_dir / "manifest.json"


def _is_read_only_error(error: OSError) -> bool:
    return isinstance(error, PermissionError) or error.errno in READ_ONLY_ERRNOS


@contextmanager
def store_lock(settings: Settings, *, read_only: bool = False) -> Iterator[None]:
    """Hold the store's lock; wait (saying so) while another process holds it.

    Re-entrant within a thread, so a function holding it may call another that takes it. With
    ``read_only`` a lock file that cannot be created or opened (another user's store, a
    read-only filesystem) is read past: the reader goes on without it.

    Raises
    ------
    ModelStoreError
        When a writer cannot create or open the lock file.
    RiskEngineError
        When the other process still holds the lock after :data:`LOCK_TIMEOUT_SECONDS`.
    """
    path = lock_path(settings)
    lock = FileLock(path, is_singleton=True)
    locked = True
    try:
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        _acquire(lock, settings, path)
    except OSError as error:
        if not _is_read_only_error(error):
            raise
        if not read_only:
            raise ModelStoreError(
                f"the model store {settings.tracking_uri} is read-only for this user: cannot "
                f"create or open its lock file {path} ({error.strerror}); train with an account "
                "that may write to it"
            ) from error
        # SQLite keeps a reader consistent on its own; the lock only makes writers take turns.
        logger.debug("reading the model store without its lock (%s: %s)", path, error.strerror)
        locked = False
    try:
        yield
    finally:
        if locked:
            lock.release()


def _acquire(lock: FileLock, settings: Settings, path: Path) -> None:
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


def _store_exists(settings: Settings) -> bool:
    """Whether the store holds MLflow's tables; a database that is not sound is an error.

    Opens the SQLite file read-only, so checking never creates or changes it. A file store
    exists when its directory does; other stores (a tracking server) are taken to exist, and
    MLflow reports on them.

    Raises
    ------
    ModelStoreError
        When the database is not a file, not a SQLite database, fails SQLite's quick
        integrity check, or is a SQLite database of something else.
    """
    database = database_path(settings)
    if database is None:
        parsed = urlparse(settings.tracking_uri)
        if parsed.scheme in ("", "file"):
            # A file store: MLflow would create the directory on first use.
            return Path(unquote(parsed.path)).is_dir()
        return True
    if not database.exists():
        return False
    if not database.is_file():
        raise ModelStoreError(f"{database}: the model store's database is not a file")
    try:
        connection = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
        try:
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            (check,) = connection.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:
        raise ModelStoreError(_damaged_message(database, str(error))) from error
    if check != "ok":
        raise ModelStoreError(_damaged_message(database, f"integrity check: {check}"))
    if tables and "registered_models" not in tables:
        raise ModelStoreError(
            f"{database} is a SQLite database but not an MLflow model store (it has no "
            "registered_models table); check RISKENGINE_TRACKING_URI"
        )
    return bool(tables)


def _damaged_message(database: Path | str, detail: str) -> str:
    return (
        f"{database}: the model store's database is damaged or not a SQLite database "
        f"({detail}); restore it from a backup, or move it away and run `riskengine train`"
    )


def _no_store_message(settings: Settings) -> str:
    database = database_path(settings)
    where = f" ({database} does not exist or is empty)" if database is not None else ""
    return (
        f"no model store at {settings.tracking_uri}{where}: no model to load. Check "
        "RISKENGINE_TRACKING_URI and RISKENGINE_HOME, or run `riskengine train` to create one"
    )


@contextmanager
def _open_store(
    settings: Settings, *, write: bool = False, create: bool = False
) -> Iterator[MlflowClient | None]:
    """A client on the store, under its lock; ``None`` when reading a store that does not exist.

    Readers take the lock when they can and never create anything; writers need an existing
    store unless ``create`` (training). SQLite errors that mean a damaged database become a
    :class:`ModelStoreError` naming it.
    """
    exists = _store_exists(settings)
    if not exists and not create:
        if write:
            raise ModelNotFoundError(_no_store_message(settings))
        yield None
        return
    try:
        with store_lock(settings, read_only=not write):
            yield _configure(settings, write=write)
    except (DatabaseError, MlflowException) as error:
        if not any(words in str(error) for words in DAMAGED_DATABASE_WORDS):
            raise
        raise ModelStoreError(
            _damaged_message(database_path(settings) or settings.tracking_uri, str(error)[:200])
        ) from error


def _configure(settings: Settings, *, write: bool = True) -> MlflowClient:
    # MLflow logs database migrations and registrations at INFO on every command.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    if write:
        settings.models_dir.mkdir(parents=True, exist_ok=True)
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
    """The version ``alias`` points at, or ``None`` (also when there is no store)."""
    with _open_store(settings) as client:
        return None if client is None else _version_by_alias(client, settings, alias)


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


def _record_digest(
    client: MlflowClient, settings: Settings, version: str
) -> tuple[str, dict[str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        digest, files = artifact_digest(_download_version(settings, version, directory))
    client.set_model_version_tag(settings.model_name, version, MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        settings.model_name, version, MODEL_FILES_TAG, json.dumps(files, sort_keys=True)
    )
    return digest, files


def _check_integrity(settings: Settings, version: str, tags: dict[str, str], local: Path) -> str:
    """Compare the downloaded files with the hashes recorded in the version's tags."""
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
    return digest


def _check_skops_types(settings: Settings, version: str, local: Path) -> None:
    import skops.io
    import yaml

    allowed = set(SKOPS_TRUSTED_TYPES)
    try:
        flavor = yaml.safe_load((local / "MLmodel").read_text())["flavors"]["sklearn"]
        model_file = local / flavor["pickled_model"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise ModelIntegrityError(
            f"MLmodel of model {settings.model_name!r} version {version} does not describe a "
            f"scikit-learn model ({type(error).__name__}: {error}); refusing to load it"
        ) from error
    declared = set(flavor.get("skops_trusted_types") or [])
    try:
        needed = set(skops.io.get_untrusted_types(file=model_file))
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise ModelIntegrityError(
            f"{model_file.name} of model {settings.model_name!r} version {version} is not a "
            f"skops model file (a zip archive): {error}; refusing to load it"
        ) from error
    extra = sorted((declared | needed) - allowed)
    if extra:
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version} needs types outside riskengine's "
            f"allow-list: {', '.join(extra)}; refusing to load it"
        )


# -- the signed manifest ----------------------------------------------------------------------


def _signing_key(settings: Settings, *, create: bool = False) -> bytes:
    """The manifest's HMAC key; with ``create`` a new random one (mode 0600) if none exists.

    Raises
    ------
    ModelIntegrityError
        When the key file is missing (and not to be created), unreadable or not a key.
    """
    path = settings.signing_key
    if create and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written aside and linked into place, so a concurrent reader never sees half a key and
        # a concurrent creator's key is never replaced.
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".store-key-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)
            logger.warning(
                "created the model store's signing key %s (mode 0600); scoring needs it to "
                "verify the store, so keep it and give it to whoever scores (or set %s)",
                path,
                SIGNING_KEY_ENV,
            )
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise ModelIntegrityError(
            f"no signing key at {path}: the hashes pinned in {manifest_path(settings)} cannot "
            f"be verified without the key that signed them; copy that key there or set "
            f"{SIGNING_KEY_ENV} to its path"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelIntegrityError(f"cannot read the signing key {path}: {error}") from error
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise ModelIntegrityError(f"{path} is not a riskengine signing key (64 hex digits)")
    return key


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"riskengine key id\0" + key).hexdigest()[:16]


def _signature(key: bytes, entry: dict[str, Any]) -> str:
    body = {name: value for name, value in entry.items() if name != "signature"}
    payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def _read_manifest(settings: Settings) -> dict[str, Any]:
    path = manifest_path(settings)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"format": MANIFEST_FORMAT, "versions": {}}
    except (OSError, ValueError) as error:
        raise ModelIntegrityError(
            f"{path}: the store's manifest of pinned hashes cannot be read ({error})"
        ) from error
    if not isinstance(manifest, dict) or not isinstance(manifest.get("versions"), dict):
        raise ModelIntegrityError(f"{path} is not a riskengine manifest of pinned hashes")
    return manifest


def _write_manifest(settings: Settings, manifest: dict[str, Any]) -> None:
    path = manifest_path(settings)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".manifest-")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _entry_name(settings: Settings, version: str) -> str:
    return f"{settings.model_name}/{version}"


def _run_files(run_id: str) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as directory:
        local = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=directory)
        return artifact_digest(Path(local))[1]


def _pin(
    client: MlflowClient,
    settings: Settings,
    version: str,
    run_id: str,
    model_files: tuple[str, dict[str, str]],
) -> None:
    """Sign and write the manifest entry of ``version``: its files, its run's, its metrics."""
    key = _signing_key(settings, create=True)
    digest, files = model_files
    entry: dict[str, Any] = {
        "model_name": settings.model_name,
        "version": version,
        "run_id": run_id,
        "model_sha256": digest,
        "model_files": files,
        "run_files": _run_files(run_id),
        "metrics": dict(client.get_run(run_id).data.metrics),
        "key_id": _key_id(key),
    }
    entry["signature"] = _signature(key, entry)
    manifest = _read_manifest(settings)
    manifest["format"] = MANIFEST_FORMAT
    manifest["versions"][_entry_name(settings, version)] = entry
    _write_manifest(settings, manifest)


def _verified_entry(settings: Settings, version: str, run_id: str) -> dict[str, Any]:
    """The manifest entry of ``version``, its signature checked and its run matching.

    Raises
    ------
    ModelIntegrityError
        When the entry is missing, signed with another key, does not match its signature, or
        pins another run than the database names.
    """
    path = manifest_path(settings)
    name = settings.model_name
    entry = _read_manifest(settings)["versions"].get(_entry_name(settings, version))
    if not isinstance(entry, dict):
        raise ModelIntegrityError(
            f"{path} pins no hashes for model {name!r} version {version} (registered before "
            "riskengine signed its manifest, or the entry was removed); refusing to load it. "
            "Retrain with `riskengine train`"
        )
    key = _signing_key(settings)
    if entry.get("key_id") != _key_id(key):
        raise ModelIntegrityError(
            f"{path}: the entry of model {name!r} version {version} was signed with another "
            f"key than {settings.signing_key}; refusing to load it. Use the key that signed it "
            f"({SIGNING_KEY_ENV}) or retrain"
        )
    if not hmac.compare_digest(_signature(key, entry), str(entry.get("signature", ""))):
        raise ModelIntegrityError(
            f"{path}: the entry of model {name!r} version {version} does not match its "
            f"signature under {settings.signing_key} (it was edited without the key); "
            "refusing to load it"
        )
    if entry["run_id"] != run_id:
        raise ModelIntegrityError(
            f"the database names run {run_id} for model {name!r} version {version}, but {path} "
            f"pins run {entry['run_id']}; refusing to load it"
        )
    return entry


def _compare(
    settings: Settings, version: str, what: str, pinned: dict[str, Any], found: dict[str, Any]
) -> None:
    """Refuse when ``found`` differs from ``pinned``, naming each difference (the first five)."""

    def shown(value: Any) -> str:
        if value is None:
            return "none"
        # A SHA-256 is recognisable by its first 12 digits; a metric is shown whole.
        return f"{value[:12]}..." if isinstance(value, str) and len(value) == 64 else repr(value)

    changed = sorted(
        name for name in set(pinned) | set(found) if pinned.get(name) != found.get(name)
    )
    if changed:
        details = "; ".join(
            f"{name} (pinned {shown(pinned.get(name))}, found {shown(found.get(name))})"
            for name in changed[:5]
        )
        raise ModelIntegrityError(
            f"model {settings.model_name!r} version {version}: {what} differ from what "
            f"{manifest_path(settings)} pinned at registration: {details}; refusing to load it. "
            "Restore the store from a backup or retrain"
        )


# riskengine moves these aliases itself, and signs where each points; an alias set by other
# means (the MLflow UI) still resolves through the database to a version whose files are checked.
PINNED_ALIASES = (CHAMPION_ALIAS, CHALLENGER_ALIAS)


def _alias_name(settings: Settings, alias: str) -> str:
    return f"{settings.model_name}@{alias}"


def _pin_alias(settings: Settings, alias: str, version: str | None) -> None:
    """Sign where ``alias`` points (``None``: nowhere) in the manifest, before the database
    moves it: a failure in between leaves the two apart, which loading refuses."""
    key = _signing_key(settings)
    manifest = _read_manifest(settings)
    aliases = manifest.setdefault("aliases", {})
    if version is None:
        aliases.pop(_alias_name(settings, alias), None)
    else:
        record: dict[str, Any] = {
            "model_name": settings.model_name,
            "alias": alias,
            "version": version,
            "key_id": _key_id(key),
        }
        record["signature"] = _signature(key, record)
        aliases[_alias_name(settings, alias)] = record
    _write_manifest(settings, manifest)


def _check_alias(settings: Settings, alias: str, version: str) -> None:
    """Refuse unless the signed record of ``alias`` points at ``version``, as the database does.

    Raises
    ------
    ModelIntegrityError
        When the record is missing, signed with another key, altered, or names another version.
    """
    path = manifest_path(settings)
    name = settings.model_name
    record = _read_manifest(settings).get("aliases", {}).get(_alias_name(settings, alias))
    if not isinstance(record, dict):
        raise ModelIntegrityError(
            f"{path} pins no version for the alias {alias!r} of model {name!r}: it was set "
            f"outside riskengine; refusing to load it. Set it with `riskengine model promote`"
        )
    key = _signing_key(settings)
    if record.get("key_id") != _key_id(key) or not hmac.compare_digest(
        _signature(key, record), str(record.get("signature", ""))
    ):
        raise ModelIntegrityError(
            f"{path}: the record of the alias {alias!r} of model {name!r} does not match its "
            f"signature under {settings.signing_key}; refusing to load it"
        )
    if record.get("version") != version:
        raise ModelIntegrityError(
            f"the database points the alias {alias!r} of model {name!r} at version {version}, "
            f"but {path} pins version {record.get('version')}; refusing to load it. Move it "
            "with `riskengine model promote` or `model rollback`"
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
    if not tags.get(MODEL_SHA256_TAG):
        return f"version {version} has no recorded SHA-256"
    manifest = _read_manifest(settings)
    if _entry_name(settings, version) not in manifest["versions"]:
        return f"version {version} has no hashes pinned in {manifest_path(settings).name}"
    if alias is not None and _alias_name(settings, alias) not in manifest.get("aliases", {}):
        return f"the alias {alias!r} is not pinned in {manifest_path(settings).name}"
    return None


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
    # Before anything is logged: a key that cannot be created or read stops here.
    _signing_key(settings, create=True)
    with _open_store(settings, write=True, create=True) as client:
        assert client is not None
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
        model_files = _record_digest(client, settings, version)
        for key, value in (version_tags or {}).items():
            client.set_model_version_tag(settings.model_name, version, key, value)
        _pin(client, settings, version, run.info.run_id, model_files)
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
        if client is None or name not in {item.path for item in client.list_artifacts(run_id)}:
            return None
        pinned = [
            entry
            for entry in _read_manifest(settings)["versions"].values()
            if isinstance(entry, dict) and entry.get("run_id") == run_id
        ]
        with tempfile.TemporaryDirectory() as directory:
            path = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=name, dst_path=directory
                )
            )
            for entry in pinned:
                verified = _verified_entry(settings, str(entry["version"]), run_id)
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                _compare(
                    settings,
                    str(entry["version"]),
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
            raise ModelNotFoundError(_no_store_message(settings))
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
        _pin_alias(settings, CHAMPION_ALIAS, version)
        client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)
        client.set_registered_model_tag(
            settings.model_name, CHAMPION_HISTORY_TAG, json.dumps(history)
        )
        if _version_by_alias(client, settings, CHALLENGER_ALIAS) == version:
            _pin_alias(settings, CHALLENGER_ALIAS, None)
            client.delete_registered_model_alias(settings.model_name, CHALLENGER_ALIAS)


def set_challenger(settings: Settings, version: str) -> None:
    """Point ``challenger`` at ``version``."""
    with _open_store(settings, write=True) as client:
        assert client is not None
        _require_version(client, settings, version)
        _pin_alias(settings, CHALLENGER_ALIAS, version)
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
        _pin_alias(settings, CHAMPION_ALIAS, previous)
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
        types outside :data:`SKOPS_TRUSTED_TYPES`.
    """
    with _open_store(settings) as client:
        if client is None:
            raise ModelNotFoundError(_no_store_message(settings))
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
        with tempfile.TemporaryDirectory() as directory:
            local = _download_version(settings, version, directory)
            digest = _check_integrity(settings, version, dict(version_info.tags), local)
            # The tags live in the database beside the files they describe; the signed entry
            # does not, so it decides.
            entry = _verified_entry(settings, version, run_id)
            if alias_or_version in PINNED_ALIASES:
                _check_alias(settings, alias_or_version, version)
            _compare(
                settings, version, "model files", entry["model_files"], artifact_digest(local)[1]
            )
            _check_skops_types(settings, version, local)
            explain_path = Path(
                mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=EXPLAIN_ARTIFACT, dst_path=directory
                )
            )
            _compare(
                settings,
                version,
                "run artifacts",
                {EXPLAIN_ARTIFACT: entry["run_files"].get(EXPLAIN_ARTIFACT)},
                {EXPLAIN_ARTIFACT: hashlib.sha256(explain_path.read_bytes()).hexdigest()},
            )
            explain = json.loads(explain_path.read_text())
            metrics = dict(client.get_run(run_id).data.metrics)
            _compare(settings, version, "run metrics", entry["metrics"], metrics)
            try:
                # Deserialise the copy whose bytes were just checked, not the store's.
                model = mlflow.sklearn.load_model(str(local))
            except Exception as error:
                # The bytes are the registered ones, so this is an environment that cannot
                # read them (another scikit-learn), which the user can act on.
                raise ModelIntegrityError(
                    f"model {settings.model_name!r} version {version} passed its checks but "
                    f"cannot be loaded here ({type(error).__name__}: {str(error)[:200]}); "
                    "retrain with this installation"
                ) from error
        return RegisteredModel(
            model=model,
            version=version,
            run_id=run_id,
            feature_names=tuple(explain["feature_names"]),
            neutral_values=explain["neutral_values"],
            calibration=explain.get("calibration", {}),
            band_cutoffs=explain.get("band_cutoffs", {}),
            metrics=metrics,
            artifact_sha256=digest,
        )
