"""Load a registered version without importing MLflow, while the registry is unchanged.

Importing MLflow costs about two seconds per process (``bench/``), most of a one-row score.
Each time :mod:`riskengine.models.tracking` loads a version through MLflow's registry, it
remembers here where the alias or number led: the version, its run, and its files' places in
the store. That record is kept beside the database with the database's identity then (size and
modification time of the database and its journals). While the identity is unchanged, no alias
can have moved and no version changed, so :func:`load_model` reads the remembered files
directly; any write to the registry (by riskengine, the MLflow UI or a client) makes the record
stale and the next load goes through MLflow again.

The record is a shortcut, never a source of trust: the files are checked against the signed
manifest exactly as through MLflow (the version's entry and signature, the alias's signed
record, every file's SHA-256, the run's explanation), so an edited record can only send a load
back through MLflow. Only versions that carry a tree scorer (:mod:`.tree_scorer`) are loaded
this way, since the point is to import neither MLflow nor scikit-learn.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from riskengine.config import PINNED_ALIASES, Settings
from riskengine.errors import ModelIntegrityError
from riskengine.models import tree_scorer, trust
from riskengine.models.store import database_path, store_directory, store_lock
from riskengine.models.versions import EXPLAIN_ARTIFACT, RegisteredModel

RECORD_FORMAT = "riskengine-resolved/1"
RECORD_SUFFIX = ".resolved.json"
PLACE_FIELDS = ("version", "run_id", "model_directory", "run_directory")
SETTLED_SECONDS = 2

logger = logging.getLogger("riskengine")


def record_path(settings: Settings) -> Path | None:
    """The record of resolved versions, beside a SQLite database; ``None`` for other stores."""
    database = database_path(settings)
    return None if database is None else database.with_name(database.name + RECORD_SUFFIX)


def registry_identity(settings: Settings) -> list[list[Any]] | None:
    """Size and modification time (ns) of the database and its journals: any write changes
    them. ``None`` when the store is not a SQLite file."""
    database = database_path(settings)
    if database is None or not database.is_file():
        return None
    if database.with_name(database.name + "-wal").exists():
        # In WAL mode a commit can land in a write-ahead log that keeps its size and leaves
        # the database untouched, so no file's size and time tell that it happened.
        return None
    identity = []
    for suffix in ("", "-journal"):
        path = database.with_name(database.name + suffix)
        try:
            status = path.stat()
        except FileNotFoundError:
            continue
        identity.append([suffix, status.st_size, status.st_mtime_ns])
    return identity


def settled_identity(settings: Settings) -> list[list[Any]] | None:
    """:func:`registry_identity`, or ``None`` while the database was written in the last
    :data:`SETTLED_SECONDS`.

    A file's modification time moves in clock ticks of a few milliseconds, so two writes in
    one tick can leave the same size and time. A load that starts only once the database has
    been still for longer than that sees any later write as a new identity.
    """
    identity = registry_identity(settings)
    if identity is None:
        return None
    newest = max(modified for _, _, modified in identity)
    return identity if time.time_ns() - newest >= SETTLED_SECONDS * 1e9 else None


def remember(
    settings: Settings,
    alias_or_version: str,
    *,
    identity: list[list[Any]] | None,
    version: str,
    run_id: str,
    model_directory: Path | None,
    run_directory: Path | None,
) -> None:
    """Record where ``alias_or_version`` led, if the registry is still as it was when the load
    began (``identity``, from :func:`settled_identity`) and the files lie inside the store (so
    the record survives a move of the store). Best effort: a store this user cannot write is
    simply not remembered."""
    path = record_path(settings)
    if path is None or identity is None or identity != registry_identity(settings):
        return
    if model_directory is None or run_directory is None:
        return
    root = store_directory(settings)
    try:
        places = {
            "model_directory": model_directory.resolve().relative_to(root).as_posix(),
            "run_directory": run_directory.resolve().relative_to(root).as_posix(),
        }
    except ValueError:
        return
    if not tree_scorer.present(model_directory) or not _loadable_by_record(alias_or_version):
        return
    document = _read(path)
    if document.get("identity") != identity or document.get("model_name") != settings.model_name:
        document = {"format": RECORD_FORMAT, "model_name": settings.model_name, "resolved": {}}
    document["identity"] = identity
    document["resolved"][alias_or_version] = {"version": version, "run_id": run_id, **places}
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as error:
        logger.debug("not remembering the resolved version in %s: %s", path, error)
        return
    try:
        # Readable by whoever may read the database, like the manifest beside it.
        database = database_path(settings)
        assert database is not None  # record_path gave a path, so the store is SQLite
        os.fchmod(handle, database.stat().st_mode & 0o666)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2, sort_keys=True)
        os.replace(temporary, path)
    except OSError as error:
        logger.debug("not remembering the resolved version in %s: %s", path, error)
        Path(temporary).unlink(missing_ok=True)


def _loadable_by_record(alias_or_version: str) -> bool:
    """Whether :func:`load_remembered` may answer for ``alias_or_version``: a signed alias or a
    version number as the registry writes it."""
    if alias_or_version.isdigit():
        return str(int(alias_or_version)) == alias_or_version
    return alias_or_version in PINNED_ALIASES


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("format") != RECORD_FORMAT:
        return {}
    if not isinstance(document.get("resolved"), dict) or not isinstance(
        document.get("identity"), list
    ):
        return {}
    return document


def load_remembered(settings: Settings, alias_or_version: str) -> RegisteredModel | None:
    """The version ``alias_or_version`` led to when the registry was last read, checked like
    a load through MLflow; ``None`` when there is no current record or any check fails (the
    load through MLflow then says what is wrong)."""
    path = record_path(settings)
    if path is None or not path.is_file():
        return None
    with store_lock(settings, read_only=True):
        document = _read(path)
        if document.get("model_name") != settings.model_name:
            return None
        if document.get("identity") != registry_identity(settings):
            return None
        place = document["resolved"].get(alias_or_version)
        if not _loadable_by_record(alias_or_version) or not isinstance(place, dict):
            return None
        if not all(isinstance(place.get(name), str) for name in PLACE_FIELDS):
            return None
        try:
            return _load_checked(settings, alias_or_version, place)
        except (ModelIntegrityError, OSError, KeyError, TypeError, ValueError) as error:
            logger.debug("the remembered version of %s is not used: %s", alias_or_version, error)
            return None


def _load_checked(
    settings: Settings, alias_or_version: str, place: dict[str, Any]
) -> RegisteredModel:
    version, run_id = str(place["version"]), str(place["run_id"])
    if alias_or_version.isdigit() and alias_or_version != version:
        raise ModelIntegrityError(f"the record maps version {alias_or_version} to {version}")
    entry = trust.verified_entry(settings, version, run_id)
    if alias_or_version in PINNED_ALIASES:
        trust.check_alias(settings, alias_or_version, version)
    root = store_directory(settings)
    contents = trust.stored_files(root / place["model_directory"])
    digest, files = trust.digest_of_files(contents)
    trust.compare(settings, version, "model files", entry["model_files"], files)
    trust.check_declared_types(settings, version, contents["MLmodel"].decode("utf-8"))
    explain_bytes = (root / place["run_directory"] / EXPLAIN_ARTIFACT).read_bytes()
    trust.check_run_file(settings, version, entry, EXPLAIN_ARTIFACT, explain_bytes)
    explain = json.loads(explain_bytes)
    scorer_files = tree_scorer.DIRECTORY
    model = tree_scorer.from_bytes(
        contents[f"{scorer_files}/{tree_scorer.FOREST_FILE}"],
        contents[f"{scorer_files}/{tree_scorer.LINK_FILE}"],
    )
    return RegisteredModel.from_explanation(
        model,
        version=version,
        run_id=run_id,
        explanation=explain,
        metrics=dict(entry["metrics"]),
        artifact_sha256=digest,
    )
