"""What the CLI shows on stderr while it works."""

from __future__ import annotations

import io
from datetime import date
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from riskengine import render


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with render.run_progress() as (on_stage, on_progress):
        on_stage("scoring 10 rows")
        on_progress(5, 10)
    captured = capsys.readouterr()
    assert captured.err == captured.out == ""


def test_progress_shows_the_stage_and_rows_done_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = io.StringIO()
    terminal = partial(render.Console, file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(render, "Console", lambda **options: terminal(highlight=False))
    with render.run_progress() as (on_stage, on_progress):
        on_stage("scoring 2,000 rows as of 2026-03-01")
        on_progress(1000, 2000)
        # transient: the bar is drawn while running and cleared at the end
        drawn = screen.getvalue()
    assert "scoring 2,000 rows as of 2026-03-01" in drawn
    assert "1000/2000" in drawn


def test_stages_fill_the_bar_one_step_each(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    terminal = partial(render.Console, file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(render, "Console", lambda **options: terminal(highlight=False))
    with render.stage_status(stages=3) as on_stage:
        on_stage("reading")
        on_stage("building features")
        drawn = screen.getvalue()
    assert "building features" in drawn
    assert "1/3" in drawn


def test_features_file_announces_as_many_stages_as_its_bar_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.app.requests import ScoringRequest
    from riskengine.app.scoring import FEATURES_STAGES, features_file
    from riskengine.config import load_settings

    monkeypatch.setenv("RISKENGINE_HOME", str(tmp_path))
    source = tmp_path / "in.csv"
    source.write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8")
    stages: list[str] = []
    features_file(
        load_settings(),
        ScoringRequest.from_paths(str(source), str(tmp_path / "out.csv"), date(2026, 3, 1)),
        on_stage=stages.append,
    )
    assert len(stages) == FEATURES_STAGES


@pytest.mark.parametrize("header", ["NAME1", "Supplier Name", "supplier"])
def test_the_top_risks_table_shows_the_supplier_under_any_accepted_header(
    header: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from riskengine.render import print_top_risks

    scored = pl.DataFrame(
        {
            header: ["Baotou Example Co."],
            "material_id": ["dysprosium_oxide"],
            "supplier_country_iso3": ["CHN"],
            "buyer_country_iso3": ["JPN"],
            "risk_score": [0.6],
            "risk_band": ["high"],
            "drivers": ["Dysprosium oxide exports from China need an export licence"],
            "status": ["scored"],
        }
    )
    print_top_risks(scored)
    assert "Baotou Example Co." in capsys.readouterr().err
