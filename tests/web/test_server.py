"""The buyers' page through Starlette's TestClient: upload, progress, table, downloads, errors,
the size cap and hostile file names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from riskengine.cli import EXIT_USAGE, app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings, load_settings
from riskengine.web import jobs as web_jobs
from riskengine.web.server import WebConfig, create_app

DEMO = Path(__file__).resolve().parents[2] / "riskengine" / "demo"
STATIC = Path(__file__).resolve().parents[2] / "riskengine" / "web" / "static"
AS_OF = "2026-03-01"
BUYER = "Kanto Magnetics K.K. (illustrative)"
FORM = {"as_of": AS_OF, "buyer_country": "JP", "buyer": BUYER}
SMALL_SOURCING = (
    b"material,supplier,supplier_country,share\n"
    b"Dy2O3,Baotou Example,CN,0.8\n"
    b"dysprosium oxide,Hanoi Example,Viet Nam,0.2\n"
)
#: How long a job may take before the wait gives up (a bound, not an assertion on speed).
JOB_DEADLINE_SECONDS = 300


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def store_env(
    trained_settings: Settings, monkeypatch: pytest.MonkeyPatch, isolated_command: None
) -> Settings:
    """The trained store, named through the variables the command line reads."""
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    return load_settings()


def page_client(settings: Settings, work_dir: Path, **options: Any) -> TestClient:
    return TestClient(create_app(WebConfig(settings, work_dir, **options)))


@pytest.fixture
def client(store_env: Settings, work_dir: Path) -> Iterator[TestClient]:
    with page_client(store_env, work_dir) as test_client:
        yield test_client


def finished(client: TestClient, status_url: str) -> httpx.Response:
    """The job's status once it is done or failed."""
    deadline = time.monotonic() + JOB_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        response = client.get(status_url)
        if response.json()["state"] in ("done", "failed"):
            return response
        time.sleep(0.1)
    raise AssertionError(f"{status_url} did not finish within {JOB_DEADLINE_SECONDS} s")


def cli(*arguments: str) -> Any:
    return CliRunner().invoke(app, list(arguments))


def outside(root: Path, work_dir: Path) -> list[Path]:
    """Every path under ``root`` but the work directory and what it holds."""
    return sorted(
        path for path in root.rglob("*") if path != work_dir and work_dir not in path.parents
    )


def job_directories(work_dir: Path) -> list[Path]:
    jobs = work_dir / "jobs"
    return sorted(jobs.iterdir()) if jobs.exists() else []


def test_the_page_and_its_files_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/")
    script = client.get("/static/page.js")

    assert page.status_code == 200 and script.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/page.js"' in page.text
    for path in STATIC.iterdir():
        assert "://" not in path.read_text(encoding="utf-8"), f"{path.name} names another host"


def test_an_upload_is_scored_and_written_as_the_command_line_writes_it(
    client: TestClient, work_dir: Path
) -> None:
    with (DEMO / "sourcing.csv").open("rb") as sourcing, (DEMO / "bom.csv").open("rb") as bom:
        started = client.post(
            "/jobs",
            data=FORM,
            files={"sourcing": ("sourcing.csv", sourcing), "bom": ("bom.csv", bom)},
        )
    assert started.status_code == 202, started.text
    status_url = started.json()["status"]
    job = finished(client, status_url).json()

    assert job["state"] == "done", job
    assert job["files"] == [
        "scores.csv",
        "scores.xlsx",
        "products.csv",
        "products.xlsx",
        "report.html",
    ]
    assert job["summary"]["rows"] == 26
    assert job["progress"] == {"done": 26, "total": 26}
    assert any(stage.startswith("reading sourcing.csv") for stage in job["stages"])
    assert all(str(work_dir) not in stage for stage in job["stages"])
    scored = cli("score", str(DEMO / "sourcing.csv"), "-o", "cli.csv", "--as-of", AS_OF,
                 "--buyer-country", "JP", "--buyer", BUYER)  # fmt: skip
    products = cli("score-bom", str(DEMO / "bom.csv"), "--sourcing", str(DEMO / "sourcing.csv"),
                   "-o", "cli_products.csv", "--as-of", AS_OF, "--buyer-country", "JP",
                   "--buyer", BUYER)  # fmt: skip
    assert scored.exit_code == 0 and products.exit_code == 0, scored.output + products.output
    csv = client.get(f"{status_url}/files/scores.csv")
    assert csv.content == Path("cli.csv").read_bytes()
    assert "attachment" in csv.headers["content-disposition"]
    products_csv = client.get(f"{status_url}/files/products.csv")
    assert products_csv.content == Path("cli_products.csv").read_bytes()
    assert client.get(f"{status_url}/files/scores.xlsx").content[:2] == b"PK"
    report = client.get(f"{status_url}/files/report.html")
    assert report.headers["content-type"].startswith("text/html") and "plotly" in report.text

    table = client.get(f"{status_url}/table").json()
    assert table["total"] == 26 and table["row_numbers"] == list(range(1, 27))
    assert table["columns"][:4] == ["supplier_id", "supplier", "supplier_country", "material"]
    assert "model_version" not in table["columns"] and "risk_score" in table["numeric"]
    risk = table["columns"].index("risk_score")
    assert all(row[risk] is None or 0 <= row[risk] <= 1 for row in table["rows"])
    # Everything the job wrote is in its own directory under the work directory.
    (directory,) = job_directories(work_dir)
    assert {path.name for path in directory.iterdir()} == {
        "sourcing.csv",
        "bom.csv",
        "scores.parquet",
        *job["files"],
    }


def test_a_file_the_command_line_refuses_gets_its_message_and_leaves_nothing(
    client: TestClient, work_dir: Path
) -> None:
    bad = b"material,supplier\nDy2O3,Baotou Example\n"
    Path("my list.csv").write_bytes(bad)
    refused = cli("score", "my list.csv", "-o", "out.csv", "--as-of", AS_OF)
    started = client.post("/jobs", data=FORM, files={"sourcing": ("my list.csv", bad)})
    answer = finished(client, started.json()["status"])

    assert refused.exit_code == EXIT_USAGE
    assert answer.status_code == 422
    assert answer.json()["error"] == refused.stderr.strip().removeprefix("error: ")
    assert "my list.csv" in answer.json()["error"]
    assert answer.json()["files"] == [] and job_directories(work_dir) == []


@pytest.mark.parametrize(
    ("form", "files", "status", "message"),
    [
        ({**FORM, "as_of": "01/03/2026"}, {"sourcing": ("s.csv", SMALL_SOURCING)}, 422,
         "--as-of '01/03/2026' is not a date in YYYY-MM-DD form (or 'today')"),
        (FORM, {"sourcing": ("list.pdf", b"%PDF-1.4")}, 422,
         "list.pdf: cannot tell the format from the extension 'pdf'"),
        (FORM, {"bom": ("bom.csv", b"parent,component,quantity\n")}, 400,
         "choose a sourcing list to upload"),
    ],
)  # fmt: skip
def test_a_form_that_cannot_start_a_job_is_refused_at_once(
    client: TestClient,
    work_dir: Path,
    form: dict[str, str],
    files: dict[str, tuple[str, bytes]],
    status: int,
    message: str,
) -> None:
    answer = client.post("/jobs", data=form, files=files)

    assert answer.status_code == status
    assert answer.json()["error"].startswith(message)
    assert job_directories(work_dir) == []


def test_an_upload_over_the_cap_is_refused_whether_or_not_it_declares_its_length(
    store_env: Settings, work_dir: Path
) -> None:
    big = b"material,supplier,supplier_country\n" + b"Dy2O3,Baotou Example,CN\n" * 100
    boundary = "riskengine-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="sourcing"; '
            f'filename="big.csv"\r\n\r\n'
        ).encode()
        + big
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    with page_client(store_env, work_dir, max_upload_bytes=1_000) as client:
        declared = client.post("/jobs", data=FORM, files={"sourcing": ("big.csv", big)})
        # A body sent in chunks has no length to check first: it is cut off as it comes.
        streamed = client.post(
            "/jobs", content=(body[start : start + 256] for start in range(0, len(body), 256)),
            headers=headers,
        )  # fmt: skip

    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json()["error"] == (
            "the upload is larger than the limit of 1,000 bytes (riskengine serve --max-upload-mb)"
        )
    assert "content-length" not in streamed.request.headers
    assert job_directories(work_dir) == []


@pytest.mark.parametrize(
    "client_name", ["../../../outside.csv", "..\\..\\outside.csv", "/tmp/outside.csv"]
)
def test_the_client_s_file_name_never_becomes_a_path(
    client: TestClient, work_dir: Path, tmp_path: Path, client_name: str
) -> None:
    before = outside(tmp_path, work_dir)
    started = client.post("/jobs", data=FORM, files={"sourcing": (client_name, SMALL_SOURCING)})
    job = finished(client, started.json()["status"]).json()

    assert job["state"] == "done", job
    (directory,) = job_directories(work_dir)
    assert directory.parent == work_dir.resolve() / "jobs"
    assert (directory / "sourcing.csv").read_bytes() == SMALL_SOURCING
    assert job["stages"][0] == "reading outside.csv"
    after = outside(tmp_path, work_dir)
    assert after == before
    assert not Path("/tmp/outside.csv").exists()


def test_an_internal_error_answers_500_without_a_traceback(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, work_dir: Path
) -> None:
    def broken(*arguments: object, **keywords: object) -> None:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(web_jobs, "run_buyer_job", broken)
    started = client.post("/jobs", data=FORM, files={"sourcing": ("s.csv", SMALL_SOURCING)})
    answer = finished(client, started.json()["status"])

    assert answer.status_code == 500
    assert answer.json()["error"] == "internal error: RuntimeError: the disk is on fire"
    assert "Traceback" not in answer.text
    assert job_directories(work_dir) == []


def test_only_a_job_s_named_outputs_are_served(client: TestClient) -> None:
    started = client.post("/jobs", data=FORM, files={"sourcing": ("s.csv", SMALL_SOURCING)})
    status_url = started.json()["status"]
    finished(client, status_url)

    assert client.get("/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    for name in ("sourcing.csv", "scores.parquet", "..%2F..%2Fetc%2Fpasswd", "products.csv"):
        assert client.get(f"{status_url}/files/{name}").status_code == 404, name
    assert client.get(f"{status_url}/files/scores.csv").status_code == 200


def test_serve_refuses_a_port_out_of_range() -> None:
    result = cli("serve", "--port", "70000")

    assert result.exit_code == EXIT_USAGE
    assert "--port" in result.output
