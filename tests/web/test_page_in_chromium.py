"""The buyers' page end to end: ``riskengine serve`` in its own process, driven in headless
Chromium by the development tool (tools/page_check) as a buyer would use it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from riskengine.cli import EXIT_INTERRUPTED, app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings
from riskengine.io import read_table
from tools.page_check import download, open_page, score_through_page, screenshot

CHROMIUM = "/usr/bin/chromium"
DEMO = Path(__file__).resolve().parents[2] / "riskengine" / "demo"
AS_OF = "2026-03-01"
BUYER = "Kanto Magnetics K.K. (illustrative)"
#: A bound on the server's start, not an assertion on its speed.
START_DEADLINE_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"riskengine serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"riskengine serve did not answer within {START_DEADLINE_SECONDS} s")


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")
def test_a_buyer_scores_the_demo_list_through_the_page(
    trained_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    isolated_command: None,
) -> None:
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "riskengine", "serve", "--port", str(port),
         "--work-dir", str(tmp_path / "work")],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_until_serving(server, url)
        downloads = tmp_path / "downloads"
        with open_page(url, downloads, CHROMIUM) as page:
            shown = score_through_page(
                page, DEMO / "sourcing.csv", as_of=AS_OF, buyer_country="JP", buyer=BUYER
            )
            csv = download(page, "download-scores-csv", downloads, "riskengine_scores.csv")
            screenshot(page, tmp_path / "page.png")
            errors = page.collect_errors()
    finally:
        server.send_signal(signal.SIGINT)
        _, log = server.communicate(timeout=60)
    cli = CliRunner().invoke(
        app,
        ["score", str(DEMO / "sourcing.csv"), "-o", "cli.csv", "--as-of", AS_OF,
         "--buyer-country", "JP", "--buyer", BUYER],
    )  # fmt: skip

    assert cli.exit_code == 0, cli.output
    statuses = read_table("cli.csv")["status"].to_list()
    scored = statuses.count("scored")
    assert shown["rows"] == len(statuses) == 26
    assert shown["sort"] == "descending"
    # Riskiest first; the rejected rows, which have no score, after every scored one.
    risk = [float(text) for text in shown["risk_scores"][:scored]]
    assert risk == sorted(risk, reverse=True)
    assert shown["risk_scores"][scored:] == [""] * (26 - scored)
    assert shown["downloads"] == ["Scores (CSV)", "Scores (XLSX)", "HTML report"]
    assert f"26 rows: {scored} scored, {26 - scored} rejected" in shown["summary"]
    assert csv.read_bytes() == Path("cli.csv").read_bytes()
    assert errors == []
    assert (tmp_path / "page.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert server.returncode == EXIT_INTERRUPTED, log.decode(errors="replace")[-2000:]
