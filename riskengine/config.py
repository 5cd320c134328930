"""Settings built from environment variables and defaults, on demand.

Nothing happens at import: call :func:`load_settings` when a command needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE_DIR_ENV = "RISKENGINE_REFERENCE_DIR"
HOME_ENV = "RISKENGINE_HOME"
TRACKING_URI_ENV = "RISKENGINE_TRACKING_URI"
MODEL_NAME_ENV = "RISKENGINE_MODEL_NAME"
SIGNING_KEY_ENV = "RISKENGINE_SIGNING_KEY"

DEFAULT_MODEL_NAME = "riskengine"
CHAMPION_ALIAS = "champion"
CHALLENGER_ALIAS = "challenger"
# riskengine moves these aliases itself, and signs where each points; an alias set by other
# means (the MLflow UI) still resolves through the database to a version whose files are checked.
PINNED_ALIASES = (CHAMPION_ALIAS, CHALLENGER_ALIAS)


_started_as_command = False


def start_as_command() -> None:
    """Mark this process as a ``riskengine`` command (the entry point calls it before anything
    imports pandera): a command imports what it needs as lightly as it can
    (:mod:`riskengine.pandera_polars`), while a process using riskengine as a library is left
    as its own imports make it."""
    global _started_as_command
    _started_as_command = True


def started_as_command() -> bool:
    """Whether :func:`start_as_command` was called in this process."""
    return _started_as_command


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one command.

    Attributes
    ----------
    home : Path
        Project directory holding ``models/`` (MLflow store) and ``features/`` (snapshots).
    reference_dir : Path | None
        A user's reference directory (five tables) or overlay directory (``reference import``:
        its rows on top of the shipped data); ``None`` means the data shipped in the package.
    tracking_uri : str
        MLflow tracking URI; defaults to a SQLite database under ``models/``.
    model_name : str
        Registered model name.
    signing_key : Path
        The file holding the key that signs the store's manifest of artifact hashes; kept
        outside the store so that whoever can edit the store cannot re-sign it.
    """

    home: Path
    reference_dir: Path | None
    tracking_uri: str
    model_name: str
    signing_key: Path = field(default_factory=lambda: signing_key_path())

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def features_dir(self) -> Path:
        return self.home / "features"


def load_settings(
    reference_dir: Path | None = None,
    tracking_uri: str | None = None,
    home: Path | None = None,
) -> Settings:
    """Resolve settings: explicit argument > environment variable > default.

    Parameters
    ----------
    reference_dir, tracking_uri, home
        Values given on the command line, if any.
    """
    resolved_home = Path(home or os.environ.get(HOME_ENV) or Path.cwd()).resolve()
    env_reference = os.environ.get(REFERENCE_DIR_ENV)
    resolved_reference = reference_dir or (Path(env_reference) if env_reference else None)
    default_uri = f"sqlite:///{resolved_home / 'models' / 'mlflow.db'}"
    resolved_uri = tracking_uri or os.environ.get(TRACKING_URI_ENV) or default_uri
    return Settings(
        home=resolved_home,
        reference_dir=resolved_reference,
        tracking_uri=resolved_uri,
        model_name=os.environ.get(MODEL_NAME_ENV, DEFAULT_MODEL_NAME),
        signing_key=signing_key_path(),
    )


def signing_key_path() -> Path:
    """The signing key file: ``RISKENGINE_SIGNING_KEY``, else ``riskengine/store.key`` in the
    user's configuration directory (``$XDG_CONFIG_HOME`` or ``~/.config``)."""
    named = os.environ.get(SIGNING_KEY_ENV)
    if named:
        return Path(named).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config_home) / "riskengine" / "store.key"


CACHE_DIR_ENV = "RISKENGINE_CACHE_DIR"


def cache_directory() -> Path:
    """Where riskengine keeps what it can always work out again (the validated reference
    tables, the mark that the shipped catalog met its contracts; :mod:`riskengine.disk_cache`):
    ``RISKENGINE_CACHE_DIR``, else ``riskengine`` in the user's cache directory
    (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    named = os.environ.get(CACHE_DIR_ENV)
    if named:
        return Path(named).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "riskengine"


CHUNK_BYTES_ENV = "RISKENGINE_CHUNK_BYTES"


def chunk_bytes_setting() -> int:
    """Bytes of a large CSV read per chunk: ``RISKENGINE_CHUNK_BYTES`` or the default.

    Output does not depend on it; memory does (about 20 bytes of working memory per byte of
    input chunk when scoring).
    """
    from riskengine.errors import UserInputError
    from riskengine.io import DEFAULT_CHUNK_BYTES

    value = os.environ.get(CHUNK_BYTES_ENV)
    if not value:
        return DEFAULT_CHUNK_BYTES
    try:
        chunk_bytes = int(value)
    except ValueError:
        chunk_bytes = 0
    if chunk_bytes < 1:
        raise UserInputError(f"{CHUNK_BYTES_ENV} must be a positive number of bytes, not {value!r}")
    return chunk_bytes
