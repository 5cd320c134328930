"""The model store: integrity of registered artifacts, the lock, the champion's history."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from riskengine.config import Settings, load_settings
from riskengine.errors import (
    ModelIntegrityError,
    ModelNotFoundError,
    ModelStoreError,
)
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
    """Even the holder of the signing key, pinning the edited files anew, cannot widen skops'
    allow-list."""
    stored = _stored_file(registered, "MLmodel")
    stored.write_text(
        stored.read_text().replace(
            "    - numpy.dtype\n", "    - numpy.dtype\n    - builtins.eval\n"
        )
    )
    tracking.repin_version(registered, "1")
    with pytest.raises(
        ModelIntegrityError, match=r"outside riskengine's allow-list: builtins\.eval"
    ):
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


# -- authenticity: hashes pinned in a signed manifest outside the database ---------------------


def _rewrite_hash_tags(settings: Settings, version: str) -> None:
    """Record the stored files' current hashes in the version's tags, as someone able to edit
    the database would."""
    from mlflow.tracking import MlflowClient

    digest, files = tracking.artifact_digest(_stored_file(settings, "MLmodel").parent)
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.set_model_version_tag(settings.model_name, version, tracking.MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        settings.model_name, version, tracking.MODEL_FILES_TAG, json.dumps(files)
    )


def _doctor_the_model(settings: Settings) -> None:
    """Replace the stored model with another valid one (always predicting the same class) and
    rewrite the hash tags in the database to match."""
    import skops.io

    stored = _stored_file(settings, "model.skops")
    model = skops.io.load(stored, trusted=tracking.SKOPS_TRUSTED_TYPES)
    for calibrator in model.calibrated_classifiers_[0].calibrators:
        calibrator.a_, calibrator.b_ = 0.0, -20.0
    skops.io.dump(model, stored)
    _rewrite_hash_tags(settings, "1")


def test_a_doctored_valid_model_with_rewritten_tags_is_refused(registered: Settings) -> None:
    _doctor_the_model(registered)
    with pytest.raises(
        ModelIntegrityError,
        match=r"model files differ from what .*manifest\.json pinned at registration: "
        r"model\.skops \(pinned [0-9a-f]{12}\.\.\., found [0-9a-f]{12}\.\.\.\)",
    ):
        tracking.load_registered_model(registered)


def test_an_edited_explain_json_is_refused(registered: Settings) -> None:
    """The driver texts, neutral values, calibration and band cut-offs come from it."""
    stored = _stored_file(registered, tracking.EXPLAIN_ARTIFACT)
    explain = json.loads(stored.read_text())
    explain["neutral_values"]["material_hhi"] = 1.0
    stored.write_text(json.dumps(explain))
    with pytest.raises(
        ModelIntegrityError, match=r"run artifacts differ .* explain\.json \(pinned"
    ):
        tracking.load_registered_model(registered)


def test_metrics_edited_in_the_database_alone_are_refused(registered: Settings) -> None:
    from mlflow.tracking import MlflowClient

    run_id = tracking.version_details(registered, "1").run_id
    MlflowClient(registered.tracking_uri).log_metric(run_id, "test_pr_auc", 0.99)
    with pytest.raises(
        ModelIntegrityError, match=r"run metrics differ .* test_pr_auc \(pinned 0\.5, found 0\.99\)"
    ):
        tracking.load_registered_model(registered)


def test_a_manifest_edited_without_the_key_is_refused(registered: Settings) -> None:
    _doctor_the_model(registered)
    path = tracking.manifest_path(registered)
    manifest = json.loads(path.read_text())
    _, files = tracking.artifact_digest(_stored_file(registered, "MLmodel").parent)
    manifest["versions"]["riskengine/1"]["model_files"] = files
    path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError, match=r"does not match its signature"):
        tracking.load_registered_model(registered)


def test_a_manifest_is_verified_only_with_the_key_that_signed_it(
    registered: Settings, tmp_path: Path
) -> None:
    missing = dataclasses.replace(registered, signing_key=tmp_path / "elsewhere" / "store.key")
    with pytest.raises(ModelIntegrityError, match=r"no signing key at .*elsewhere"):
        tracking.load_registered_model(missing)
    other = tmp_path / "other.key"
    other.write_text("ab" * 32)
    with pytest.raises(ModelIntegrityError, match=r"signed with another key"):
        tracking.load_registered_model(dataclasses.replace(registered, signing_key=other))


def test_a_removed_manifest_entry_is_refused_and_reported_as_missing(registered: Settings) -> None:
    tracking.manifest_path(registered).unlink()
    assert tracking.missing_pins(registered, "1") == (
        "version 1 has no hashes pinned in mlflow.db.manifest.json"
    )
    with pytest.raises(ModelIntegrityError, match=r"pins no hashes for model .* version 1"):
        tracking.load_registered_model(registered)


def test_the_champion_moved_in_the_database_alone_is_refused(
    registered: Settings, tiny_model_registrar: Callable[[Settings], str]
) -> None:
    from mlflow.tracking import MlflowClient

    assert tiny_model_registrar(registered) == "2"
    client = MlflowClient(registered.tracking_uri, registered.tracking_uri)
    client.set_registered_model_alias(registered.model_name, "champion", "2")
    with pytest.raises(ModelIntegrityError, match=r"at version 2, but .* pins version 1"):
        tracking.load_registered_model(registered)
    assert tracking.load_registered_model(registered, "2").version == "2"
    tracking.set_champion(registered, "2")
    assert tracking.load_registered_model(registered).version == "2"


def test_a_champion_without_a_signed_record_is_refused_and_reported_as_missing(
    registered: Settings,
) -> None:
    path = tracking.manifest_path(registered)
    manifest = json.loads(path.read_text())
    del manifest["aliases"]["riskengine@champion"]
    path.write_text(json.dumps(manifest))
    assert tracking.missing_pins(registered, "1", "champion") == (
        "the alias 'champion' is not pinned in mlflow.db.manifest.json"
    )
    with pytest.raises(ModelIntegrityError, match=r"pins no version for the alias 'champion'"):
        tracking.load_registered_model(registered)


def test_the_first_registration_creates_the_signing_key_readable_by_its_owner_only(
    store_settings: Settings, tiny_model_registrar: Callable[[Settings], str], tmp_path: Path
) -> None:
    settings = dataclasses.replace(store_settings, signing_key=tmp_path / "config" / "store.key")
    tiny_model_registrar(settings)
    assert stat.S_IMODE(settings.signing_key.stat().st_mode) == 0o600
    assert tracking.load_registered_model(settings, "1").version == "1"


def test_a_model_file_that_is_not_a_zip_archive_is_named(registered: Settings) -> None:
    """Pinned anew by the key holder, so only the format check stands in the way."""
    _stored_file(registered, "model.skops").write_bytes(b"not a zip archive\n")
    tracking.repin_version(registered, "1")
    with pytest.raises(ModelIntegrityError, match=r"model\.skops .* is not a skops model file"):
        tracking.load_registered_model(registered)


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
