"""Settings: explicit argument beats environment variable beats default; nothing at import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from riskengine.config import (
    DEFAULT_MODEL_NAME,
    HOME_ENV,
    MODEL_NAME_ENV,
    REFERENCE_DIR_ENV,
    TRACKING_URI_ENV,
    load_settings,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (HOME_ENV, REFERENCE_DIR_ENV, TRACKING_URI_ENV, MODEL_NAME_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()

    assert settings.home == tmp_path.resolve()
    assert settings.reference_dir is None
    assert settings.model_name == DEFAULT_MODEL_NAME
    assert settings.models_dir == tmp_path.resolve() / "models"
    assert settings.features_dir == tmp_path.resolve() / "features"


def test_default_tracking_uri_is_sqlite_under_home_models(tmp_path: Path) -> None:
    home = tmp_path / "project"

    settings = load_settings(home=home)

    assert settings.tracking_uri == f"sqlite:///{home.resolve() / 'models' / 'mlflow.db'}"
    assert settings.tracking_uri.startswith("sqlite:////")  # an absolute path


def test_default_tracking_uri_follows_home_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "from_env"
    monkeypatch.setenv(HOME_ENV, str(home))

    settings = load_settings()

    assert settings.home == home.resolve()
    assert settings.tracking_uri == f"sqlite:///{home.resolve() / 'models' / 'mlflow.db'}"


def test_environment_beats_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env_home"))
    monkeypatch.setenv(REFERENCE_DIR_ENV, str(tmp_path / "env_reference"))
    monkeypatch.setenv(TRACKING_URI_ENV, "sqlite:////env/mlflow.db")
    monkeypatch.setenv(MODEL_NAME_ENV, "env-model")

    settings = load_settings()

    assert settings.home == (tmp_path / "env_home").resolve()
    assert settings.reference_dir == tmp_path / "env_reference"
    assert settings.tracking_uri == "sqlite:////env/mlflow.db"
    assert settings.model_name == "env-model"


def test_explicit_arguments_beat_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env_home"))
    monkeypatch.setenv(REFERENCE_DIR_ENV, str(tmp_path / "env_reference"))
    monkeypatch.setenv(TRACKING_URI_ENV, "sqlite:////env/mlflow.db")

    settings = load_settings(
        reference_dir=tmp_path / "arg_reference",
        tracking_uri="sqlite:////arg/mlflow.db",
        home=tmp_path / "arg_home",
    )

    assert settings.home == (tmp_path / "arg_home").resolve()
    assert settings.reference_dir == tmp_path / "arg_reference"
    assert settings.tracking_uri == "sqlite:////arg/mlflow.db"


def test_explicit_home_moves_the_default_tracking_uri_even_with_env_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "env_home"))

    settings = load_settings(home=tmp_path / "arg_home")

    assert settings.tracking_uri == (
        f"sqlite:///{(tmp_path / 'arg_home').resolve() / 'models' / 'mlflow.db'}"
    )


def test_empty_environment_variables_count_as_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (HOME_ENV, REFERENCE_DIR_ENV, TRACKING_URI_ENV):
        monkeypatch.setenv(name, "")

    settings = load_settings()

    assert settings.home == tmp_path.resolve()
    assert settings.reference_dir is None
    assert settings.tracking_uri.endswith("/models/mlflow.db")


def test_loading_settings_creates_nothing(tmp_path: Path) -> None:
    load_settings(home=tmp_path / "home")

    assert list(tmp_path.iterdir()) == []


def test_importing_config_creates_no_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    environment = {"PATH": "", HOME_ENV: str(home), "HOME": str(home)}

    completed = subprocess.run(
        [sys.executable, "-c", "import riskengine.config"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["home"]
