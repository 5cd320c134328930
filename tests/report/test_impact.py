"""The report's impact sections from tiny literal outputs of ``stress``, ``alternatives`` and
``diff``: their rows, the short days the timeline marks, links to sources, wrong files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from riskengine.cli import EXIT_USAGE, app
from riskengine.errors import UserInputError
from riskengine.report import ModelCard, render_report

SCRIPT_NAME = "<script>alert(1)</script>"
DAY = 86_400_000

STRESS_CSV = f"""\
scenario,product,status,binding_material,binding_supplier,binding_supplier_country_iso3,\
first_short_date,last_short_date,short_periods,days_short,units_at_risk,value_at_risk,\
still_flowing,scenario_start,scenario_end
ban_90d,Servo motor,short,NdFeB magnet,Ningbo Example,CHN,2027-01-30,2027-02-28,\
2027-01-30/2027-02-28,30,300.0,900.0,NdFeB magnet: 0% flows,2026-12-01,2027-03-01
ban_90d,{SCRIPT_NAME} motor,short,Dysprosium oxide,Baotou Example,CHN,2026-12-05,2026-12-25,\
2026-12-05/2026-12-10; 2026-12-21/2026-12-25,11,,,Dysprosium oxide: 0% flows,2026-12-01,2027-03-01
ban_90d,Pump,covered,,,,,,,0,0.0,0.0,Dysprosium oxide: 0% flows,2026-12-01,2027-03-01
ban_90d,Fan,unaffected,,,,,,,0,,,,2026-12-01,2027-03-01
ga_ban,Sensor,short,Gallium metal,Yunnan Example,CHN,2025-01-02,2025-01-03,\
2025-01-02/2025-01-03,2,,,Gallium metal: 0% flows,2025-01-01,2025-01-04
"""

ALTERNATIVES_CSV = """\
material,supplier,supplier_country_iso3,pair_risk_score,pair_risk_band,pair_share,\
candidate_country_iso3,candidate_country,production_share,production_basis,governance,\
measures_in_force,candidate_risk_score,candidate_risk_band,improvement,product,note
NdFeB magnet,Ningbo Example,CHN,0.629,high,0.7,MYS,Malaysia,0.05,"refined, 2023",4.1,\
none on this flow,0.005,low,0.285,Servo motor,
NdFeB magnet,Ningbo Example,CHN,0.629,high,0.7,VNM,Viet Nam,0.02,"refined, 2023",5.25,\
E099 export licensing since 2025-01-01,0.53,high,0.01,Servo motor,
Dy2O3,Baotou Example,CHN,0.62,high,1.0,,,,,,,,,,,no other producing country named
"""

CHANGES_CSV = """\
change,material,supplier,material_id,supplier_country_iso3,buyer_country_iso3,old_as_of,\
new_as_of,old_risk_score,new_risk_score,delta,old_risk_band,new_risk_band,causes,cause_kinds,\
cause_ids,sources
changed,Dy2O3,Baotou Example,dysprosium_oxide,CHN,JPN,2025-03-01,2025-06-01,0.035,0.531,0.496,\
medium,high,E010 took effect 2025-04-04 (on this flow) | model version 1 -> 2,event | model,\
E010 | 2,"Alert 2025-04-04 https://example.org/e010. ; javascript:alert(1) | MLflow run abc"
"""

CARD = ModelCard("7", "run", {}, "sha256:feedface", "2026-11-15", "panel")


def _frame(text: str) -> pl.DataFrame:
    """A command's output as the report reads it back from its file: every cell text."""
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def _scores() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "material": ["Dy oxide"],
            "supplier": ["Baotou Example"],
            "supplier_country": ["China"],
            "material_id": ["dysprosium_oxide"],
            "supplier_country_iso3": ["CHN"],
            "buyer_country_iso3": ["JPN"],
            "risk_score": [0.62],
            "risk_band": ["high"],
            "drivers": ["China licenses Dy exports"],
            "status": ["scored"],
            "reason": [None],
            "model_version": ["7"],
            "as_of": ["2026-11-15"],
        },
        schema_overrides={"reason": pl.String},
    )


def render_impact() -> str:
    """The report with all three impact sections."""
    return render_report(
        _scores(),
        model_card=CARD,
        stress=_frame(STRESS_CSV),
        alternatives=_frame(ALTERNATIVES_CSV),
        changes=_frame(CHANGES_CSV),
        sources={"stress": "stress.csv", "alternatives": "alt.csv", "changes": "changes.csv"},
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_impact()


def _section(page: str, section_id: str) -> str:
    return page.split(f'<section id="{section_id}">', 1)[1].split("</section>", 1)[0]


def _figure(page: str, div_id: str) -> list[dict[str, Any]]:
    """The traces plotly draws in the chart ``div_id``, read from its newPlot call."""
    for part in page.split("Plotly.newPlot(")[1:]:
        head, rest = part.split(",", 1)
        if json.loads(head) == div_id:
            traces, _ = json.JSONDecoder().raw_decode(rest.lstrip())
            assert isinstance(traces, list)
            return traces
    raise AssertionError(f"no chart {div_id}")


def _marked_days(trace: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Per product label, the (first day, number of days) of each bar of a trace."""
    marked: dict[str, list[tuple[str, int]]] = {}
    for label, base, length in zip(trace["y"], trace["base"], trace["x"], strict=True):
        assert length % DAY == 0
        marked.setdefault(label, []).append((base, length // DAY))
    return marked


def test_the_timeline_marks_exactly_the_short_days(page: str) -> None:
    traces = _figure(page, "stress-timeline-1")
    window, short = traces
    assert (window["name"], short["name"]) == ("scenario days", "short days")
    motor = "&lt;script&gt;alert(1)&lt;/script&gt; motor"
    # Every product of the scenario has a row over its 90 days (1 Dec to 28 Feb), short ones
    # first, earliest to stop first; refused and unscored products would have none.
    assert window["y"] == [motor, "Servo motor", "Pump", "Fan"]
    assert set(window["base"]) == {"2026-12-01"} and set(window["x"]) == {90 * DAY}
    # The two runs of the motor (6 and 5 days: its 11 days short) and the servo's 30 days.
    assert _marked_days(short) == {
        motor: [("2026-12-05", 6), ("2026-12-21", 5)],
        "Servo motor": [("2027-01-30", 30)],
    }
    # The hover names the binding material and supplier.
    assert short["customdata"][0] == [
        "short 2026-12-05 to 2026-12-10 (6 days)",
        "Dysprosium oxide from Baotou Example (China)",
    ]
    assert "binding: %{customdata[1]}" in short["hovertemplate"]


def test_each_scenario_has_its_timeline_and_its_first_products_to_stop(page: str) -> None:
    section = _section(page, "stress")
    assert "Scenario ban_90d: from 2026-12-01, deliveries resume 2027-03-01" in section
    assert "4 products: covered 1, short 2, unaffected 1." in section
    assert _marked_days(_figure(page, "stress-timeline-2")[1]) == {"Sensor": [("2025-01-02", 2)]}
    first_to_stop = section.split("First products to stop", 1)[1].split("</table>", 1)[0]
    assert first_to_stop.index("&lt;script&gt;alert(1)") < first_to_stop.index("Servo motor")
    assert "Pump" not in first_to_stop
    assert '<td class="number">2027-01-30</td><td class="number">2027-02-28</td>' in first_to_stop
    assert "NdFeB magnet from Ningbo Example (China)" in first_to_stop
    assert '<td class="number">300</td><td class="number">900</td>' in first_to_stop
    assert '<table class="sortable">' in section


def test_the_alternatives_table_lists_each_candidate_and_the_pairs_without_one(page: str) -> None:
    section = _section(page, "alternatives")
    table = section.split('<table class="sortable">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 3  # the heading and two candidates
    assert table.index("Malaysia (MYS)") < table.index("Viet Nam (VNM)")
    assert (
        '<td class="number">62.9%</td><td><span class="band band-high">high</span></td>'
        '<td class="number">70.0%</td><td>Malaysia (MYS)</td>'
        '<td class="number" title="refined, 2023">5.0%</td><td class="number">4.1</td>'
        '<td>none on this flow</td><td class="number">0.5%</td>'
        '<td><span class="band band-low">low</span></td><td class="number">28.5%</td>'
        "<td>Servo motor</td>"
    ) in table
    assert "E099 export licensing since 2025-01-01" in table
    assert "2 candidates for 1 pairs, best first." in section
    assert "Flagged pairs with no candidate (1)" in section
    assert "Dy2O3 — Baotou Example (China): no other producing country named" in section


def test_the_changes_list_each_cause_with_its_sources_linked(page: str) -> None:
    section = _section(page, "changes")
    assert "1 pairs changed between the run as of 2025-03-01 and the run as of 2025-06-01" in (
        section
    )
    assert '<td class="number">3.5%</td><td class="number">53.1%</td>' in section
    assert '<td class="number">+49.6%</td>' in section
    assert '<span class="cause-kind">event</span>E010 took effect 2025-04-04' in section
    assert '<span class="cause-kind">model</span>model version 1 -&gt; 2' in section
    # The address is linked without the full stop after it; text that is no http(s) address
    # stays text.
    assert (
        'Source: Alert 2025-04-04 <a href="https://example.org/e010" rel="noopener noreferrer">'
        "https://example.org/e010</a>. ; javascript:alert(1)</span>"
    ) in section
    assert 'href="javascript' not in page
    assert "Source: MLflow run abc</span>" in section


def test_causes_past_the_third_are_folded_under_a_summary() -> None:
    causes = " | ".join(f"E{number:03d} took effect" for number in range(1, 6))
    changes = _frame(CHANGES_CSV).with_columns(
        pl.lit(causes).alias("causes"),
        pl.lit(" | ".join(["event"] * 5)).alias("cause_kinds"),
        pl.lit(" | ".join(f"source {number}" for number in range(1, 6))).alias("sources"),
    )
    section = _section(render_report(_scores(), model_card=CARD, changes=changes), "changes")
    shown, folded = section.split("<details><summary>2 more causes</summary>", 1)
    assert [f"E00{number} took effect" in shown for number in range(1, 6)] == [True] * 3 + [
        False
    ] * 2
    assert "E004 took effect" in folded and "E005 took effect" in folded
    assert "Source: source 5</span>" in folded


def test_without_the_files_each_section_says_which_option_fills_it() -> None:
    page = render_report(_scores(), model_card=CARD)
    assert "pass its output with <code>--stress</code>" in _section(page, "stress")
    assert "<code>--alternatives</code>" in _section(page, "alternatives")
    assert "<code>--changes</code>" in _section(page, "changes")
    assert "stress-timeline" not in page


@pytest.mark.parametrize(
    ("option", "text", "message"),
    [
        (
            "stress",
            STRESS_CSV.replace("2027-01-30/2027-02-28", "2027-01-30 to 2027-02-28"),
            "stress.csv row 1: column 'short_periods': '2027-01-30 to 2027-02-28' is not a "
            "period of dates",
        ),
        (
            "stress",
            STRESS_CSV.replace(",30,300.0,", ",thirty,300.0,"),
            "stress.csv row 1: column 'days_short': 'thirty' is not a number",
        ),
        (
            "alternatives",
            ALTERNATIVES_CSV.replace(",4.1,", ",weak,"),
            "alt.csv row 1: column 'governance': 'weak' is not a number",
        ),
        (
            "changes",
            CHANGES_CSV.replace(",0.496,", ",n/a,"),
            "changes.csv row 1: column 'delta': 'n/a' is not a number",
        ),
    ],
)
def test_a_bad_cell_names_the_file_and_row(option: str, text: str, message: str) -> None:
    files: dict[str, Any] = {option: _frame(text)}
    with pytest.raises(UserInputError) as error:
        render_report(
            _scores(),
            model_card=CARD,
            sources={"stress": "stress.csv", "alternatives": "alt.csv", "changes": "changes.csv"},
            **files,
        )
    assert str(error.value).startswith(message)


@pytest.mark.usefixtures("isolated_command")
@pytest.mark.parametrize(
    ("option", "wrong", "command", "missing"),
    [
        ("--stress", CHANGES_CSV, "stress", "scenario, product, status"),
        ("--alternatives", STRESS_CSV, "alternatives", "material, supplier, supplier_country_iso3"),
        ("--changes", ALTERNATIVES_CSV, "diff", "change, buyer_country_iso3, old_risk_score"),
    ],
)
def test_another_commands_output_exits_2_naming_the_file_and_columns(
    tmp_path: Path, option: str, wrong: str, command: str, missing: str
) -> None:
    _scores().write_csv(tmp_path / "scores.csv")
    (tmp_path / "wrong.csv").write_text(wrong, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["report", "scores.csv", option, "wrong.csv", "-o", "report.html"]
    )
    assert result.exit_code == EXIT_USAGE, result.output
    assert f"wrong.csv: not an output of riskengine {command}: missing columns {missing}" in (
        result.stderr
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "report.html").exists()


def test_pages_with_the_impact_sections_are_identical_across_processes(page: str) -> None:
    assert render_impact() == page
    expected = hashlib.sha256(page.encode()).hexdigest()
    program = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]); import test_impact; "
        "print(hashlib.sha256(test_impact.render_impact().encode()).hexdigest())"
    )
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", program, str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert result.stdout.strip() == expected


def test_scenario_dates_are_read_as_dates(page: str) -> None:
    # The window starts on the scenario's start and ends the day before deliveries resume.
    assert date(2026, 12, 1).isoformat() in _figure(page, "stress-timeline-1")[0]["base"]
    assert "scenario 2026-12-01 to 2027-02-28" in json.dumps(_figure(page, "stress-timeline-1"))
