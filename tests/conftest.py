"""Shared fixtures: the shipped reference data, spines of real flows, trained and tiny models in
their own MLflow stores, and the point-in-time strategies."""

from __future__ import annotations

import os

# Spinning OpenMP threads make scikit-learn many times slower on a busy machine (CI included);
# the policy only takes effect if set before scikit-learn is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# Under pytest-xdist every core runs a worker: polars' and OpenMP's thread pools, each sized to
# the whole machine in every worker, fought over the cores (a run of 211 feature-building tests
# on 2 cores took 32-42 s against 25 s). Each worker gets its share of the cores; a setting of
# the caller's wins. Read before polars and scikit-learn are imported (xdist names the worker
# count before it loads this file); child processes of the tests inherit it.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _variable in ("POLARS_MAX_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(_variable, str(_threads))

import bisect
import functools
import inspect
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from filelock import FileLock
from hypothesis import assume, settings
from hypothesis import strategies as st

from riskengine.reference.loader import ReferenceData, load_reference


@pytest.fixture(scope="session", autouse=True)
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The key that signs model stores' manifests: one of the session's own, never the user's
    (``~/.config/riskengine/store.key``), shared by the workers (which share trained stores);
    child processes inherit it through the environment."""
    from riskengine.config import SIGNING_KEY_ENV, load_settings
    from riskengine.models import trust

    def create(directory: Path) -> None:
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv(SIGNING_KEY_ENV, str(directory / "store.key"))
            trust.signing_key(load_settings(), create=True)

    path = built_once(tmp_path_factory, "signing", create) / "store.key"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(SIGNING_KEY_ENV, str(path))
        yield path


@pytest.fixture(scope="session", autouse=True)
def session_cache_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The disk cache of the session's own (never the user's ``~/.cache/riskengine``); child
    processes inherit it through the environment."""
    from riskengine.config import CACHE_DIR_ENV

    path = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(CACHE_DIR_ENV, str(path))
        yield path


@pytest.fixture
def unwritable_cache_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The disk cache named by ``RISKENGINE_CACHE_DIR`` is a plain file: nothing can be kept
    in it or read from it."""
    from riskengine.config import CACHE_DIR_ENV

    blocked = tmp_path / "a file"
    blocked.write_text("not a directory")
    monkeypatch.setenv(CACHE_DIR_ENV, str(blocked))
    return blocked


@pytest.fixture
def keep_chunks(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Make the passes over an input's chunks keep them in memory (``"kept"``, the default for
    small inputs), spill them to a temporary directory (``"spilled"``), or read the file
    again (``"read again"``)."""
    from riskengine.sourcing import preparation

    def keep(between_passes: str) -> None:
        if between_passes != "kept":
            monkeypatch.setattr(preparation, "KEPT_CHUNK_BYTES", 0)
        monkeypatch.setattr(preparation, "SPILL_CHUNKS", between_passes == "spilled")

    return keep


# --- hypothesis: few examples in `make test`, all of them in `make test-slow` ------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A property marked ``few_examples(n)`` runs twice: ``[few]`` on ``n`` examples in the
    default run, and ``[thorough]`` (``slow``) on the examples its ``@settings`` names."""
    marker = metafunc.definition.get_closest_marker("few_examples")
    if marker is None:
        return
    (examples,) = marker.args
    if not getattr(metafunc.function, "is_hypothesis_test", False):
        raise TypeError(f"{metafunc.function.__name__}: few_examples marks a @given test")
    metafunc.parametrize(
        "hypothesis_examples",
        [
            pytest.param(examples, id="few"),
            pytest.param(None, id="thorough", marks=pytest.mark.slow),
        ],
        indirect=True,
    )


@pytest.fixture(autouse=True)
def hypothesis_examples(request: pytest.FixtureRequest) -> Iterator[None]:
    """For a ``[few]`` run, the property's own settings with fewer examples (restored after)."""
    examples = getattr(request, "param", None)
    if examples is None:
        yield
        return
    test = request.function
    # Hypothesis reads a test's settings from this attribute each time the test is called;
    # @settings may not be applied a second time, so the attribute is swapped and restored.
    written = test._hypothesis_internal_use_settings
    assert examples < written.max_examples, f"{test.__name__}: {examples} examples are not fewer"
    test._hypothesis_internal_use_settings = settings(written, max_examples=examples)
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = written


@pytest.fixture
def isolated_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command runs in its own directory and home, on the shipped reference data, with no
    tracking URI or debug setting leaking in from the environment."""
    from riskengine.config import HOME_ENV, REFERENCE_DIR_ENV, TRACKING_URI_ENV

    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.delenv(REFERENCE_DIR_ENV, raising=False)
    monkeypatch.delenv(TRACKING_URI_ENV, raising=False)
    monkeypatch.delenv("RISKENGINE_DEBUG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def reference() -> ReferenceData:
    return load_reference()


def _make_spine(rows: list[tuple[str, str, str | None, str | None, str | None]]) -> pl.DataFrame:
    """A spine from (material_id, supplier_country, buyer_country, supplier_name, buyer_name)."""
    return pl.DataFrame(
        {
            "pair_id": list(range(len(rows))),
            "material_id": [row[0] for row in rows],
            "supplier_country": [row[1] for row in rows],
            "buyer_country": [row[2] for row in rows],
            "supplier_name": [row[3] for row in rows],
            "buyer_name": [row[4] for row in rows],
        },
        schema_overrides={"pair_id": pl.UInt32},
    )


@pytest.fixture(scope="session")
def make_spine() -> Callable[
    [list[tuple[str, str, str | None, str | None, str | None]]], pl.DataFrame
]:
    """The spine builder: rows of (material_id, supplier_country, buyer_country, supplier_name,
    buyer_name)."""
    return _make_spine


@pytest.fixture(scope="session")
def magnet_spine() -> pl.DataFrame:
    return _make_spine(
        [
            ("dysprosium_oxide", "CHN", "JPN", "Baotou Example Co.", None),
            (
                "dysprosium_oxide",
                "CHN",
                "JPN",
                "Baotou Example Co.",
                "Mitsubishi Heavy Industries Aero Engines, Ltd.",
            ),
            (
                "dysprosium_oxide",
                "CHN",
                "JPN",
                "Baotou Example Co.",
                "Mitsubishi Heavy Industries, Ltd.",
            ),
            ("rare_earth_concentrate", "VNM", "JPN", "Hanoi Example JSC", None),
            ("dysprosium_oxide", "VNM", "JPN", "Hanoi Example JSC", None),
            ("ndpr_oxide", "MYS", "JPN", "Kuantan Example Sdn Bhd", None),
            ("ndpr_oxide", "CHN", "USA", "Example NdPr Co.", "Lockheed Martin Corp"),
            ("gallium_metal", "CHN", "USA", None, None),
            ("nickel_ore", "IDN", "KOR", None, None),
            ("cobalt_metal", "COD", None, None, None),
        ]
    )


# Refits of the Platt map on event-bootstrap samples: the shipped 200 cost ~2/3 of a quick
# training's time. 20 still give every registered model real replicates and intervals.
QUICK_CALIBRATION_REPLICATES = 20


@dataclass(frozen=True)
class QuickTraining:
    """A small but real public-events training: Japan as the only buyer, the panel from 2018,
    one candidate configuration with few boosting rounds, a short bootstrap (200 samples for the
    validation's intervals, ``QUICK_CALIBRATION_REPLICATES`` refits of the calibration)."""

    today: date
    options: Any
    config: Any
    plan: Any

    def kwargs(self) -> dict[str, Any]:
        return {"today": self.today, "options": self.options, "plan": self.plan}


def _quick_training(monkeypatch: pytest.MonkeyPatch) -> QuickTraining:
    from riskengine.app.training import PanelOptions
    from riskengine.models import hazard, validation
    from riskengine.models.training import ModelConfig
    from riskengine.models.validation import Candidate, ValidationPlan

    monkeypatch.setattr(
        validation,
        "fit_calibration",
        functools.partial(hazard.fit_calibration, replicates=QUICK_CALIBRATION_REPLICATES),
    )
    config = ModelConfig(max_iter=20)
    return QuickTraining(
        today=date(2026, 3, 1),
        options=PanelOptions(buyer_countries=("JPN",), start=date(2018, 1, 1)),
        config=config,
        plan=ValidationPlan(
            first_year=2021, warmup_years=1, bootstrap=200, candidates=(Candidate(config),)
        ),
    )


@pytest.fixture
def quick_training(monkeypatch: pytest.MonkeyPatch) -> QuickTraining:
    """The quick training's arguments (``train_public(settings, **quick_training.kwargs())``);
    for the test's duration the calibration is refitted on fewer bootstrap samples."""
    return _quick_training(monkeypatch)


@pytest.fixture(scope="session")
def empty_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow database with its tables created and nothing else (no experiment of ours).

    Creating the tables runs MLflow's database migrations, seconds per new store; copying the
    file does not. A copy holds no path of the template: the experiment and its artifact
    location are created by the first use, in the copy's own home."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    def create(directory: Path) -> None:
        SqlAlchemyStore(f"sqlite:///{directory / 'mlflow.db'}", (directory / "unused").as_uri())

    # Made once for all the workers, as the migrations cost seconds in each.
    return built_once(tmp_path_factory, "store_template", create) / "mlflow.db"


def load_settings_for(home: Path) -> Any:
    """Settings for the store under ``home`` (as :func:`new_store` made it)."""
    from riskengine.config import load_settings

    return load_settings(home=home, tracking_uri=f"sqlite:///{home / 'models' / 'mlflow.db'}")


def new_store(home: Path, template: Path) -> Any:
    """Settings for an MLflow store of its own under ``home``, its tables already created."""
    from riskengine.config import load_settings

    database = home / "models" / "mlflow.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, database)
    return load_settings(home=home, tracking_uri=f"sqlite:///{database}")


@pytest.fixture
def store_settings(tmp_path: Path, empty_store_template: Path) -> Any:
    """Settings with a new, empty MLflow store of the test's own under ``tmp_path``."""
    return new_store(tmp_path, empty_store_template)


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A directory ``build`` fills once per test session, shared by pytest-xdist's workers (a
    session fixture otherwise runs once in every worker, and a training costs seconds)."""
    # Read from the environment, not xdist's fixture, so `-p no:xdist` works too.
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        directory = tmp_path_factory.mktemp(name)
        build(directory)
        return directory
    # The workers' temporary directories share this parent, which is new for every session.
    directory = tmp_path_factory.getbasetemp().parent / name
    with FileLock(f"{directory}.lock"):
        if not (directory / ".built").exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir()
            build(directory)
            (directory / ".built").touch()
    return directory


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory, empty_store_template: Path) -> Any:
    """A quick but real public-events training (see ``quick_training``) into its own MLflow
    store, made once per session and read-only for the tests that use it."""
    from riskengine.app.training import train_public

    def train(home: Path) -> None:
        settings = new_store(home, empty_store_template)
        with pytest.MonkeyPatch.context() as monkeypatch:
            outcome = train_public(settings, **_quick_training(monkeypatch).kwargs())
        assert outcome.version == "1" and outcome.champion == "1"

    home = built_once(tmp_path_factory, "trained", train)
    return load_settings_for(home)


# --- the trained store is made while the other workers test --------------------------------------

TRAINED_FIXTURES = ("trained_settings", "any_trained_settings")


def _uses_trained_store(item: pytest.Item) -> bool:
    return any(name in getattr(item, "fixturenames", ()) for name in TRAINED_FIXTURES)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on the trained store run last (in their order), so that while one worker
    trains the store (see ``train_first``) the others run the tests that need none; a worker
    that asked for the store at once would wait seconds for it."""
    items.sort(key=_uses_trained_store)


@pytest.fixture(scope="session", autouse=True)
def train_first(request: pytest.FixtureRequest, signing_key: Path) -> None:
    """The first xdist worker trains the store before its first test if any test needs it."""
    if os.environ.get("PYTEST_XDIST_WORKER") == "gw0" and any(
        _uses_trained_store(item) for item in request.session.items
    ):
        request.getfixturevalue("trained_settings")


@pytest.fixture(scope="session")
def fully_trained_settings(
    tmp_path_factory: pytest.TempPathFactory, empty_store_template: Path
) -> Any:
    """The shipped training procedure with all its defaults into its own MLflow store
    (read-only for the tests that use it; only ``slow`` tests ask for it)."""
    from riskengine.app.training import train_public

    settings = new_store(tmp_path_factory.mktemp("fully_trained"), empty_store_template)
    outcome = train_public(settings)
    assert outcome.version == "1" and outcome.champion == "1"
    return settings


@pytest.fixture(scope="session", params=["quick", pytest.param("shipped", marks=pytest.mark.slow)])
def any_trained_settings(request: pytest.FixtureRequest) -> Any:
    """Each trained store in turn: the quick training, then (``slow``) the shipped procedure."""
    name = "trained_settings" if request.param == "quick" else "fully_trained_settings"
    return request.getfixturevalue(name)


# --- a tiny registered model ---------------------------------------------------------------------

TINY_FEATURES = ("material_hhi", "export_control_severity")


def tiny_model() -> tuple[object, pd.DataFrame]:
    """A calibrated gradient-boosting model of the production kind, fitted in milliseconds."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.frozen import FrozenEstimator

    generator = np.random.default_rng(0)
    matrix = pd.DataFrame(
        {
            "material_hhi": generator.uniform(size=300),
            "export_control_severity": generator.integers(0, 4, 300).astype(float),
        }
    )
    labels = (generator.uniform(size=300) < matrix["material_hhi"] / 2).astype(int)
    booster = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(matrix, labels)
    model = CalibratedClassifierCV(FrozenEstimator(booster), method="sigmoid").fit(matrix, labels)
    return model, matrix


def register_tiny_model(settings: Any) -> str:
    from riskengine.models import tracking

    model, _ = tiny_model()
    _, version = tracking.log_training_run(
        settings,
        model=model,
        feature_names=TINY_FEATURES,
        params={"kind": "tiny"},
        metrics={"test_pr_auc": 0.5},
        neutral_values=dict.fromkeys(TINY_FEATURES, 0.0),
        figures={},
        tags={},
    )
    return version


@pytest.fixture(scope="session")
def tiny_model_registrar() -> Callable[[Any], str]:
    """``register(settings) -> version``: log and register a tiny calibrated model."""
    return register_tiny_model


@pytest.fixture(scope="session")
def tiny_model_source() -> str:
    """Python source defining ``register_tiny_model(settings)``, for another process."""
    return "\n".join(
        [
            "import numpy as np",
            "import pandas as pd",
            "from typing import Any",
            f"TINY_FEATURES = {TINY_FEATURES!r}",
            inspect.getsource(tiny_model),
            inspect.getsource(register_tiny_model),
        ]
    )


@pytest.fixture(scope="session")
def registered_template(
    tmp_path_factory: pytest.TempPathFactory, empty_store_template: Path
) -> Path:
    """The ``models/`` directory of a store with the tiny model registered as version 1 and
    champion, made once: registering costs seconds, copying the directory does not (a store
    can move: its artifact locations resolve under the directory it is opened in)."""
    from riskengine.models import tracking

    def register(home: Path) -> None:
        settings = new_store(home, empty_store_template)
        assert register_tiny_model(settings) == "1"
        tracking.set_champion(settings, "1")

    return built_once(tmp_path_factory, "registered", register) / "models"


@pytest.fixture
def registered(tmp_path: Path, registered_template: Path) -> Any:
    """A store of the test's own with the tiny model registered as version 1 and champion."""
    from riskengine.config import load_settings

    shutil.copytree(registered_template, tmp_path / "models")
    return load_settings(
        home=tmp_path, tracking_uri=f"sqlite:///{tmp_path / 'models' / 'mlflow.db'}"
    )


def _stored_file(settings: Any, name: str) -> Path:
    (path,) = (settings.models_dir / "artifacts").rglob(name)
    return path


@pytest.fixture(scope="session")
def stored_file() -> Callable[[Any, str], Path]:
    """``stored_file(settings, name)``: the one file called ``name`` in the store's artifacts."""
    return _stored_file


# --- scoring -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_sourcing() -> pl.DataFrame:
    """A sourcing list as a user writes it: six rows that score, an unknown material and an
    unknown country."""
    return pl.DataFrame(
        {
            "Material": [
                "Dy2O3",
                "rare earth concentrate",
                "NdPr oxide",
                "NdPr oxide",
                "dysprosium oxide",
                "dysprosium oxide",
                "unobtainium",
                "gallium",
            ],
            "Supplier": [
                "Baotou Example",
                "Hanoi Example",
                "Kuantan Example",
                "Inner Mongolia Example",
                "Baotou Example",
                "Baotou Example",
                "Nowhere Ltd",
                "Yunnan Example",
            ],
            "Supplier Country": ["CN", "Viet Nam", "MY", "China", "CN", "CN", "CN", "Atlantis"],
            "buyer": [
                None,
                None,
                None,
                None,
                "Mitsubishi Heavy Industries Aero Engines, Ltd.",
                "Mitsubishi Heavy Industries, Ltd.",
                None,
                None,
            ],
        }
    )


# --- point in time -------------------------------------------------------------------------------

CALM_START = date(2011, 1, 1)
CALM_END = date(2026, 12, 31)


def _fact_dates(reference: ReferenceData) -> list[date]:
    """Every date on which a dated fact appears, sorted: a policy event announced, known (the end
    of the month or year it is dated to), taking effect or ending, an entity listed, a
    production, governance or import edition published."""
    from riskengine.features.common import event_known_from

    columns = [
        reference.policy_events.select(event_known_from())[:, 0],
        reference.policy_events["announced"],
        reference.policy_events["effective"],
        reference.policy_events["ended"],
        reference.listed_entities["listed_on"],
        reference.production["published"],
        reference.governance["published"],
        reference.importer_breakdowns["published"],
    ]
    return sorted({day for column in columns for day in column.drop_nulls().to_list()})


@pytest.fixture(scope="session")
def fact_dates(reference: ReferenceData) -> list[date]:
    """Every date on which a dated fact of the shipped reference data appears, sorted."""
    return _fact_dates(reference)


@st.composite
def _calm_periods(draw: st.DrawFn, facts: list[date]) -> tuple[date, date]:
    """``d1 < d2`` with no fact date in ``(d1, d2]``: d2 lies in the gap after d1."""
    d1 = draw(st.dates(min_value=CALM_START, max_value=CALM_END - timedelta(days=1)))
    index = bisect.bisect_right(facts, d1)
    gap_end = min(facts[index] - timedelta(days=1), CALM_END) if index < len(facts) else CALM_END
    # d1 the day before a fact has no gap after it.
    assume(gap_end > d1)
    d2 = draw(st.dates(min_value=d1 + timedelta(days=1), max_value=gap_end))
    return d1, d2


@pytest.fixture(scope="session")
def calm_periods() -> Callable[[list[date]], st.SearchStrategy[tuple[date, date]]]:
    """``calm_periods(facts)``: the strategy of ``d1 < d2`` with no fact date in ``(d1, d2]``."""
    return _calm_periods
