"""The HTML report: offline, escaped, complete, deterministic, and drawn by a real browser."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import plotly.offline
import polars as pl
import pytest

from riskengine.config import Settings
from riskengine.errors import MissingColumnsError
from riskengine.report import (
    ModelCard,
    quarter_starts,
    render_report,
    top_pairs,
)

SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("x")'
HEADINGS = (
    "Risk by material and supplier country",
    "Top 20 pairs and their drivers",
    "Product exposure",
    "Top pairs over the last 8 quarters",
    "Model card",
    "Rejected rows and blocked sources",
)


def make_scores() -> pl.DataFrame:
    """Nine rows as score_pairs writes them: input columns first, one row rejected."""
    rows = [
        # material, supplier, supplier_country, material_id, iso3, score, band, drivers, reason
        (
            "Dy oxide",
            SCRIPT_NAME,
            "China",
            "dysprosium_oxide",
            "CHN",
            0.62,
            "critical",
            "China licenses Dy exports | China refines 99% of dysprosium",
            None,
        ),
        (
            "NdPr oxide",
            FORMULA_NAME,
            "China",
            "ndpr_oxide",
            "CHN",
            0.31,
            "high",
            "China refines 90% of NdPr <b>oxide</b>",
            None,
        ),
        (
            "NdPr oxide",
            "Kuantan Example Sdn Bhd",
            "Malaysia",
            "ndpr_oxide",
            "MYS",
            0.08,
            "medium",
            "Malaysia holds 6% of separation",
            None,
        ),
        ("gallium", "Example Ga AG", "Germany", "gallium_metal", "DEU", 0.02, "low", "", None),
        (
            "gallium",
            "Example Ga Co.",
            "China",
            "gallium_metal",
            "CHN",
            1.0,
            "critical",
            "an export ban from China is in force on this flow",
            None,
        ),
        (
            "cobalt",
            "Lubumbashi Example SARL",
            "DR Congo",
            "cobalt_metal",
            "COD",
            0.18,
            "high",
            "DR Congo mines 70% of cobalt",
            None,
        ),
        (
            "Dy oxide",
            "Hanoi Example JSC",
            "Vietnam",
            "dysprosium_oxide",
            "VNM",
            0.11,
            "medium",
            "Vietnam refines 1% of dysprosium",
            None,
        ),
        (
            "unobtainium",
            "Acme & Sons",
            "China",
            None,
            "CHN",
            None,
            None,
            None,
            "unknown material 'unobtainium'",
        ),
        (
            "nickel ore",
            "=cmd|' /C calc'!A0",
            "Atlantis",
            "nickel_ore",
            None,
            None,
            None,
            None,
            "unknown country 'Atlantis'",
        ),
    ]
    columns = list(zip(*rows, strict=True))
    rejected = [row[8] is not None for row in rows]
    return pl.DataFrame(
        {
            "material": columns[0],
            "supplier": columns[1],
            "supplier_country": columns[2],
            "material_id": columns[3],
            "supplier_country_iso3": columns[4],
            "buyer_country_iso3": ["JPN"] * len(rows),
            "risk_score": columns[5],
            "risk_band": columns[6],
            "model_score": columns[5],
            "drivers": columns[7],
            "status": ["rejected" if flag else "scored" for flag in rejected],
            "reason": columns[8],
            "model_version": ["7"] * len(rows),
            "as_of": ["2026-11-15"] * len(rows),
        },
        schema_overrides={"risk_score": pl.Float64, "model_score": pl.Float64},
    )


def make_history() -> pl.DataFrame:
    quarters = quarter_starts(date(2026, 11, 15))
    labels = [f"Dysprosium oxide — {SCRIPT_NAME} (China)", f"NdPr oxide — {FORMULA_NAME} (China)"]
    return pl.DataFrame(
        {
            "pair_label": [label for label in labels for _ in quarters],
            "quarter": quarters * len(labels),
            "risk_score": [0.2 + 0.05 * step for step in range(8)]
            + [0.3 - 0.01 * step for step in range(8)],
        }
    )


def make_products() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "product": ["Traction motor", "Radar module", SCRIPT_NAME, "Looped assembly"],
            "risk_score": [0.71, 0.12, 0.40, None],
            "exposure": [1.8, 0.05, 0.6, None],
            "driving_material": ["dysprosium_oxide", "gallium_metal", "ndpr_oxide", None],
            "driving_supplier": [SCRIPT_NAME, "Example Ga AG", FORMULA_NAME, None],
            "status": ["scored", "scored", "scored", "refused"],
            "reason": [None, None, None, "cycle: Looped assembly → Rotor → Looped assembly"],
        }
    )


MODEL_CARD = ModelCard(
    model_version="7",
    run_id="0123456789abcdef",
    metrics={
        "test_roc_auc": 0.81,
        "test_pr_auc": 0.42,
        "test_brier": 0.071,
        "baseline_roc_auc": 0.69,
        "baseline_pr_auc": 0.25,
        "baseline_brier": 0.083,
        "test_positives": 37.0,
    },
    reference_fingerprint="sha256:feedface",
    as_of="2026-11-15",
    trained_on="panel 2012-01-01 to 2024-10-01, quarterly",
)


def render_full() -> str:
    return render_report(
        make_scores(), history=make_history(), bom_products=make_products(), model_card=MODEL_CARD
    )


@pytest.fixture(scope="module")
def full_report() -> str:
    return render_full()


@pytest.fixture(scope="module")
def bare_report() -> str:
    return render_report(make_scores(), history=None, bom_products=None, model_card=MODEL_CARD)


def test_quarter_starts_end_at_the_quarter_containing_as_of() -> None:
    assert quarter_starts(date(2026, 11, 15)) == [
        date(2025, 1, 1),
        date(2025, 4, 1),
        date(2025, 7, 1),
        date(2025, 10, 1),
        date(2026, 1, 1),
        date(2026, 4, 1),
        date(2026, 7, 1),
        date(2026, 10, 1),
    ]
    assert quarter_starts(date(2026, 4, 1), quarters=2) == [date(2026, 1, 1), date(2026, 4, 1)]
    assert quarter_starts(date(2026, 3, 31), quarters=1) == [date(2026, 1, 1)]
    with pytest.raises(ValueError, match="at least 1"):
        quarter_starts(date(2026, 1, 1), quarters=0)


@pytest.mark.parametrize("fixture", ["full_report", "bare_report"])
def test_report_fetches_nothing(fixture: str, request: pytest.FixtureRequest) -> None:
    page = request.getfixturevalue(fixture)
    assert 'src="http' not in page
    assert re.search(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=", page) is None


def test_plotly_js_is_embedded_exactly_once(full_report: str) -> None:
    banner = plotly.offline.get_plotlyjs()[:300]
    assert full_report.count(banner) == 1
    assert full_report.count("Plotly.newPlot(") == 3


def test_every_section_heading_is_present(full_report: str, bare_report: str) -> None:
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in full_report
        assert f"<h2>{heading}</h2>" in bare_report


def test_header_counts_reconcile(full_report: str) -> None:
    header = full_report.split("</header>", 1)[0]
    for label, value in [("Rows", 9), ("Scored", 7), ("Rejected", 2), ("Critical band", 2)]:
        assert f"<li>{label}<b>{value}</b></li>" in header
    assert "<b>2026-11-15</b>" in header


@pytest.mark.parametrize("fixture", ["full_report", "bare_report"])
def test_hostile_names_are_escaped_everywhere(fixture: str, request: pytest.FixtureRequest) -> None:
    page = request.getfixturevalue(fixture)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert FORMULA_NAME not in page
    assert "=HYPERLINK(&quot;x&quot;)" in page
    assert "<b>oxide</b>" not in page


def test_chart_labels_are_escaped_before_plotly_reads_them(full_report: str) -> None:
    # plotly.js renders a subset of HTML in labels, so raw names must not reach its JSON either.
    assert "\\u003cscript\\u003ealert(1)" not in full_report
    assert "&lt;script&gt;alert(1)&lt;\\u002fscript&gt;" in full_report
    # plotly.js decodes numeric entities but not &quot;, so quotes in labels are numeric.
    assert "=HYPERLINK(&#34;x&#34;)" in full_report


def test_top_pairs_are_riskiest_first_with_drivers(full_report: str) -> None:
    table = full_report.split('id="top-pairs"', 1)[1].split("</section>", 1)[0]
    order = [table.index(name) for name in ("Example Ga Co.", "&lt;script&gt;", "Example Ga AG")]
    assert order == sorted(order)
    assert "<li>China licenses Dy exports</li><li>China refines 99% of dysprosium</li>" in table
    assert "100.0%" in table
    assert "Acme &amp; Sons" not in table


def test_top_pairs_labels_and_rows() -> None:
    top = top_pairs(make_scores(), limit=3)
    assert top["input_row"].to_list() == [5, 1, 2]
    assert top["pair_label"][0] == "Gallium metal — Example Ga Co. (China)"
    assert top.columns[:2] == ["input_row", "pair_label"]


def test_a_blocked_source_is_counted_apart_and_listed_with_its_status() -> None:
    reason = "blocked source of supply (NOTKZ X): kept for the record, not counted as supply"
    scores = make_scores().with_columns(
        pl.when(pl.col("reason").str.starts_with("unknown country"))
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
        for column, value in (("status", "blocked"), ("reason", reason))
    )
    page = render_report(scores, history=None, bom_products=None, model_card=MODEL_CARD)
    header = page.split("</header>", 1)[0]
    for label, value in [("Rejected", 1), ("Blocked sources", 1)]:
        assert f"<li>{label}<b>{value}</b></li>" in header
    assert "Other status" not in header
    section = page.split('id="rejected"', 1)[1].split("</section>", 1)[0]
    assert "<td>blocked</td>" in section
    assert "blocked source of supply (NOTKZ X)" in section


def test_every_rejected_row_is_listed_with_its_reason(full_report: str) -> None:
    section = full_report.split('id="rejected"', 1)[1].split("</section>", 1)[0]
    assert "unknown material &#x27;unobtainium&#x27;" in section
    assert "unknown country &#x27;Atlantis&#x27;" in section
    assert "Acme &amp; Sons" in section
    assert "=cmd|&#x27; /C calc&#x27;!A0" in section
    assert '<td class="number">8</td>' in section
    assert '<td class="number">9</td>' in section


def test_model_card_shows_metrics_against_baseline(full_report: str) -> None:
    card = full_report.split('id="model-card"', 1)[1].split("</section>", 1)[0]
    for text in ("0123456789abcdef", "sha256:feedface", "panel 2012-01-01 to 2024-10-01"):
        assert text in card
    assert '<td class="number">0.8100</td><td class="number">0.6900</td>' in card
    assert "+0.1200 (better)" in card
    assert "-0.0120 (better)" in card
    assert "test_positives" in card


def test_model_card_without_metrics_says_so() -> None:
    card = ModelCard("1", "run", {}, "fp", "2026-01-01", "panel")
    page = render_report(make_scores(), history=None, bom_products=None, model_card=card)
    assert "No held-out metrics were recorded" in page


def test_products_not_charted_are_listed(full_report: str) -> None:
    section = full_report.split('id="exposure"', 1)[1].split("</section>", 1)[0]
    assert "Looped assembly" in section
    assert "cycle: Looped assembly → Rotor → Looped assembly" in section
    assert 'id="product-exposure"' in section


def test_missing_history_and_products_give_notes(bare_report: str) -> None:
    assert "No BOM scores were given" in bare_report
    assert "No score history was given" in bare_report
    assert bare_report.count("Plotly.newPlot(") == 1
    assert 'id="risk-heatmap"' in bare_report


def test_no_scored_rows_still_renders() -> None:
    scores = make_scores().filter(pl.col("status") == "rejected")
    page = render_report(scores, history=None, bom_products=None, model_card=MODEL_CARD)
    assert "No scored pairs to chart." in page
    assert "Plotly.newPlot(" not in page
    assert "unknown country &#x27;Atlantis&#x27;" in page


def test_missing_score_columns_are_named() -> None:
    with pytest.raises(MissingColumnsError, match="drivers"):
        render_report(
            make_scores().drop("drivers"), history=None, bom_products=None, model_card=MODEL_CARD
        )


def test_same_inputs_give_byte_identical_pages(full_report: str) -> None:
    assert render_full() == full_report


def test_pages_are_identical_across_processes(full_report: str) -> None:
    expected = hashlib.sha256(full_report.encode()).hexdigest()
    program = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]); import test_report; "
        "print(hashlib.sha256(test_report.render_full().encode()).hexdigest())"
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


def test_the_model_card_shows_meaning_validation_bands_and_limits_and_rows_their_interval() -> None:
    scores = make_scores().with_columns(
        pl.col("risk_score").mul(0.8).alias("risk_score_low"),
        pl.col("risk_score").mul(1.1).clip(upper_bound=1.0).alias("risk_score_high"),
        pl.when(pl.col("supplier_country_iso3") == "CHN")
        .then(pl.lit("licensing"))
        .otherwise(pl.lit("none"))
        .alias("restriction_state"),
    )
    card = dataclasses.replace(
        MODEL_CARD,
        validation=[
            {
                "score": "risk_score",
                "event_auc_6m": 0.805,
                "ci_low": 0.689,
                "ci_high": 0.905,
                "loeo_min": 0.795,
                "loeo_max": 0.846,
                "median_percentile": 0.94,
            }
        ],
        bands=[
            {
                "risk_band": "high",
                "coverage": 0.058,
                "observed_new_measure_rate": 0.084,
                "observed_restricted_rate": 1.0,
            }
        ],
    )
    page = render_report(scores, history=None, bom_products=None, model_card=card)
    section = page.split('id="model-card"', 1)[1].split("</section>", 1)[0]
    assert "probability that supply on the flow" in section
    assert "Validation by decision" in section and "0.6890-0.9050" in section
    assert "Bands out of sample" in section and "Known limits" in section
    top = page.split('id="top-pairs"', 1)[1].split("</section>", 1)[0]
    assert "49.6%-68.2%" in top and "licensing" in top


def test_history_ends_on_each_pairs_score_in_the_file(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history re-scores each pair with its own buyer and buyer country, and its last point
    is the scores' own as-of date: a listed buyer at 100% in the file ends its line at 100%."""
    import riskengine.report
    from riskengine.app.report import report_file
    from riskengine.app.requests import ReportRequest, ScoringRequest
    from riskengine.app.scoring import score_file

    listed_buyer = "Mitsubishi Heavy Industries Aero Engines, Ltd."  # listed by China 2026-02-24
    sourcing = pl.DataFrame(
        {
            "material": ["dysprosium oxide", "dysprosium oxide", "NdPr oxide", "gallium"],
            "supplier": ["Baotou Example", "Ganzhou Example", "Kuantan Example", "Example Ga AG"],
            "supplier_country": ["CN", "CN", "MY", "Germany"],
            "buyer": [listed_buyer, None, None, None],
        }
    )
    source, scored_path = tmp_path / "sourcing.csv", tmp_path / "scores.csv"
    sourcing.write_csv(source)
    # The buyer country comes from the option, so only the scores' resolved column carries it.
    score_file(
        trained_settings,
        ScoringRequest.from_paths(
            str(source), str(scored_path), date(2026, 3, 15), buyer_country="JP"
        ),
    )
    scores = pl.read_csv(scored_path, infer_schema=False)
    assert scores["risk_score"][0] == "1.0" and scores["risk_band"][0] == "critical"

    rendered: dict[str, pl.DataFrame] = {}

    def keep_history(scores: pl.DataFrame, **kwargs: object) -> str:
        history = kwargs["history"]
        assert isinstance(history, pl.DataFrame)
        rendered["history"] = history
        return "<html></html>"

    monkeypatch.setattr(riskengine.report, "render_report", keep_history)
    report_file(trained_settings, ReportRequest(str(scored_path), str(tmp_path / "r.html")))
    history = rendered["history"]
    last = history.filter(pl.col("quarter") == pl.col("quarter").max())
    labels = top_pairs(scores.with_columns(pl.col("risk_score").cast(pl.Float64)))
    file_scores = dict(zip(labels["pair_label"], labels["risk_score"], strict=True))
    listed_label = labels["pair_label"][0]
    assert labels["buyer"][0] == listed_buyer and file_scores[listed_label] == 1.0
    last_points = dict(last.select("pair_label", "risk_score").iter_rows())
    assert last_points[listed_label] == file_scores[listed_label] == 1.0
    assert last_points == pytest.approx(file_scores, abs=1e-12)
    assert last["quarter"].unique().to_list() == [date(2026, 3, 15)]


def test_history_shows_the_as_of_point_and_its_note() -> None:
    as_of_point = pl.DataFrame(
        {
            "pair_label": [f"Dysprosium oxide — {SCRIPT_NAME} (China)"],
            "quarter": [date(2026, 11, 15)],
            "risk_score": [0.61],
        }
    )
    history = pl.concat([make_history(), as_of_point])
    page = render_report(
        make_scores(),
        history=history,
        history_note="1 of 2 pairs <differ>",
        model_card=MODEL_CARD,
    )
    section = page.split('id="history"', 1)[1].split("</section>", 1)[0]
    assert "(8 quarters) and on the scores' own as-of date, the last point." in section
    assert '<p class="note">1 of 2 pairs &lt;differ&gt;</p>' in section
    assert "as of 2026-11-15" in section and "2026 Q4" in section
