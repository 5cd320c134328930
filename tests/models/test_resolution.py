"""Loading a version without MLflow while the registry is unchanged, and never on trust."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from riskengine.config import Settings, load_settings
from riskengine.models import resolution, tracking, tree_scorer
from riskengine.models.loading import load_model


def _settled(settings: Settings) -> Settings:
    """The store as it is once its database has been still for a while (its files dated back)."""
    database = settings.models_dir / "mlflow.db"
    past = time.time() - 10 * resolution.SETTLED_SECONDS
    os.utime(database, (past, past))
    return settings


def _record(settings: Settings) -> dict:
    path = resolution.record_path(settings)
    assert path is not None
    return json.loads(path.read_text())


def _rewrite_record(settings: Settings, change: Callable[[dict], None]) -> None:
    """Remember a load through MLflow, then apply ``change`` to the record written."""
    tracking.load_registered_model(_settled(settings))
    document = _record(settings)
    change(document)
    path = resolution.record_path(settings)
    assert path is not None
    path.write_text(json.dumps(document))


def test_a_load_through_the_registry_is_remembered_and_reloads_identically(
    registered: Settings,
) -> None:
    assert resolution.load_remembered(registered, "champion") is None
    through_mlflow = tracking.load_registered_model(_settled(registered))
    assert _record(registered)["resolved"]["champion"]["version"] == "1"

    remembered = resolution.load_remembered(registered, "champion")

    assert remembered is not None
    assert isinstance(remembered.model, tree_scorer.TreeScorer)
    for field in ("version", "run_id", "feature_names", "neutral_values", "metrics"):
        assert getattr(remembered, field) == getattr(through_mlflow, field)
    assert remembered.artifact_sha256 == through_mlflow.artifact_sha256
    rows = np.full((2, len(remembered.feature_names)), 0.5)
    rows[1, 0] = np.nan
    assert (remembered.model.predict_proba(rows) == through_mlflow.model.predict_proba(rows)).all()


def test_any_write_to_the_registry_sends_the_next_load_through_mlflow(
    registered: Settings,
) -> None:
    from mlflow.tracking import MlflowClient

    tracking.load_registered_model(_settled(registered))
    client = MlflowClient(registered.tracking_uri, registered.tracking_uri)
    client.set_registered_model_tag(registered.model_name, "note", "anything")
    assert resolution.load_remembered(registered, "champion") is None


def test_an_edited_file_or_record_is_never_loaded_from_the_record(registered: Settings) -> None:
    _rewrite_record(
        registered, lambda document: document["resolved"]["champion"].update(version="2")
    )
    assert resolution.load_remembered(registered, "champion") is None

    tracking.load_registered_model(_settled(registered))
    place = _record(registered)["resolved"]["champion"]["model_directory"]
    forest = Path(registered.models_dir, place, tree_scorer.DIRECTORY, tree_scorer.FOREST_FILE)
    forest.write_bytes(forest.read_bytes() + b"\0")
    assert resolution.load_remembered(registered, "champion") is None


def test_the_record_follows_a_copied_store(registered: Settings, tmp_path: Path) -> None:
    tracking.load_registered_model(_settled(registered))
    copy = tmp_path / "elsewhere"
    shutil.copytree(registered.models_dir, copy / "models")
    copied = load_settings(home=copy, tracking_uri=f"sqlite:///{copy / 'models' / 'mlflow.db'}")
    loaded = resolution.load_remembered(copied, "champion")
    assert loaded is not None and loaded.version == "1"


def test_a_remembered_load_imports_neither_mlflow_nor_scikit_learn(registered: Settings) -> None:
    tracking.load_registered_model(_settled(registered))
    program = textwrap.dedent(
        f"""
        import sys
        from riskengine.config import load_settings
        from riskengine.models.loading import load_model
        settings = load_settings(home={str(registered.home)!r},
                                 tracking_uri={registered.tracking_uri!r})
        model = load_model(settings)
        heavy = sorted(name for name in ("mlflow", "sklearn", "skops") if name in sys.modules)
        print(model.version, heavy)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "[]"]


def test_a_one_row_score_imports_none_of_the_heavy_libraries(
    registered: Settings, tmp_path: Path
) -> None:
    """The whole ``riskengine score`` of one row, on a remembered load: a user's cold start
    pays for none of MLflow, scikit-learn, skops, pandas or pyarrow."""
    tracking.load_registered_model(_settled(registered))
    sourcing = tmp_path / "one.csv"
    sourcing.write_text("supplier,supplier_country,material\nAcme,Vietnam,Dysprosium oxide\n")
    output = tmp_path / "scored.csv"
    program = textwrap.dedent(
        f"""
        import sys
        from riskengine.cli import main
        sys.argv = ["riskengine", "score", {str(sourcing)!r}, "-o", {str(output)!r},
                    "--as-of", "2026-10-01"]
        try:
            main()
        except SystemExit as exit_:
            code = exit_.code
        heavy = ("mlflow", "sklearn", "skops", "pandas", "pyarrow", "hypothesis", "xlsxwriter")
        print(code, sorted(name for name in heavy if name in sys.modules))
        """
    )
    environment = {
        **os.environ,
        "RISKENGINE_HOME": str(registered.home),
        "RISKENGINE_TRACKING_URI": registered.tracking_uri,
    }
    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["0", "[]"], result.stdout + result.stderr
    assert output.read_text().count("\n") == 2


def test_a_registry_written_a_moment_ago_is_not_remembered(registered: Settings) -> None:
    """Two writes in one tick of the file clock can leave the same size and time, so a load
    right after a write is not remembered."""
    database = registered.models_dir / "mlflow.db"
    # Dated a minute ahead, so the load still finds it freshly written on a slow machine.
    ahead = time.time() + 60
    os.utime(database, (ahead, ahead))
    tracking.load_registered_model(registered)
    assert resolution.load_remembered(registered, "champion") is None


def test_a_malformed_record_sends_the_load_through_mlflow(registered: Settings) -> None:
    _rewrite_record(registered, lambda document: document.update(resolved=[]))
    assert resolution.load_remembered(registered, "champion") is None
    assert load_model(registered).version == "1"
    assert _record(registered)["resolved"]["champion"]["version"] == "1"


def test_a_record_naming_another_signed_version_is_refused_and_a_promotion_is_followed(
    registered: Settings, tiny_model_registrar: Callable[[Settings], str]
) -> None:
    assert tiny_model_registrar(registered) == "2"
    tracking.load_registered_model(_settled(registered), "2")
    tracking.load_registered_model(registered)
    path = resolution.record_path(registered)
    assert path is not None
    document = _record(registered)
    document["resolved"]["champion"] = document["resolved"]["2"]
    path.write_text(json.dumps(document))
    # Version 2 is signed, but the signed champion is version 1.
    assert resolution.load_remembered(registered, "champion") is None

    tracking.set_champion(registered, "2")
    assert load_model(_settled(registered)).version == "2"
    remembered = resolution.load_remembered(registered, "champion")
    assert remembered is not None and remembered.version == "2"


def test_a_database_in_wal_mode_is_never_remembered(registered: Settings) -> None:
    """A commit can land in the write-ahead log without changing any file's size and time."""
    database = registered.models_dir / "mlflow.db"
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    tracking.load_registered_model(_settled(registered))
    connection.close()
    assert resolution.registry_identity(registered) is None or not (
        database.with_name("mlflow.db-wal").exists()
    )
    assert resolution.load_remembered(registered, "champion") is None


def test_a_checkpoint_treelite_cannot_read_sends_the_load_through_mlflow(
    registered: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking.load_registered_model(_settled(registered))

    def unreadable(_: bytes) -> None:
        raise RuntimeError("not a checkpoint this Treelite reads")

    import treelite

    monkeypatch.setattr(treelite.Model, "deserialize_bytes", unreadable)
    assert resolution.load_remembered(registered, "champion") is None
