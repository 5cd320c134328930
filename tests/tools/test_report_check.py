"""The development tool that opens a written report in headless Chromium (tools/report_check)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from riskengine.report import CHART_IDS, SECTION_IDS, ModelCard, quarter_starts, render_report
from tools.report_check import (
    PROBE_ID,
    _drawn_charts,
    _probe_result,
    check_report_in_browser,
    main,
    problems,
    summary,
)

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
    # One row each of the outputs of stress, alternatives and diff, as read back from files.
    stress = pl.DataFrame(
        {
            "scenario": ["ban_90d"],
            "product": ["Traction motor"],
            "status": ["short"],
            "binding_material": ["Dysprosium oxide"],
            "binding_supplier": [SCRIPT_NAME],
            "binding_supplier_country_iso3": ["CHN"],
            "first_short_date": ["2027-01-30"],
            "last_short_date": ["2027-02-28"],
            "short_periods": ["2027-01-30/2027-02-28"],
            "days_short": ["30"],
            "units_at_risk": ["300"],
            "value_at_risk": [""],
            "still_flowing": ["Dysprosium oxide: 0% flows"],
            "scenario_start": ["2026-12-01"],
            "scenario_end": ["2027-03-01"],
        }
    )
    alternatives = pl.DataFrame(
        {
            "material": ["Dy oxide"],
            "supplier": [SCRIPT_NAME],
            "supplier_country_iso3": ["CHN"],
            "pair_risk_score": ["0.62"],
            "pair_risk_band": ["critical"],
            "candidate_country_iso3": ["MYS"],
            "candidate_country": ["Malaysia"],
            "production_share": ["0.05"],
            "governance": ["4.1"],
            "measures_in_force": ["none on this flow"],
            "candidate_risk_score": ["0.005"],
            "candidate_risk_band": ["low"],
            "improvement": ["0.28"],
            "note": [""],
        }
    )
    changes = pl.DataFrame(
        {
            "change": ["changed"],
            "material": ["Dy oxide"],
            "supplier": [SCRIPT_NAME],
            "supplier_country_iso3": ["CHN"],
            "buyer_country_iso3": ["JPN"],
            "old_risk_score": ["0.035"],
            "new_risk_score": ["0.62"],
            "delta": ["0.585"],
            "old_risk_band": ["medium"],
            "new_risk_band": ["critical"],
            "causes": ["E010 took effect 2025-04-04 (on this flow)"],
            "cause_kinds": ["event"],
            "sources": ["Alert https://example.org/e010"],
        }
    )
    return render_report(
        scores,
        history=history,
        bom_products=products,
        model_card=card,
        stress=stress,
        alternatives=alternatives,
        changes=changes,
    )


def _checked(**changes: object) -> dict[str, object]:
    """A passing check's result, with ``changes``."""
    checked: dict[str, object] = {
        "charts_expected": 2,
        "charts_drawn": 2,
        "charts": {"a": True, "b": True},
        "sections": {
            "stress": {"visible": True, "rows": 1, "charts": 1, "drawn": 1},
            "changes": {"visible": True, "rows": 0, "charts": 0, "drawn": 0},
        },
        "sortable_tables": 1,
        "sorted_tables": 1,
        "script_errors": [],
        "console_errors": [],
        "screenshot": "page.png",
    }
    return {**checked, **changes}


def test_drawn_charts_reads_the_plotly_divs_of_a_dom() -> None:
    dom = (
        '<div id="a" class="plotly-graph-div js-plotly-plot"><svg class="main-svg"></svg></div>'
        '<div class="plotly-graph-div" id="b"></div><div id="c"></div>'
    )
    assert _drawn_charts(dom) == {"a": True, "b": False}


def test_summary_names_the_charts_and_sections() -> None:
    checked = _checked(charts_drawn=1, charts={"a": True, "b": False}, script_errors=["x"])
    assert summary(checked) == (
        "headless Chromium, offline: 1 of 2 charts drew (a); 2 of 2 sections visible "
        "(stress, changes); 1 of 1 sortable tables sorted; 1 script errors; 0 console errors; "
        "screenshot -> page.png"
    )


def test_problems_name_what_did_not_render() -> None:
    assert problems(_checked(), required=["stress"]) == []
    hidden = {"stress": {"visible": False, "rows": 1, "charts": 1, "drawn": 1}}
    assert problems(
        _checked(
            charts={"a": True, "b": False},
            sections=hidden,
            sorted_tables=0,
            console_errors=["boom"],
        ),
        required=["stress", "alternatives"],
    ) == [
        "chart b did not draw",
        "section stress is not visible",
        "section alternatives is missing",
        "1 sortable tables did not sort",
        "console error: boom",
    ]
    assert problems(_checked(), required=["changes"]) == [
        "section changes shows no table row and no chart"
    ]


def test_the_probes_findings_are_read_from_the_dom() -> None:
    found = {"sections": {}, "sortable": 2, "sorted": 2, "errors": []}
    dom = f'<body><script type="application/json" id="{PROBE_ID}">{json.dumps(found)}</script>'
    assert _probe_result(dom) == found
    assert _probe_result("<body></body>")["errors"] == ["the probe did not run"]


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
    assert result["charts"] == dict.fromkeys([*CHART_IDS, "stress-timeline-1"], True)
    assert result["charts_drawn"] == result["charts_expected"] == 4
    # Every section is visible; the impact sections show their rows and the timeline.
    assert list(result["sections"]) == list(SECTION_IDS)
    assert all(section["visible"] for section in result["sections"].values())
    assert result["sections"]["stress"] == {"visible": True, "rows": 1, "charts": 1, "drawn": 1}
    assert result["sections"]["alternatives"]["rows"] == 1
    assert result["sections"]["changes"]["rows"] == 1
    assert result["sortable_tables"] == result["sorted_tables"] == 3
    assert result["script_errors"] == [] and result["console_errors"] == []
    assert problems(result, required=["stress", "alternatives", "changes"]) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
@needs_chromium
def test_a_hidden_section_and_a_console_error_fail_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = small_report().replace(
        '<section id="changes">', '<section id="changes" style="display: none">'
    )
    page = page.replace("</body>", '<script>console.error("lost a row")</script></body>')
    path = tmp_path / "hidden.html"
    path.write_text(page, encoding="utf-8")
    arguments = [str(path), "--screenshot", str(tmp_path / "hidden.png"), "--chromium", CHROMIUM]
    assert main([*arguments, "--require", "changes"]) == 1
    error = capsys.readouterr().err
    assert "section changes is not visible" in error
    assert "section changes shows no table row" not in error  # its rows are there, hidden
    assert "console error: lost a row" in error


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
    assert "0 of 4 charts drew" in error
    assert "did not draw completely" in error
