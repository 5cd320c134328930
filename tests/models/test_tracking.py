"""The MLflow side of the model store: registering and loading, the lock, the champion's history,
reading a store that is read-only, missing or damaged."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from riskengine.config import Settings, load_settings
from riskengine.errors import (
    ModelNotFoundError,
    ModelStoreError,
)
from riskengine.models import locations, tracking, trust
from riskengine.models.store import lock_path

FEATURES = ("material_hhi", "export_control_severity")

REGISTER_SCRIPT = """
from pathlib import Path
from riskengine.config import load_settings
{source}
settings = load_settings(home=Path({home!r}), tracking_uri={uri!r})
print(register_tiny_model(settings))
"""


def _settings(home: Path) -> Settings:
    return load_settings(home=home, tracking_uri=f"sqlite:///{home}/models/mlflow.db")


def test_a_registered_model_loads_with_its_recorded_hash(registered: Settings) -> None:
    model = tracking.load_registered_model(registered)
    tags = tracking.version_details(registered, "1").tags
    assert model.artifact_sha256 == tags[trust.MODEL_SHA256_TAG]
    assert "model.skops" in json.loads(tags[trust.MODEL_FILES_TAG])
    assert model.feature_names == FEATURES


def test_rollback_returns_to_the_previous_champion(
    registered: Settings, tiny_model_registrar: Callable[[Settings], str]
) -> None:
    assert tiny_model_registrar(registered) == "2"
    tracking.set_challenger(registered, "2")
    tracking.set_champion(registered, "2")
    assert tracking.alias_version(registered, tracking.CHALLENGER_ALIAS) is None
    assert tracking.rollback_champion(registered) == ("2", "1")
    assert tracking.champion_version(registered) == "1"
    with pytest.raises(ModelNotFoundError, match="no previous champion"):
        tracking.rollback_champion(registered)


def test_a_second_process_waits_for_the_lock_and_says_so(
    registered: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    held = threading.Event()
    waiting = threading.Event()

    class WaitingSeen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting for it to finish" in record.getMessage():
                waiting.set()

    def hold_lock() -> None:
        # Another lock object on the same file stands for another process.
        with FileLock(lock_path(registered)):
            held.set()
            waiting.wait(timeout=120)

    handler = WaitingSeen()
    logging.getLogger("riskengine").addHandler(handler)
    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert held.wait(timeout=60)
        with caplog.at_level(logging.WARNING, logger="riskengine"):
            assert tracking.champion_version(registered) == "1"
    finally:
        waiting.set()
        holder.join()
        logging.getLogger("riskengine").removeHandler(handler)
    assert "another riskengine process is using the model store" in caplog.text
    assert str(lock_path(registered)) in caplog.text


@pytest.mark.slow
def test_two_processes_registering_into_one_store_both_complete(
    tmp_path: Path, tiny_model_source: str
) -> None:
    settings = _settings(tmp_path)
    script = REGISTER_SCRIPT.format(
        source=tiny_model_source, home=str(tmp_path), uri=settings.tracking_uri
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    versions = sorted(stdout.strip().splitlines()[-1] for stdout, _ in outputs)
    assert versions == ["1", "2"]
    for version in versions:
        assert tracking.load_registered_model(settings, version).version == version


# -- store operations -----------------------------------------------------------------------------


def _store_listing(directory: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(directory.rglob("*"))
    }


def _read_only_runner() -> list[str]:
    """A command prefix that runs a child for which file permissions hold. As root they do not,
    so the child drops the capabilities that override them (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH) with util-linux's setpriv."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a store read-only")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_scoring_runs_from_a_read_only_store_and_leaves_it_unchanged(
    registered: Settings, tmp_path: Path
) -> None:
    sourcing = tmp_path / "sourcing.csv"
    sourcing.write_text("material,supplier,supplier_country\nDy2O3,Baotou Example,CN\n")
    output = tmp_path / "out" / "scores.csv"
    output.parent.mkdir()
    before = _store_listing(registered.models_dir)
    subprocess.run(["chmod", "-R", "a-w", str(registered.models_dir)], check=True)
    try:
        completed = subprocess.run(
            [
                *_read_only_runner(),
                sys.executable,
                "-m",
                "riskengine",
                "score",
                str(sourcing),
                "-o",
                str(output),
                "--as-of",
                "2026-03-01",
                "--buyer-country",
                "JP",
            ],
            env={**os.environ, "RISKENGINE_TRACKING_URI": registered.tracking_uri},
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(registered.models_dir)], check=True)
    assert completed.returncode == 0, completed.stderr
    assert "model version 1" in completed.stderr
    assert output.exists()
    assert _store_listing(registered.models_dir) == before


def test_reading_a_store_that_does_not_exist_creates_nothing(tmp_path: Path) -> None:
    typo = tmp_path / "modles" / "mlflow.db"
    settings = load_settings(home=tmp_path / "home", tracking_uri=f"sqlite:///{typo}")
    assert tracking.champion_version(settings) is None
    assert tracking.list_versions(settings) == []
    with pytest.raises(ModelNotFoundError, match=r"no model store at sqlite:///.*modles"):
        tracking.load_registered_model(settings)
    assert sorted(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["random bytes", "truncated"])
def test_a_damaged_database_is_named(registered: Settings, damage: str) -> None:
    database = registered.models_dir / "mlflow.db"
    if damage == "random bytes":
        database.write_bytes(os.urandom(database.stat().st_size))
    else:
        with database.open("r+b") as handle:
            handle.truncate(database.stat().st_size // 2)
    with pytest.raises(
        ModelStoreError, match=re.escape(f"{database}: the model store's database is damaged")
    ):
        tracking.load_registered_model(registered)


# -- a store that moves -------------------------------------------------------------------------


def _tree_digest(directory: Path) -> str:
    """One SHA-256 over the names and bytes of every file under ``directory``."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(directory)}\0".encode() + path.read_bytes())
    return digest.hexdigest()


def _copy_of(settings: Settings, home: Path) -> Settings:
    shutil.copytree(settings.models_dir, home / "models")
    return _settings(home)


@pytest.mark.usefixtures("isolated_command")
def test_a_copied_store_loads_verifies_and_scores_without_the_original(
    registered: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from riskengine.cli import app

    pinned = tracking.load_registered_model(registered).artifact_sha256
    copy = _copy_of(registered, tmp_path / "elsewhere")
    shutil.rmtree(registered.models_dir)
    model = tracking.load_registered_model(copy)
    assert (model.version, model.artifact_sha256) == ("1", pinned)
    assert tracking.run_document(copy, model.run_id, tracking.EXPLAIN_ARTIFACT) is not None
    sourcing = tmp_path / "sourcing.csv"
    sourcing.write_text("material,supplier,supplier_country\nDy2O3,Baotou Example,CN\n")
    output = tmp_path / "scores.csv"
    monkeypatch.setenv("RISKENGINE_TRACKING_URI", copy.tracking_uri)
    arguments = ["score", str(sourcing), "-o", str(output), "--as-of", "2026-03-01"]
    result = CliRunner().invoke(app, [*arguments, "--buyer-country", "JP"])
    assert result.exit_code == 0, result.stderr
    assert "model version 1" in result.stderr
    assert output.exists()
    assert not registered.models_dir.exists()


def test_training_and_promoting_in_a_copy_leave_the_original_untouched(
    registered: Settings, tiny_model_registrar: Callable[[Settings], str], tmp_path: Path
) -> None:
    from riskengine.app.registry import promote

    assert tiny_model_registrar(registered) == "2"
    copy = _copy_of(registered, tmp_path / "elsewhere")
    before = _tree_digest(registered.models_dir)
    promote(copy, "2")
    assert tiny_model_registrar(copy) == "3"
    assert _tree_digest(registered.models_dir) == before
    assert tracking.champion_version(copy) == "2"
    assert tracking.champion_version(registered) == "1"
    assert tracking.load_registered_model(copy, "3").version == "3"
    # The new version's files are in the copy, under the copy's own artifact directory.
    run_id = tracking.version_details(copy, "3").run_id
    assert (copy.models_dir / "artifacts" / run_id / "artifacts" / "explain.json").is_file()


def test_an_older_store_keeps_working_and_becomes_movable_at_its_next_write(
    store_settings: Settings, tiny_model_registrar: Callable[[Settings], str], tmp_path: Path
) -> None:
    """A store made before the tag: its experiment has the absolute location alone."""
    import mlflow

    mlflow.set_tracking_uri(store_settings.tracking_uri)
    artifacts = (store_settings.models_dir / "artifacts").resolve().as_uri()
    experiment_id = mlflow.create_experiment(tracking.EXPERIMENT_NAME, artifact_location=artifacts)
    assert locations.ARTIFACT_ROOT_TAG not in mlflow.get_experiment(experiment_id).tags
    assert tiny_model_registrar(store_settings) == "1"
    tracking.set_champion(store_settings, "1")
    assert tracking.load_registered_model(store_settings).version == "1"
    tags = mlflow.get_experiment(experiment_id).tags
    assert tags[locations.ARTIFACT_ROOT_TAG] == "artifacts"
    copy = _copy_of(store_settings, tmp_path / "elsewhere")
    shutil.rmtree(store_settings.models_dir)
    assert tracking.load_registered_model(copy).version == "1"


def test_an_older_store_with_artifacts_elsewhere_keeps_its_locations(
    store_settings: Settings, tiny_model_registrar: Callable[[Settings], str], tmp_path: Path
) -> None:
    import mlflow

    mlflow.set_tracking_uri(store_settings.tracking_uri)
    elsewhere = (tmp_path / "shared-artifacts").resolve().as_uri()
    experiment_id = mlflow.create_experiment(tracking.EXPERIMENT_NAME, artifact_location=elsewhere)
    assert tiny_model_registrar(store_settings) == "1"
    experiment = mlflow.get_experiment(experiment_id)
    assert locations.ARTIFACT_ROOT_TAG not in experiment.tags
    assert experiment.artifact_location == elsewhere
    assert tracking.load_registered_model(store_settings, "1").version == "1"
    assert any((tmp_path / "shared-artifacts").rglob("model.skops"))
