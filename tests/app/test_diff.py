"""``riskengine diff`` end to end: the demo scored before and after China's April 2025 licensing
of seven rare earths names that licensing (E010) as the cause."""

from __future__ import annotations

import re
from datetime import date
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine.app.requests import ScoringRequest
from riskengine.app.scoring import score_file
from riskengine.cli import app
from riskengine.config import Settings
from riskengine.impact.diff import DEFAULT_THRESHOLD

DEMO_BUYER = "Kanto Magnetics K.K. (illustrative)"


@pytest.fixture
def demo_scores(trained_settings: Settings, tmp_path: Path) -> tuple[Path, Path]:
    """The demo sourcing list scored as of 2025-03-01 and as of 2025-06-01."""
    sourcing = str(resources.files("riskengine.demo") / "sourcing.csv")
    paths = []
    for as_of in (date(2025, 3, 1), date(2025, 6, 1)):
        path = tmp_path / f"scores_{as_of}.csv"
        score_file(
            trained_settings,
            ScoringRequest.from_paths(
                sourcing, str(path), as_of, buyer_country="JP", buyer_name=DEMO_BUYER
            ),
        )
        paths.append(path)
    return paths[0], paths[1]


def invoke(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setenv("RISKENGINE_HOME", str(settings.home))
    monkeypatch.setenv("RISKENGINE_TRACKING_URI", settings.tracking_uri)
    monkeypatch.delenv("RISKENGINE_REFERENCE_DIR", raising=False)
    return CliRunner().invoke(app, list(args))


def test_the_demo_diff_names_the_april_2025_licensing(
    trained_settings: Settings,
    demo_scores: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = demo_scores
    output = tmp_path / "changes.csv"
    result = invoke(
        trained_settings,
        monkeypatch,
        "diff",
        str(old),
        str(new),
        "-o",
        str(output),
        "--buyer",
        DEMO_BUYER,
    )
    assert result.exit_code == 0, result.output
    changes = pl.read_csv(output, infer_schema=False)
    # The heavy rare earths from China: their licensing took effect on 2025-04-04.
    heavy = changes.filter(
        pl.col("material_id").is_in(["dysprosium_oxide", "dysprosium_metal", "terbium_oxide"])
        & (pl.col("supplier_country_iso3") == "CHN")
    )
    assert heavy.height == 3
    assert all(ids.split(" | ")[0] == "E010" for ids in heavy["cause_ids"])
    assert all("hklaw.com" in sources for sources in heavy["sources"])
    # Listed because the licensing raised each score (the band may already be high before it,
    # depending on what the model learnt from the other events).
    assert (
        heavy["new_risk_score"].cast(pl.Float64) > heavy["old_risk_score"].cast(pl.Float64)
    ).all()
    # Every row is compared, the one rejected in both runs ("Korea" is ambiguous) included.
    assert re.match(r"26 pairs compared, \d+ changed: \d+ band changes", result.stderr)
    assert "E010 took effect 2025-04-04" in result.stderr


def test_the_diff_of_a_run_with_itself_lists_nothing(
    trained_settings: Settings,
    demo_scores: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, _ = demo_scores
    output = tmp_path / "changes.csv"
    result = invoke(trained_settings, monkeypatch, "diff", str(old), str(old), "-o", str(output))
    assert result.exit_code == 0, result.output
    assert pl.read_csv(output).height == 0
    assert result.stderr.startswith("26 pairs compared, 0 changed")


def test_an_unusable_scores_file_exits_2_and_writes_nothing(
    trained_settings: Settings,
    demo_scores: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, _ = demo_scores
    sourcing = str(resources.files("riskengine.demo") / "sourcing.csv")
    output = tmp_path / "changes.csv"
    result = invoke(trained_settings, monkeypatch, "diff", str(old), sourcing, "-o", str(output))
    assert result.exit_code == 2
    assert "sourcing.csv: missing columns material_id" in result.stderr
    assert not output.exists()


def test_the_threshold_option_defaults_to_the_documented_value() -> None:
    result = CliRunner().invoke(app, ["diff", "--help"])
    assert result.exit_code == 0
    assert f"default: {DEFAULT_THRESHOLD}" in result.output.replace("\n", " ")
