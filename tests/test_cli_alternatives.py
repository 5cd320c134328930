"""``riskengine alternatives`` through typer's runner, on the demo's scores and BOM."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from riskengine.cli import EXIT_USAGE, app
from riskengine.config import HOME_ENV, TRACKING_URI_ENV, Settings
from riskengine.io import read_table

DEMO = Path(__file__).resolve().parents[1] / "riskengine" / "demo"
BUYER = "Kanto Magnetics K.K. (illustrative)"

pytestmark = pytest.mark.usefixtures("isolated_command")


@pytest.fixture
def demo_scores(trained_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """The demo sourcing list scored as of 2026-12-01 for a Japanese buyer."""
    monkeypatch.setenv(HOME_ENV, str(trained_settings.home))
    monkeypatch.setenv(TRACKING_URI_ENV, trained_settings.tracking_uri)
    result = CliRunner().invoke(
        app,
        ["score", str(DEMO / "sourcing.csv"), "-o", "scores.csv", "--as-of", "2026-12-01",
         "--buyer-country", "JP", "--buyer", BUYER],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return "scores.csv"


def test_alternatives_of_the_demo_are_ranked_with_their_products(
    demo_scores: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        app,
        ["alternatives", demo_scores, "--bom", str(DEMO / "bom.csv"), "--buyer", BUYER,
         "--exclude", "AU,Russian Federation", "-o", "alternatives.csv"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    table = read_table(str(tmp_path / "alternatives.csv"))
    found = table.filter(pl.col("candidate_country_iso3").fill_null("") != "")
    assert found.height > 0
    assert {"AUS", "RUS"}.isdisjoint(found["candidate_country_iso3"].to_list())
    assert set(found["pair_risk_band"].to_list()) <= {"high", "critical"}
    # Moves that reach a product of the BOM come first, each naming it.
    assert found["product"][0] in ("EV traction motor TM-200", "Servo motor SV-50")
    assert "high or critical" in result.stderr
    assert "Dy2O3 from CHN: no alternative" in result.stderr
    assert "by --exclude" in result.stderr


def test_a_sourcing_list_given_as_scores_exits_2_naming_the_columns(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["alternatives", str(DEMO / "sourcing.csv"), "-o", "alternatives.csv"]
    )

    assert result.exit_code == EXIT_USAGE, result.output
    assert "not an output of `riskengine score`" in result.stderr
    assert "risk_score" in result.stderr
    assert not (tmp_path / "alternatives.csv").exists()


def test_an_unknown_excluded_country_exits_2(demo_scores: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["alternatives", demo_scores, "--exclude", "Atlantis", "-o", "alternatives.csv"]
    )

    assert result.exit_code == EXIT_USAGE, result.output
    assert "--exclude: unknown country 'Atlantis'" in result.stderr
    assert not (tmp_path / "alternatives.csv").exists()
