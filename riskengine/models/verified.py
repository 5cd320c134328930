"""A registered version's files downloaded and checked, for loaders that read the files
themselves (Spark's workers load them with ``mlflow.pyfunc.load_model``).

Apart from :mod:`riskengine.models.tracking`, which is at its line limit, and built from its
store helpers and the checks of :mod:`riskengine.models.trust`.
"""

from __future__ import annotations

from pathlib import Path

from riskengine.config import Settings
from riskengine.models import trust
from riskengine.models.tracking import (
    PINNED_ALIASES,
    _download_version,
    _open_store,
    version_details,
)


def download_verified_version(
    settings: Settings, alias_or_version: str, directory: str
) -> tuple[str, Path]:
    """Download a version's model files into ``directory`` and check them as
    :func:`~riskengine.models.tracking.load_registered_model` does (recorded SHA-256, signed
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
        local = _download_version(client, settings, version, directory)
    trust.check_recorded_digest(settings, version, details.tags, local)
    entry = trust.verified_entry(settings, version, details.run_id)
    if alias_or_version in PINNED_ALIASES:
        trust.check_alias(settings, alias_or_version, version)
    trust.compare(
        settings, version, "model files", entry["model_files"], trust.artifact_digest(local)[1]
    )
    trust.check_skops_types(settings, version, local)
    return version, local
