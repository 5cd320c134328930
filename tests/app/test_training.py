"""Training on the public events: what is logged with the model, and ``train --if-missing``."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from riskengine.config import Settings
from riskengine.models import tracking, trust
from riskengine.models.tracking import load_registered_model

# The figures train_public reports of a training whose refit is a tiny model's registration.
TINY_METRICS = dict.fromkeys(
    [
        "event_auc_6m",
        "event_auc_6m_ci_low",
        "event_auc_6m_ci_high",
        "held_out_decisions",
        "heuristic_event_auc_6m",
    ],
    0.5,
)

# ``train --if-missing`` in a child process, with the half-minute panel and validation replaced
# by a wait for the test's go-ahead and the refit by a tiny model's registration.
TRAIN_IF_MISSING_SCRIPT = """
import time
from pathlib import Path
from types import SimpleNamespace

from riskengine.app import training
from riskengine.config import load_settings

{source}

def validated_procedure(*args, **kwargs):
    Path({started!r}).touch()
    while not Path({go!r}).exists():
        time.sleep(0.05)

def register_validated(settings, validated):
    metrics = {metrics!r}
    return "run", register_tiny_model(settings), SimpleNamespace(metrics=metrics)

training.validated_procedure = validated_procedure
training.register_validated = register_validated
settings = load_settings(home=Path({home!r}), tracking_uri={uri!r})
print(training.train_public(settings, if_missing=True).message)
"""


def test_training_logs_metrics_baseline_and_a_signature(any_trained_settings: Settings) -> None:
    import mlflow

    model = load_registered_model(any_trained_settings)
    for name in (
        "event_auc_6m",
        "event_auc_6m_ci_low",
        "event_auc_6m_ci_high",
        "heuristic_event_auc_6m",
        "events_flagged_6m",
        "alert_coverage",
        "ece",
        "max_event_influence",
    ):
        assert 0.0 <= model.metrics[name] <= 1.0, name
    assert model.calibration["replicates"] and set(model.band_cutoffs) == {
        "medium",
        "high",
        "critical",
    }
    info = mlflow.models.get_model_info(f"models:/{any_trained_settings.model_name}@champion")
    # The version is the full scorer: raw pairs in (any columns, so no input schema), the
    # scoring columns out, the question as parameters (and the first pass of a whole input
    # that a part is scored with).
    assert info.signature is not None and info.signature.inputs is None
    assert {"risk_score", "risk_band", "drivers"} <= set(info.signature.outputs.input_names())
    assert [spec.name for spec in info.signature.params.params] == [
        "as_of",
        "buyer_country",
        "buyer",
        "first_pass",
    ]


def test_train_if_missing_keeps_the_champion(trained_settings: Settings) -> None:
    from riskengine.app.training import train_public as train

    outcome = train(trained_settings, if_missing=True)
    assert outcome.skipped and outcome.champion == "1"


def test_train_if_missing_replaces_a_champion_registered_without_a_hash(
    store_settings: Settings,
    tiny_model_registrar: Callable[[Settings], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow.tracking import MlflowClient

    from riskengine.app import training

    settings = store_settings
    tiny_model_registrar(settings)
    tracking.set_champion(settings, "1")
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    client.delete_model_version_tag(settings.model_name, "1", trust.MODEL_SHA256_TAG)
    # What is tested is the decision to train and promote, not the training (the quick
    # training's fixture and tests run that): as in the script above, the validation is skipped
    # and the refit is a tiny model's registration.
    trained: list[str] = []

    def register_validated(settings: Settings, validated: None) -> tuple[str, str, Any]:
        trained.append(tiny_model_registrar(settings))
        return "run", trained[-1], SimpleNamespace(metrics=TINY_METRICS)

    monkeypatch.setattr(training, "validated_procedure", lambda *args, **kwargs: None)
    monkeypatch.setattr(training, "register_validated", register_validated)
    outcome = training.train_public(settings, if_missing=True)
    assert (outcome.skipped, outcome.version, outcome.champion) == (False, "2", "2")
    assert "version 1 has no recorded SHA-256" in outcome.message
    again = training.train_public(settings, if_missing=True)
    assert again.skipped and again.champion == "2"
    assert trained == ["2"]


# Two child processes importing mlflow take 25 s on the shared 2-core machine.
@pytest.mark.slow
def test_two_train_if_missing_at_once_train_one_champion(
    store_settings: Settings, tiny_model_source: str, tmp_path: Path
) -> None:
    """The second run waits for the first, finds its champion and skips."""
    started, go = tmp_path / "started", tmp_path / "go"
    script = TRAIN_IF_MISSING_SCRIPT.format(
        source=tiny_model_source,
        metrics=TINY_METRICS,
        started=str(started),
        go=str(go),
        home=str(store_settings.home),
        uri=store_settings.tracking_uri,
    )
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    def start(log: Path) -> subprocess.Popen[str]:
        with log.open("w") as stderr:
            return subprocess.Popen(
                [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=stderr, text=True
            )

    first = start(logs[0])
    # The first run is training (and, with the fix, holds the store's lock) before the second
    # starts; the second is then given until it says it waits, or two minutes.
    while not started.exists() and first.poll() is None:
        time.sleep(0.05)
    second = start(logs[1])
    deadline = time.monotonic() + 120
    while "waiting for it to finish" not in logs[1].read_text() and time.monotonic() < deadline:
        if second.poll() is not None:
            break
        time.sleep(0.05)
    go.touch()
    outputs = [process.communicate(timeout=600)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [log.read_text() for log in logs]
    assert "registered version 1 and made it champion" in outputs[0]
    assert "champion is version 1; not retraining" in outputs[1]
    assert [detail.version for detail in tracking.list_versions(store_settings)] == ["1"]
