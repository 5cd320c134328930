"""Where a model store keeps its files: beside its database, wherever the database now is."""

from __future__ import annotations

from pathlib import Path

from riskengine.config import load_settings
from riskengine.models.store import artifact_root, lock_path, manifest_path, store_directory


def test_a_sqlite_store_keeps_its_files_beside_its_database(tmp_path: Path) -> None:
    database = tmp_path / "copied" / "models" / "mlflow.db"
    settings = load_settings(home=tmp_path / "home", tracking_uri=f"sqlite:///{database}")
    assert store_directory(settings) == database.parent.resolve()
    assert artifact_root(settings) == database.parent.resolve() / "artifacts"
    assert lock_path(settings) == database.with_name("mlflow.db.lock")
    assert manifest_path(settings) == database.with_name("mlflow.db.manifest.json")


def test_another_store_keeps_its_files_in_models(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, tracking_uri="http://127.0.0.1:5000")
    assert artifact_root(settings) == (tmp_path / "models" / "artifacts").resolve()
    assert manifest_path(settings) == tmp_path.resolve() / "models" / "manifest.json"
