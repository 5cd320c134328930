"""The registered version as a full scorer: MLflow loads it by module name, and it answers raw
pairs as ``riskengine score`` answers a file, with the reference snapshot it carries."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from riskengine.cli import app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings
from riskengine.errors import ModelIntegrityError, UserInputError
from riskengine.reference.loader import load_reference

DEMO_SOURCING = Path(__file__).resolve().parents[2] / "riskengine" / "demo" / "sourcing.csv"
TEAM_LISTINGS = Path(__file__).resolve().parents[1] / "data" / "reference_import"
AS_OF = "2026-03-01"
PARAMS = {"as_of": AS_OF, "buyer_country": "JP"}


@pytest.fixture
def tracking_at() -> Iterator[Callable[[Settings], None]]:
    """``tracking_at(settings)``: MLflow's own calls (``models:/`` URIs) read that store for
    the test's duration."""
    import mlflow

    before = mlflow.get_tracking_uri()

    def point(settings: Settings) -> None:
        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)

    yield point
    mlflow.set_tracking_uri(before)
    mlflow.set_registry_uri(before)


def champion_uri(settings: Settings) -> str:
    return f"models:/{settings.model_name}@champion"


def cli_scores(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *options: str
) -> Path:
    """Score the demo sourcing list with ``riskengine score`` on ``settings``' store."""
    monkeypatch.setenv(HOME_ENV, str(settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, settings.tracking_uri)
    output = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["score", str(DEMO_SOURCING), "-o", str(output), "--as-of", AS_OF, *options]
    )
    assert result.exit_code == 0, result.output
    return output


def as_read_back(predictions: Any, cli_output: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The scorer's answer as a polars frame, and the CLI's CSV read with the answer's types."""
    answer = (
        pl.from_pandas(predictions) if not isinstance(predictions, pl.DataFrame) else predictions
    )
    return answer, pl.read_csv(cli_output, schema=answer.schema)


def demo_rows() -> pl.DataFrame:
    # The cells as `score` reads a CSV: text, leading zeros kept.
    return pl.read_csv(DEMO_SOURCING, infer_schema=False)


def test_the_champion_loaded_by_mlflow_answers_as_score_does(
    trained_settings: Settings,
    tracking_at: Callable[[Settings], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    import mlflow

    cli_output = cli_scores(trained_settings, monkeypatch, tmp_path, "--buyer-country", "JP")
    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))

    answer, expected = as_read_back(
        scorer.predict(demo_rows().to_pandas(), params=PARAMS), cli_output
    )

    assert_frame_equal(answer, expected)
    assert answer["status"].to_list().count("rejected") >= 1
    assert answer["supplier_id"][0] == "0000100001"


def test_a_polars_frame_in_gives_every_row_back_in_order_with_its_reason(
    trained_settings: Settings, tracking_at: Callable[[Settings], None]
) -> None:
    import mlflow

    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))
    rows = pl.DataFrame(
        {
            "Material": ["unobtainium", "Dy2O3", "gallium"],
            "Supplier": ["Nowhere Ltd", "Baotou Example", "Yunnan Example"],
            "Supplier Country": ["CN", "China", "Korea"],
        }
    )

    answer = pl.from_pandas(scorer.predict(rows, params={"as_of": AS_OF}))

    assert answer["Material"].to_list() == rows["Material"].to_list()
    assert answer["status"].to_list() == ["rejected", "scored", "rejected"]
    assert "unknown material 'unobtainium'" in answer["reason"][0]
    assert "Korea" in answer["reason"][2]
    assert answer["as_of"].unique().to_list() == [AS_OF]


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (None, "params as_of is required"),
        ({"as_of": "1 March 2026"}, "'1 March 2026' is not a date"),
        ({"as_of": AS_OF, "buyer_country": "Korea"}, "params buyer_country"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it(
    trained_settings: Settings,
    tracking_at: Callable[[Settings], None],
    params: dict[str, str] | None,
    words: str,
) -> None:
    import mlflow

    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))

    with pytest.raises(UserInputError, match=words):
        scorer.predict(demo_rows().head(2), params=params)


#: Supplier id 0001 with CN in the first part and VN in the second, rows 2 and 5 one pair, and
#: shares that read as percent only with the first part's 60 and 40.
SPLIT_ROWS = pl.DataFrame(
    {
        "material": ["Dy2O3", "NdPr oxide", "gallium", "Dy2O3", "NdPr oxide", "gallium"],
        "supplier": ["Baotou Co", "Kuantan Co", "Yunnan Co", "Baotou Co", "Kuantan Co", "Hanoi Co"],
        "supplier_country": ["CN", "MY", "CN", "VN", "MY", "VN"],
        "supplier_id": ["0001", "0002", "0003", "0001", "0002", "0004"],
        "share": ["60", "40", "", "", "", "1"],
    }
)


def test_parts_scored_with_the_first_pass_answer_as_the_whole_input(
    trained_settings: Settings, tracking_at: Callable[[Settings], None]
) -> None:
    import mlflow

    from riskengine.serving.pyfunc import FIRST_PASS, INPUT_LABEL, ROW_COLUMN
    from riskengine.sourcing import prepare_chunks

    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))
    whole = pl.from_pandas(scorer.predict(SPLIT_ROWS, params=PARAMS))
    first_pass, _ = prepare_chunks(
        [SPLIT_ROWS],
        source=INPUT_LABEL,
        buyer_country="JP",
        buyer_name=None,
        as_of=date(2026, 3, 1),
    )
    numbered = SPLIT_ROWS.with_row_index(ROW_COLUMN, offset=1)
    params = {**PARAMS, FIRST_PASS: first_pass.to_json()}

    parts = [
        pl.from_pandas(
            scorer.predict(numbered.filter(pl.col(ROW_COLUMN).is_in(rows)), params=params)
        )
        for rows in ([5, 1, 3], [6, 2, 4])
    ]

    answer = pl.concat(parts).sort(ROW_COLUMN)
    assert answer[ROW_COLUMN].to_list() == [1, 2, 3, 4, 5, 6]
    assert_frame_equal(answer.drop(ROW_COLUMN), whole)
    assert [reason.split(" (")[0] if reason else None for reason in whole["reason"]] == [
        "supplier_id 0001 appears with several countries",
        "duplicate pair: data rows 2, 5 repeat it",
        None,
        "supplier_id 0001 appears with several countries",
        "duplicate pair: data rows 2, 5 repeat it",
        None,
    ]


def test_a_first_pass_of_another_request_is_refused(
    trained_settings: Settings, tracking_at: Callable[[Settings], None]
) -> None:
    import mlflow

    from riskengine.serving.pyfunc import FIRST_PASS, INPUT_LABEL, ROW_COLUMN
    from riskengine.sourcing import prepare_chunks

    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))
    first_pass, _ = prepare_chunks(
        [SPLIT_ROWS],
        source=INPUT_LABEL,
        buyer_country="DE",
        buyer_name=None,
        as_of=date(2026, 3, 1),
    )
    numbered = SPLIT_ROWS.with_row_index(ROW_COLUMN, offset=1)

    with pytest.raises(UserInputError, match=r"buyer_country \(DE, not JP\)"):
        scorer.predict(numbered, params={**PARAMS, FIRST_PASS: first_pass.to_json()})
    with pytest.raises(UserInputError, match=f"a column {ROW_COLUMN}"):
        scorer.predict(
            SPLIT_ROWS, params={**PARAMS, FIRST_PASS: first_pass.to_json().replace("DE", "JP")}
        )
    with pytest.raises(UserInputError, match="not a readable first pass"):
        scorer.predict(numbered, params={**PARAMS, FIRST_PASS: "{}"})


def test_an_input_without_a_required_column_is_refused_naming_it(
    trained_settings: Settings, tracking_at: Callable[[Settings], None]
) -> None:
    import mlflow

    tracking_at(trained_settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(trained_settings))

    with pytest.raises(UserInputError, match="supplier_country"):
        scorer.predict(demo_rows().drop("supplier_country"), params=PARAMS)


def test_the_version_carries_its_requirements_pinned_and_its_snapshot_pinned_in_the_manifest(
    trained_settings: Settings, tracking_at: Callable[[Settings], None]
) -> None:
    import mlflow
    import sklearn

    from riskengine.models import trust

    tracking_at(trained_settings)
    local = Path(mlflow.artifacts.download_artifacts(champion_uri(trained_settings)))
    requirements = (local / "requirements.txt").read_text().split()
    entry = trust.read_manifest(trained_settings)["versions"][f"{trained_settings.model_name}/1"]

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    assert any(line.startswith("riskengine==") for line in requirements)
    for name in (
        "scorer/scorer.json",
        "scorer/reference/policy_events.csv",
        "scorer/catalog/materials.csv",
    ):
        assert entry["model_files"][name] == trust.artifact_digest(local)[1][name]
    description = json.loads((local / "scorer" / "scorer.json").read_text())
    assert description["reference_fingerprint"] == load_reference().fingerprint
    assert description["model_version"] == "1"


def test_an_edited_snapshot_is_refused_by_score_and_by_mlflow(
    store_settings: Settings,
    tiny_model_registrar: Callable[[Settings], str],
    tracking_at: Callable[[Settings], None],
    stored_file: Callable[[Settings, str], Path],
) -> None:
    import mlflow

    from riskengine.models.tracking import load_registered_model, set_champion

    # Registered in place, not copied: MLflow's own loader follows the recorded locations.
    registered = store_settings
    set_champion(registered, tiny_model_registrar(registered))

    events = stored_file(registered, "policy_events.csv")
    events.write_text(events.read_text().replace("export_ban", "export_quota", 1))
    tracking_at(registered)

    with pytest.raises(ModelIntegrityError, match=r"scorer/reference/policy_events\.csv"):
        load_registered_model(registered)
    with pytest.raises(ModelIntegrityError, match="fingerprint"):
        mlflow.pyfunc.load_model(champion_uri(registered))


def test_an_overlay_trained_with_travels_inside_the_model(
    store_settings: Settings,
    tiny_model_registrar: Callable[[Settings], str],
    tracking_at: Callable[[Settings], None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow

    from riskengine.models.tracking import set_champion

    overlay = tmp_path / "overlay"
    monkeypatch.chdir(tmp_path)
    imported = CliRunner().invoke(
        app,
        ["reference", "import", str(TEAM_LISTINGS / "listed_entities.csv"), "--into", str(overlay)],
    )
    assert imported.exit_code == 0, imported.output
    settings = dataclasses.replace(store_settings, reference_dir=overlay)
    set_champion(settings, tiny_model_registrar(settings))
    tracking_at(settings)
    scorer = mlflow.pyfunc.load_model(champion_uri(settings))
    # The overlay changes after training: the model keeps the rows it was trained with.
    fingerprint = load_reference(overlay).fingerprint
    (overlay / "listed_entities.csv").unlink()

    answer = pl.from_pandas(scorer.predict(demo_rows().head(2), params=PARAMS))

    assert answer["reference_fingerprint"].unique().to_list() == [fingerprint]
    assert fingerprint != load_reference().fingerprint


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow models serve exited {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"mlflow models serve did not answer within {seconds} s:\n{log.read_text()}")


def stop(server: subprocess.Popen) -> None:
    """End the server and the workers it started (its own process group)."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


@pytest.mark.slow
def test_mlflow_models_serve_answers_the_demo_as_score_does(
    trained_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import riskengine

    cli_output = cli_scores(trained_settings, monkeypatch, tmp_path, "--buyer-country", "JP")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    package_root = str(Path(riskengine.__file__).resolve().parents[1])
    environment_bin = Path(sys.executable).parent
    environment = {
        **os.environ,
        "MLFLOW_TRACKING_URI": trained_settings.tracking_uri,
        # The server imports the scorer by module name: this checkout's riskengine.
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
        # MLflow starts uvicorn by name, from the environment's own bin directory.
        "PATH": os.pathsep.join([str(environment_bin), os.environ.get("PATH", "")]),
    }
    command = [
        str(environment_bin / "mlflow"),
        *("models", "serve", "-m", champion_uri(trained_settings)),
        *("--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)),
    ]
    log = tmp_path / "serve.log"
    rows = demo_rows()
    body = json.dumps(
        {
            "dataframe_split": {"columns": rows.columns, "data": rows.rows()},
            "params": PARAMS,
        }
    ).encode()
    with log.open("wb") as log_file:
        server = subprocess.Popen(
            command,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(url, server, log)
            request = urllib.request.Request(
                f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                predictions = json.loads(response.read())["predictions"]
        finally:
            stop(server)

    answer = pl.DataFrame(predictions, infer_schema_length=None)
    # A column that is empty on every row (screened_buyer with no buyer) comes back as JSON
    # nulls, which carry no type: compare it as the CSV's text.
    answer = answer.with_columns(pl.col(pl.Null).cast(pl.String))
    assert_frame_equal(answer, pl.read_csv(cli_output, schema=answer.schema))
