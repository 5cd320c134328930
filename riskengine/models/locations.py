"""Where a store's artifacts are, wherever the store now is.

:mod:`riskengine.models.tracking` hands in its MLflow client, so this module reaches MLflow only
through that client (and MLflow's experiments table, for the one change MLflow has no call for).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from riskengine.config import Settings
from riskengine.models.store import (
    ARTIFACTS_DIRECTORY,
    artifact_root,
    database_path,
    store_directory,
)

# MLflow records every artifact location as an absolute URI (a relative one is resolved against
# the working directory when the experiment is created), so a copied store would go on reading,
# and writing, the original's files. The experiment of a store riskengine creates carries this
# tag, whose value is its artifact directory relative to the store's directory: riskengine
# resolves every location of such a store there, wherever the store is now.
ARTIFACT_ROOT_TAG = "riskengine.artifact_root"


def artifact_root_of(settings: Settings, experiment: Any) -> Path | None:
    """The artifact directory of a relocatable experiment where the store now is, else ``None``."""
    relative = experiment.tags.get(ARTIFACT_ROOT_TAG)
    if relative is None or database_path(settings) is None:
        return None
    return store_directory(settings) / relative


def follow_the_store(client: Any, settings: Settings, experiment: Any) -> None:
    """Before a write: point the experiment of a copied store at the copy's own artifact
    directory, so new runs and models land there; mark an older store relocatable when its
    artifacts already are where a relocatable store keeps them."""
    database = database_path(settings)
    if database is None:
        return
    root = artifact_root_of(settings, experiment)
    if root is None:
        # A store made before riskengine kept artifacts relative to it: marked only when that
        # changes no location; elsewhere its absolute locations stay as they are.
        if experiment.artifact_location == artifact_root(settings).as_uri():
            client.set_experiment_tag(
                experiment.experiment_id, ARTIFACT_ROOT_TAG, ARTIFACTS_DIRECTORY
            )
        return
    if experiment.artifact_location != root.as_uri():
        # MLflow has no call that changes an experiment's artifact location. Runs and models
        # logged before the copy keep their recorded URIs, which reading resolves here.
        connection = sqlite3.connect(database)
        try:
            with connection:
                connection.execute(
                    "UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (root.as_uri(), int(experiment.experiment_id)),
                )
        finally:
            connection.close()


def in_this_store(
    client: Any, settings: Settings, experiment_id: str, recorded: str, relative: str
) -> str:
    """``recorded`` (an artifact URI as MLflow stored it) as it is in this store: under the
    store's own artifact directory when the store is relocatable and the URI ends with the
    ``relative`` path MLflow gives it there; as recorded otherwise."""
    root = artifact_root_of(settings, client.get_experiment(experiment_id))
    if root is None or not recorded.endswith("/" + relative):
        return recorded
    return (root / relative).as_uri()


def run_artifacts(client: Any, settings: Settings, run_id: str) -> str:
    """The URI of the directory of a run's artifacts."""
    info = client.get_run(run_id).info
    relative = f"{run_id}/artifacts"
    return in_this_store(client, settings, info.experiment_id, info.artifact_uri, relative)


def version_artifacts(client: Any, settings: Settings, version: str) -> str:
    """The URI of the directory of a registered version's model files."""
    model_version = client.get_model_version(settings.model_name, version)
    recorded = client.get_model_version_download_uri(settings.model_name, version)
    # MLflow 3 registers a logged model by its id (source models:/m-...); the SQLite registry
    # leaves the version's model_id empty.
    model_id = (model_version.source or "").removeprefix("models:/")
    if not model_id.startswith("m-") or "/" in model_id or not model_version.run_id:
        return recorded
    experiment_id = client.get_run(model_version.run_id).info.experiment_id
    relative = f"models/{model_id}/artifacts"
    return in_this_store(client, settings, experiment_id, recorded, relative)
