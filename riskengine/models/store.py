"""The model store's files, without MLflow: where the database, its lock, its manifest and its
artifacts are; whether the database is sound; the lock under which writers take turns.

Shared by :mod:`riskengine.models.tracking` (the MLflow side) and
:mod:`riskengine.models.trust` (the signed manifest).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlparse

from filelock import FileLock, Timeout

from riskengine.config import Settings
from riskengine.errors import ModelStoreError, RiskEngineError

# The artifact directory of a SQLite store, relative to the directory of its database.
ARTIFACTS_DIRECTORY = "artifacts"
LOCK_TIMEOUT_SECONDS = 900
# What a failed open or lock of a file we may not write looks like (another user's store, a
# read-only mount); root without CAP_DAC_OVERRIDE gets the same.
READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})

logger = logging.getLogger("riskengine")


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


def store_directory(settings: Settings) -> Path:
    """The directory of the store as it is now, which its relative locations are resolved
    against: the SQLite database's (wherever the database has been copied to), else
    ``models/``."""
    database = database_path(settings)
    if database is not None:
        return database.resolve().parent
    return settings.models_dir.resolve()


def local_path(uri: str) -> Path | None:
    """The local path of a ``file:`` (or scheme-less) URI, ``None`` for other schemes."""
    parsed = urlparse(uri)
    return Path(unquote(parsed.path)) if parsed.scheme in ("", "file") else None


def artifact_root(settings: Settings) -> Path:
    """Where a new store keeps its artifacts: :data:`ARTIFACTS_DIRECTORY` in its directory."""
    return store_directory(settings) / ARTIFACTS_DIRECTORY


# -- the lock and the database's soundness ----------------------------------------------------


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


def store_exists(settings: Settings) -> bool:
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
        # A file store: MLflow would create the directory on first use.
        directory = local_path(settings.tracking_uri)
        return directory is None or directory.is_dir()
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
        raise ModelStoreError(damaged_message(database, str(error))) from error
    if check != "ok":
        raise ModelStoreError(damaged_message(database, f"integrity check: {check}"))
    if tables and "registered_models" not in tables:
        raise ModelStoreError(
            f"{database} is a SQLite database but not an MLflow model store (it has no "
            "registered_models table); check RISKENGINE_TRACKING_URI"
        )
    return bool(tables)


def damaged_message(database: Path | str, detail: str) -> str:
    """What to tell the user about a damaged database (``detail``: what SQLite said)."""
    return (
        f"{database}: the model store's database is damaged or not a SQLite database "
        f"({detail}); restore it from a backup, or move it away and run `riskengine train`"
    )


def no_store_message(settings: Settings) -> str:
    """What to tell the user when there is no store to read a model from."""
    database = database_path(settings)
    where = f" ({database} does not exist or is empty)" if database is not None else ""
    return (
        f"no model store at {settings.tracking_uri}{where}: no model to load. Check "
        "RISKENGINE_TRACKING_URI and RISKENGINE_HOME, or run `riskengine train` to create one"
    )
