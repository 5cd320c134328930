"""The development tool that opens a written report in headless Chromium (tools/report_check)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from riskengine.report import CHART_IDS, ModelCard, quarter_starts, render_report
from tools.report_check import _drawn_charts, check_report_in_browser, main, summary

CHROMIUM = "/usr/bin/chromium"
# Starting Chromium takes seconds: the two browser cases run with the slow ones (make test-slow).
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed")

SCRIPT_NAME = "<script>alert(1)</script>"


def small_report() -> str:
    """A report with all three charts and a hostile supplier name."""
    scores = pl.DataFrame(
        {
            "material": ["Dy oxide", "gallium"],
            "supplier": [SCRIPT_NAME, "Example Ga AG"],
            "supplier_country": ["China", "Germany"],
            "material_id": ["dysprosium_oxide", "gallium_metal"],
            "supplier_country_iso3": ["CHN", "DEU"],
            "buyer_country_iso3": ["JPN", "JPN"],
            "risk_score": [0.62, 0.02],
            "risk_band": ["critical", "low"],
            "drivers": ["China licenses Dy exports", ""],
            "status": ["scored", "scored"],
            "reason": [None, None],
            "model_version": ["7", "7"],
            "as_of": ["2026-11-15", "2026-11-15"],
        },
        schema_overrides={"reason": pl.String},
    )
    quarters = quarter_starts(date(2026, 11, 15))
    history = pl.DataFrame(
        {
            "pair_label": [f"Dysprosium oxide — {SCRIPT_NAME} (China)"] * len(quarters),
            "quarter": quarters,
            "risk_score": [0.2 + 0.05 * step for step in range(len(quarters))],
        }
    )
    products = pl.DataFrame(
        {
            "product": ["Traction motor"],
            "risk_score": [0.71],
            "exposure": [1.8],
            "driving_material": ["dysprosium_oxide"],
            "driving_supplier": [SCRIPT_NAME],
            "status": ["scored"],
        }
    )
    card = ModelCard("7", "run", {}, "sha256:feedface", "2026-11-15", "panel")
    return render_report(scores, history=history, bom_products=products, model_card=card)


def test_drawn_charts_reads_the_plotly_divs_of_a_dom() -> None:
    dom = (
        '<div id="a" class="plotly-graph-div js-plotly-plot"><svg class="main-svg"></svg></div>'
        '<div class="plotly-graph-div" id="b"></div><div id="c"></div>'
    )
    assert _drawn_charts(dom) == {"a": True, "b": False}


def test_summary_names_the_charts_that_drew() -> None:
    checked = {
        "charts_expected": 2,
        "charts_drawn": 1,
        "charts": {"a": True, "b": False},
        "script_errors": ["x"],
        "screenshot": "page.png",
    }
    assert summary(checked) == (
        "headless Chromium, offline: 1 of 2 charts drew (a); 1 script errors; "
        "screenshot -> page.png"
    )


def test_a_missing_chromium_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text("<html></html>", encoding="utf-8")
    arguments = [str(page), "--screenshot", str(tmp_path / "x.png")]
    assert main([*arguments, "--chromium", str(tmp_path / "no-chromium")]) == 2


@pytest.mark.slow
@needs_chromium
def test_every_chart_draws_in_headless_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(small_report(), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    result = check_report_in_browser(page, screenshot, chromium=CHROMIUM)
    assert result["charts"] == dict.fromkeys(CHART_IDS, True)
    assert result["charts_drawn"] == result["charts_expected"] == 3
    assert result["script_errors"] == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@needs_chromium
def test_the_tool_exits_non_zero_when_the_charts_do_not_draw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without the embedded plotly.js the chart scripts fail and nothing draws.
    page = small_report()
    head, rest = page.split('<script charset="utf-8">', 1)
    broken = head + rest.split("</script>", 1)[1]
    path = tmp_path / "broken.html"
    path.write_text(broken, encoding="utf-8")
    screenshot = tmp_path / "broken.png"
    assert main([str(path), "--screenshot", str(screenshot), "--chromium", CHROMIUM]) == 1
    error = capsys.readouterr().err
    assert "0 of 3 charts drew" in error
    assert "did not draw completely" in error
