"""The model store: integrity of registered artifacts, the lock, the champion's history."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from riskengine.config import Settings, load_settings
from riskengine.errors import ModelIntegrityError, ModelNotFoundError, UserInputError
from riskengine.models import tracking

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


@pytest.fixture
def registered(
    store_settings: Settings, tiny_model_registrar: Callable[[Settings], str]
) -> Settings:
    settings = store_settings
    assert tiny_model_registrar(settings) == "1"
    tracking.set_champion(settings, "1")
    return settings


def _stored_file(settings: Settings, name: str) -> Path:
    (path,) = (settings.models_dir / "artifacts").rglob(name)
    return path


def test_a_registered_model_loads_with_its_recorded_hash(registered: Settings) -> None:
    model = tracking.load_registered_model(registered)
    tags = tracking.version_details(registered, "1").tags
    assert model.artifact_sha256 == tags[tracking.MODEL_SHA256_TAG]
    assert "model.skops" in json.loads(tags[tracking.MODEL_FILES_TAG])
    assert model.feature_names == FEATURES


def test_a_tampered_model_file_is_refused(registered: Settings) -> None:
    stored = _stored_file(registered, "model.skops")
    stored.write_bytes(stored.read_bytes() + b"\0")
    with pytest.raises(ModelIntegrityError, match=r"version 1 was modified.*model\.skops"):
        tracking.load_registered_model(registered)


def test_a_model_asking_for_untrusted_types_is_refused_even_with_matching_hashes(
    registered: Settings,
) -> None:
    """Someone able to rewrite the hash tags still cannot widen skops' allow-list."""
    stored = _stored_file(registered, "MLmodel")
    stored.write_text(
        stored.read_text().replace(
            "    - numpy.dtype\n", "    - numpy.dtype\n    - builtins.eval\n"
        )
    )
    digest, files = tracking.artifact_digest(stored.parent)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=registered.tracking_uri)
    client.set_model_version_tag(registered.model_name, "1", tracking.MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        registered.model_name, "1", tracking.MODEL_FILES_TAG, json.dumps(files)
    )
    with pytest.raises(
        ModelIntegrityError, match=r"outside riskengine's allow-list: builtins\.eval"
    ):
        tracking.load_registered_model(registered)


def test_a_model_file_that_is_not_a_zip_archive_is_a_user_error_naming_it(
    registered: Settings,
) -> None:
    """Even with its hash tags rewritten to match, a non-zip model file is named, not exit 1."""
    stored = _stored_file(registered, "model.skops")
    stored.write_bytes(b"not a zip archive\n")
    digest, files = tracking.artifact_digest(stored.parent)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=registered.tracking_uri)
    client.set_model_version_tag(registered.model_name, "1", tracking.MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        registered.model_name, "1", tracking.MODEL_FILES_TAG, json.dumps(files)
    )
    with pytest.raises(UserInputError, match=r"version 1: model\.skops is not a skops model"):
        tracking.load_registered_model(registered)


def test_a_model_without_a_recorded_hash_is_refused(registered: Settings) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(registered.tracking_uri, registered.tracking_uri)
    client.delete_model_version_tag(registered.model_name, "1", tracking.MODEL_SHA256_TAG)
    with pytest.raises(ModelIntegrityError, match="no recorded SHA-256"):
        tracking.load_registered_model(registered)


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
        with FileLock(tracking.lock_path(registered)):
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
    assert str(tracking.lock_path(registered)) in caplog.text


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
