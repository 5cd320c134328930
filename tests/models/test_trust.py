"""What makes a stored model trusted: the hashes of its files, the signed manifest that pins
them outside the database, the signing key, the skops allow-list."""

from __future__ import annotations

import dataclasses
import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from riskengine.config import Settings
from riskengine.errors import ModelIntegrityError
from riskengine.models import tracking, tree_scorer, trust
from riskengine.models.store import manifest_path

StoredFile = Callable[[Settings, str], Path]


def test_a_tampered_model_file_is_refused(registered: Settings, stored_file: StoredFile) -> None:
    stored = stored_file(registered, "model.skops")
    stored.write_bytes(stored.read_bytes() + b"\0")
    with pytest.raises(ModelIntegrityError, match=r"version 1 was modified.*model\.skops"):
        tracking.load_registered_model(registered)


def test_a_model_asking_for_untrusted_types_is_refused_even_with_matching_hashes(
    registered: Settings,
    stored_file: StoredFile,
) -> None:
    """Even the holder of the signing key, pinning the edited files anew, cannot widen skops'
    allow-list."""
    stored = stored_file(registered, "MLmodel")
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
    client.delete_model_version_tag(registered.model_name, "1", trust.MODEL_SHA256_TAG)
    with pytest.raises(ModelIntegrityError, match="no recorded SHA-256"):
        tracking.load_registered_model(registered)


# -- authenticity: hashes pinned in a signed manifest outside the database ---------------------


def _rewrite_hash_tags(settings: Settings, version: str, stored_file: StoredFile) -> None:
    """Record the stored files' current hashes in the version's tags, as someone able to edit
    the database would."""
    from mlflow.tracking import MlflowClient

    digest, files = trust.artifact_digest(stored_file(settings, "MLmodel").parent)
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.set_model_version_tag(settings.model_name, version, trust.MODEL_SHA256_TAG, digest)
    client.set_model_version_tag(
        settings.model_name, version, trust.MODEL_FILES_TAG, json.dumps(files)
    )


def _doctor_the_model(settings: Settings, stored_file: StoredFile) -> None:
    """Replace the stored model with another valid one (always predicting the same class) and
    rewrite the hash tags in the database to match."""
    import skops.io

    stored = stored_file(settings, "model.skops")
    model = skops.io.load(stored, trusted=trust.SKOPS_TRUSTED_TYPES)
    for calibrator in model.calibrated_classifiers_[0].calibrators:
        calibrator.a_, calibrator.b_ = 0.0, -20.0
    skops.io.dump(model, stored)
    _rewrite_hash_tags(settings, "1", stored_file)


def test_a_doctored_valid_model_with_rewritten_tags_is_refused(
    registered: Settings, stored_file: StoredFile
) -> None:
    _doctor_the_model(registered, stored_file)
    with pytest.raises(
        ModelIntegrityError,
        match=r"model files differ from what .*manifest\.json pinned at registration: "
        r"model\.skops \(pinned [0-9a-f]{12}\.\.\., found [0-9a-f]{12}\.\.\.\)",
    ):
        tracking.load_registered_model(registered)


def test_an_edited_explain_json_is_refused(registered: Settings, stored_file: StoredFile) -> None:
    """The driver texts, neutral values, calibration and band cut-offs come from it."""
    stored = stored_file(registered, tracking.EXPLAIN_ARTIFACT)
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


def test_a_manifest_edited_without_the_key_is_refused(
    registered: Settings, stored_file: StoredFile
) -> None:
    _doctor_the_model(registered, stored_file)
    path = manifest_path(registered)
    manifest = json.loads(path.read_text())
    _, files = trust.artifact_digest(stored_file(registered, "MLmodel").parent)
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
    manifest_path(registered).unlink()
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
    path = manifest_path(registered)
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


def test_a_model_file_that_is_not_a_zip_archive_is_named(
    registered: Settings, stored_file: StoredFile
) -> None:
    """Pinned anew by the key holder, so only the format check stands in the way. Without a
    tree scorer (a version written before it, or one Treelite could not convert), the skops
    file is what loads."""
    shutil.rmtree(stored_file(registered, tree_scorer.FOREST_FILE).parent)
    stored_file(registered, "model.skops").write_bytes(b"not a zip archive\n")
    tracking.repin_version(registered, "1")
    with pytest.raises(ModelIntegrityError, match=r"model\.skops .* is not a skops model file"):
        tracking.load_registered_model(registered)


def test_a_tree_scorer_that_treelite_cannot_read_is_refused_by_name(
    registered: Settings, stored_file: StoredFile
) -> None:
    stored_file(registered, tree_scorer.FOREST_FILE).write_bytes(b"not a checkpoint\n")
    tracking.repin_version(registered, "1")
    with pytest.raises(ModelIntegrityError, match="cannot be loaded here"):
        tracking.load_registered_model(registered)
