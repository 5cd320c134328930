"""The HTML report a procurement team reads: one self-contained page that works offline.

plotly.js is embedded once in the head and every chart is a plotly figure with a fixed div id,
so the same inputs give a byte-identical file and nothing is fetched when it is opened. Every
piece of text from the data (supplier names above all) is HTML-escaped, in the tables and in
chart labels alike, because supplier master data is untrusted. The page is returned as a string;
writing it (atomically) is the caller's job.
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from riskengine.bands import DEFAULT_CUTOFFS
from riskengine.catalog import load_catalog
from riskengine.errors import MissingColumnsError, UnknownMaterialError, UserInputError
from riskengine.explain import country_name
from riskengine.schemas import (
    RISK_BANDS,
    SCORE_OUTPUT_COLUMNS,
    STATUS_REJECTED,
    STATUS_SCORED,
    resolve_columns,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

TOP_PAIRS = 20
TOP_PRODUCTS = 30
HISTORY_LINES = 10
# Above this many cells the printed values overlap; the hover still shows them.
MAX_ANNOTATED_CELLS = 300

HEATMAP_ID = "risk-heatmap"
EXPOSURE_ID = "product-exposure"
HISTORY_ID = "score-history"
CHART_IDS = (HEATMAP_ID, EXPOSURE_ID, HISTORY_ID)

SECTION_HEADINGS = {
    "heatmap": "Risk by material and supplier country",
    "top_pairs": "Top 20 pairs and their drivers",
    "exposure": "Product exposure",
    "history": "Top pairs over the last 8 quarters",
    "model_card": "Model card",
    "rejected": "Rejected rows",
}

REQUIRED_SCORE_COLUMNS = (
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
    "risk_score",
    "risk_band",
    "drivers",
    "status",
    "reason",
)
REQUIRED_HISTORY_COLUMNS = ("pair_label", "quarter", "risk_score")
REQUIRED_PRODUCT_COLUMNS = (
    "product",
    "risk_score",
    "exposure",
    "driving_material",
    "driving_supplier",
    "status",
)
DRIVER_SEPARATOR = " | "

# (label, metric suffix, whether higher is better): held-out metrics are test_<suffix>, the
# baseline's are baseline_<suffix>.
HEADLINE_METRICS = (
    ("ROC AUC", "roc_auc", True),
    ("PR AUC", "pr_auc", True),
    ("Brier score", "brier", False),
)

BAND_COLOURS = {
    "low": "#1a9850",
    "medium": "#e6b800",
    "high": "#f46d43",
    "critical": "#a50026",
}


def band_thresholds(cutoffs: dict[str, float]) -> list[tuple[float, str]]:
    """The model's band cut-offs, highest first (where the charts draw their band lines)."""
    return [(cutoffs[band], band) for band in ("critical", "high", "medium")]


def risk_colourscale(cutoffs: dict[str, float]) -> list[list[Any]]:
    """Colour stops on the model's band cut-offs, so a cell's colour reads as its band."""
    stops = zip(reversed(band_thresholds(cutoffs)), ("#fee08b", "#fdae61", "#d73027"), strict=True)
    return [
        [0.0, "#1a9850"],
        *([threshold, colour] for (threshold, _), colour in stops),
        [1.0, "#67001f"],
    ]


PLOT_CONFIG = {"displaylogo": False, "responsive": True}
PLOT_TEMPLATE = "plotly_white"
PLOT_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1f2933; background: #f5f7fa; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 48px; }
header { border-bottom: 3px solid #1f2933; margin-bottom: 8px; }
h1 { margin: 0 0 8px; font-size: 28px; }
h2 { margin-top: 0; font-size: 21px; }
section { background: #fff; border-radius: 6px; padding: 20px 24px; margin: 20px 0;
          box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
.facts { display: flex; flex-wrap: wrap; gap: 12px; margin: 12px 0 16px; padding: 0; }
.facts li { list-style: none; background: #fff; border-radius: 6px; padding: 8px 14px;
            box-shadow: 0 1px 3px rgba(0, 0, 0, 0.12); }
.facts b { display: block; font-size: 20px; }
.note { color: #52606d; font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px;
         border-bottom: 1px solid #e4e7eb; }
th { background: #f0f4f8; }
td.number { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td ul { margin: 0; padding-left: 18px; }
.band { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
        font-size: 12px; font-weight: 600; }
""" + "".join(
    f".band-{band} {{ background: {colour}; }}\n" for band, colour in BAND_COLOURS.items()
)


@dataclass(frozen=True)
class ModelCard:
    """What the report says about the model that produced the scores.

    Parameters
    ----------
    model_version
        The registered model version that scored the pairs.
    run_id
        The MLflow run that trained it.
    metrics
        Backtest metrics by name: ``test_roc_auc``, ``test_pr_auc``, ``test_brier`` and the
        baseline's ``baseline_*`` counterparts are shown side by side; any others are listed.
    reference_fingerprint
        Fingerprint of the reference data the scores were computed with.
    as_of
        The date the scores are as of (ISO format).
    trained_on
        The training panel's window, in words.
    """

    model_version: str
    run_id: str
    metrics: dict[str, float]
    reference_fingerprint: str
    as_of: str
    trained_on: str
    band_cutoffs: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CUTOFFS))
    validation: list[dict[str, Any]] = field(default_factory=list)
    bands: list[dict[str, Any]] = field(default_factory=list)


SCORE_MEANING = (
    "risk_score is the probability that supply on the flow (material at its stage, supplier "
    "country, buyer country, buyer) is restricted or disrupted during the next 12 months. It "
    "combines the restriction state in force (state_score: a stated rule, 1.0 for a ban or a "
    "listing, 0.5-0.6 for licensing, quotas, taxes and measures aimed at the buyer's country) "
    "with the learnt hazard of a new or escalated measure (model_score): risk = 1 - (1 - state) "
    "x (1 - hazard). risk_score_low and risk_score_high are its 95% interval."
)
KNOWN_LIMITS = (
    "The hazard is learnt from a few dozen dated public decisions; intervals are wide and a "
    "single new decision can move the ranking.",
    "The state scores for licensing, quotas, taxes and measures aimed at the buyer's country "
    "are a stated rule, not estimated from deliveries.",
    "Calibration drifts with the yearly rate of new measures (0.1% to 2.6% of flows per year): "
    "read the probability as a rank first.",
    "Facts not in the reference data (a measure, a listing, a producer) are invisible to the "
    "score.",
)


# --------------------------------------------------------------------------------- public helpers


def quarter_starts(as_of: date, quarters: int = 8) -> list[date]:
    """The first days of the last ``quarters`` calendar quarters up to ``as_of``, oldest first.

    The last date is the first day of the quarter that contains ``as_of`` (``as_of`` itself
    when it is a quarter's first day), so every date is on or before ``as_of`` and re-scoring
    at it never uses facts from after ``as_of``.

    Raises
    ------
    ValueError
        When ``quarters`` is below 1.
    """
    if quarters < 1:
        raise ValueError(f"quarters must be at least 1, got {quarters}")
    current = as_of.year * 4 + (as_of.month - 1) // 3
    return [
        date(index // 4, (index % 4) * 3 + 1, 1)
        for index in range(current - quarters + 1, current + 1)
    ]


def top_pairs(scores: pl.DataFrame, limit: int = TOP_PAIRS) -> pl.DataFrame:
    """The riskiest scored rows, riskiest first (ties keep input order).

    Returns the rows as they are in ``scores`` with two columns in front: ``input_row`` (its
    1-based position in ``scores``) and ``pair_label`` (material, supplier and supplier country in
    words, as the report shows it). Use it to pick the pairs whose history the report charts.
    """
    _require_columns(scores, REQUIRED_SCORE_COLUMNS, "scores")
    supplier_column = _input_column(scores, "supplier")
    ranked = (
        _with_input_row(scores)
        .filter(pl.col("status") == STATUS_SCORED)
        .sort(["risk_score", "input_row"], descending=[True, False], nulls_last=True)
        .head(limit)
    )
    suppliers = (
        ranked[supplier_column].cast(pl.String).to_list()
        if supplier_column
        else [None] * ranked.height
    )
    labels = [
        f"{_material_name(material)} — {supplier or 'unnamed supplier'} "
        f"({country_name(country) if country else 'unknown country'})"
        for material, supplier, country in zip(
            ranked["material_id"].to_list(),
            suppliers,
            ranked["supplier_country_iso3"].to_list(),
            strict=True,
        )
    ]
    labelled = ranked.with_columns(pl.Series("pair_label", labels, dtype=pl.String))
    front = ["input_row", "pair_label"]
    return labelled.select(front + [name for name in labelled.columns if name not in front])


def render_report(
    scores: pl.DataFrame,
    *,
    history: pl.DataFrame | None = None,
    bom_products: pl.DataFrame | None = None,
    model_card: ModelCard,
    title: str = "riskengine supplier risk report",
) -> str:
    """The whole report as one self-contained HTML page.

    Parameters
    ----------
    scores
        The scored frame from :func:`riskengine.scoring.score_pairs` (or read back from its file).
    history
        ``pair_label``, ``quarter`` (date), ``risk_score``: the top pairs re-scored as of each
        quarter start (see :func:`quarter_starts` and :func:`top_pairs`); ``None`` for a note.
    bom_products
        One row per product from ``score-bom``: ``product``, ``risk_score``, ``exposure``,
        ``driving_material``, ``driving_supplier``, ``status`` and optionally ``reason``;
        ``None`` for a note.
    model_card
        The model and data the scores came from.
    title
        The page title.

    Raises
    ------
    MissingColumnsError
        When a frame lacks a column the report needs.
    """
    _require_columns(scores, REQUIRED_SCORE_COLUMNS, "scores")
    if history is not None:
        _require_columns(history, REQUIRED_HISTORY_COLUMNS, "history")
    if bom_products is not None:
        _require_columns(bom_products, REQUIRED_PRODUCT_COLUMNS, "BOM scores")
    scores = scores.with_columns(pl.col("risk_score").cast(pl.Float64, strict=False))

    import plotly.offline

    body = [
        _header(scores, model_card, title),
        _heatmap_section(scores, model_card.band_cutoffs),
        _top_pairs_section(scores),
        _exposure_section(bom_products, model_card.band_cutoffs),
        _history_section(history, model_card.band_cutoffs),
        _model_card_section(model_card),
        _rejected_section(scores),
    ]
    # A literal "</script" inside the bundle would end the tag early; it has none today.
    plotly_js = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{_escape(title)}</title>\n<style>{STYLE}</style>\n",
            "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n",
            f'<script charset="utf-8">{plotly_js}</script>\n',
            "</head>\n<body>\n<main>\n",
            "\n".join(body),
            f'\n<footer><p class="note">Self-contained: the charts are drawn by the embedded '
            f"plotly.js {_escape(_plotly_js_version())}; nothing is fetched when this page is "
            "opened.</p></footer>\n</main>\n</body>\n</html>\n",
        ]
    )


def check_report_in_browser(
    html_path: Path,
    screenshot_path: Path,
    chromium: str = "/usr/bin/chromium",
    timeout_seconds: float = 120.0,
    window_size: tuple[int, int] = (1400, 3000),
) -> dict[str, Any]:
    """Open the report in headless Chromium with no network; count the charts that drew.

    Chromium runs twice with a fresh profile each time: once to dump the DOM after the scripts
    ran, once to write a PNG screenshot of the page's top ``window_size`` pixels. Host lookups
    are mapped to nothing, so a chart that needed the network would fail to draw.

    Returns
    -------
    dict
        ``charts_expected`` (plotly divs in the DOM), ``charts_drawn`` (those holding a drawn SVG),
        ``charts`` (div id to whether it drew), ``script_errors`` (uncaught errors Chromium
        logged) and ``screenshot`` (the PNG's path).

    Raises
    ------
    RuntimeError
        When Chromium fails, times out or writes no screenshot.
    """
    url = Path(html_path).resolve().as_uri()
    dump = _run_chromium(
        chromium, ["--virtual-time-budget=5000", "--dump-dom", url], timeout_seconds
    )
    shot = _run_chromium(
        chromium,
        [
            "--virtual-time-budget=5000",
            "--hide-scrollbars",
            f"--window-size={window_size[0]},{window_size[1]}",
            f"--screenshot={Path(screenshot_path).resolve()}",
            url,
        ],
        timeout_seconds,
    )
    if not Path(screenshot_path).is_file():
        raise RuntimeError(
            f"chromium wrote no screenshot at {screenshot_path}: {shot.stderr[-2000:]}"
        )
    charts = _drawn_charts(dump.stdout)
    errors = [
        line
        for line in (dump.stderr + shot.stderr).splitlines()
        if "Uncaught" in line and "CONSOLE" in line
    ]
    return {
        "charts_expected": len(charts),
        "charts_drawn": sum(charts.values()),
        "charts": charts,
        "script_errors": errors,
        "screenshot": str(screenshot_path),
    }


# ------------------------------------------------------------------------------------- sections


def _header(scores: pl.DataFrame, model_card: ModelCard, title: str) -> str:
    status = scores["status"]
    scored = scores.filter(status == STATUS_SCORED)
    rejected_count = int((status == STATUS_REJECTED).sum())
    other_count = scores.height - scored.height - rejected_count
    as_of_values = (
        scores["as_of"].cast(pl.String).drop_nulls().unique().sort().to_list()
        if "as_of" in scores.columns
        else []
    )
    as_of = ", ".join(as_of_values) or model_card.as_of
    facts = [
        ("Scores as of", as_of),
        ("Rows", f"{scores.height:,}"),
        ("Scored", f"{scored.height:,}"),
        ("Rejected", f"{rejected_count:,}"),
    ]
    if other_count:
        # The schema allows only two statuses; a hand-edited file may not, and must reconcile.
        facts.append(("Other status", f"{other_count:,}"))
    bands = scored["risk_band"].cast(pl.String).to_list()
    facts += [
        (f"{band.capitalize()} band", f"{bands.count(band):,}") for band in reversed(RISK_BANDS)
    ]
    facts.append(("Model version", model_card.model_version))
    items = "".join(f"<li>{_escape(label)}<b>{_escape(value)}</b></li>" for label, value in facts)
    return (
        f"<header><h1>{_escape(title)}</h1>"
        '<p class="note">How likely each material-supplier pair is to be disrupted within 12 '
        "months, and why. Bands are alert tiers: critical covers about 2% of all flows, high "
        "and critical about 10%, and a restriction in force never reads low (risk_score_low "
        "and risk_score_high give each score's 95% interval)."
        + f'</p><ul class="facts">{items}</ul></header>'
    )


def _heatmap_section(scores: pl.DataFrame, cutoffs: dict[str, float]) -> str:
    heading = f'<section id="heatmap"><h2>{SECTION_HEADINGS["heatmap"]}</h2>'
    cells = (
        scores.filter(
            (pl.col("status") == STATUS_SCORED)
            & pl.col("risk_score").is_not_null()
            & pl.col("material_id").is_not_null()
            & pl.col("supplier_country_iso3").is_not_null()
        )
        .group_by("material_id", "supplier_country_iso3")
        .agg(pl.col("risk_score").max().alias("highest"), pl.len().alias("pairs"))
    )
    if cells.height == 0:
        return heading + '<p class="note">No scored pairs to chart.</p></section>'
    materials = _ranked_keys(cells, "material_id")
    countries = _ranked_keys(cells, "supplier_country_iso3")
    material_index = {material: row for row, material in enumerate(materials)}
    country_index = {country: column for column, country in enumerate(countries)}
    country_labels = [_chart_text(f"{country_name(code)} ({code})") for code in countries]
    highest: list[list[float | None]] = [[None] * len(countries) for _ in materials]
    details: list[list[list[object]]] = [
        [[None, label] for label in country_labels] for _ in materials
    ]
    for material, country, value, count in cells.iter_rows():
        highest[material_index[material]][country_index[country]] = value
        details[material_index[material]][country_index[country]][0] = count

    import plotly.graph_objects as go

    heatmap = go.Heatmap(
        z=highest,
        # Long official names (Congo's) would squeeze the chart; the hover has them in full.
        x=_unique_labels(
            [
                _chart_text(_shortened(f"{country_name(code)}", 18) + f" ({code})")
                for code in countries
            ],
            countries,
        ),
        y=_unique_labels([_chart_text(_material_name(id_)) for id_ in materials], materials),
        customdata=details,
        zmin=0.0,
        zmax=1.0,
        colorscale=risk_colourscale(cutoffs),
        xgap=2,
        ygap=2,
        hoverongaps=False,
        hovertemplate=(
            "Material: %{y}<br>Supplier country: %{customdata[1]}<br>"
            "Highest risk score: %{z:.1%}<br>Pairs scored: %{customdata[0]}<extra></extra>"
        ),
        colorbar={
            "title": {"text": "highest<br>risk score"},
            # No tick at 0: it would overlap the 5% one on a short chart.
            "tickvals": [threshold for threshold, _ in reversed(band_thresholds(cutoffs))] + [1.0],
            "ticktext": [
                f"{threshold:.1%} {band}" for threshold, band in reversed(band_thresholds(cutoffs))
            ]
            + ["100%"],
        },
    )
    if len(materials) * len(countries) <= MAX_ANNOTATED_CELLS:
        heatmap.update(texttemplate="%{z:.0%}", textfont={"size": 11})
    figure = go.Figure(heatmap)
    figure.update_layout(
        height=max(400, 160 + 34 * len(materials)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={
            "side": "top",
            "automargin": True,
            "showgrid": False,
            "title": {"text": "supplier country"},
        },
        yaxis={
            "autorange": "reversed",
            "automargin": True,
            "showgrid": False,
            "title": {"text": "material"},
        },
    )
    return (
        heading
        + '<p class="note">Each cell is the highest risk score among the scored pairs of that '
        "material from that country; hover for the number of pairs. Riskiest rows and columns "
        "first.</p>" + _figure_html(figure, HEATMAP_ID) + "</section>"
    )


def _top_pairs_section(scores: pl.DataFrame) -> str:
    heading = f'<section id="top-pairs"><h2>{SECTION_HEADINGS["top_pairs"]}</h2>'
    top = top_pairs(scores, TOP_PAIRS)
    if top.height == 0:
        return heading + '<p class="note">No scored pairs.</p></section>'
    supplier_column = _input_column(scores, "supplier")
    rows = []
    for rank, row in enumerate(top.iter_rows(named=True), start=1):
        supplier = row[supplier_column] if supplier_column else None
        drivers = [
            sentence
            for sentence in (row["drivers"] or "").split(DRIVER_SEPARATOR)
            if sentence.strip()
        ]
        drivers_html = (
            "<ul>" + "".join(f"<li>{_escape(sentence)}</li>" for sentence in drivers) + "</ul>"
            if drivers
            else '<span class="note">no driver recorded</span>'
        )
        rows.append(
            [
                (str(rank), "number"),
                (_escape(_material_name(row["material_id"])), ""),
                (_escape(supplier) if supplier else '<span class="note">unnamed</span>', ""),
                (_escape(_country_label(row["supplier_country_iso3"])), ""),
                (_escape(_country_label(row["buyer_country_iso3"])), ""),
                (_escape(_percent(row["risk_score"])), "number"),
                (_escape(_interval(row)), "number"),
                (_escape(str(row.get("restriction_state") or "")).replace("_", " "), ""),
                (_band_html(row["risk_band"]), ""),
                (drivers_html, ""),
                (str(row["input_row"]), "number"),
            ]
        )
    table = _table(
        [
            "#",
            "Material",
            "Supplier",
            "Supplier country",
            "Buyer country",
            "Risk score",
            "95% interval",
            "Restriction in force",
            "Band",
            "Drivers",
            "Input row",
        ],
        rows,
    )
    scored = int((scores["status"] == STATUS_SCORED).sum())
    return (
        heading
        + f'<p class="note">The {top.height} riskiest of {scored:,} scored pairs. A score of '
        "100% means a hard rule applies (a listing or a ban in force); the driver says which. "
        "The restriction in force is the state part of the score; the interval comes from the "
        "event bootstrap of the model's calibration.</p>" + table + "</section>"
    )


def _exposure_section(bom_products: pl.DataFrame | None, cutoffs: dict[str, float]) -> str:
    heading = f'<section id="exposure"><h2>{SECTION_HEADINGS["exposure"]}</h2>'
    if bom_products is None:
        return (
            heading
            + '<p class="note">No BOM scores were given, so there is no product exposure to '
            "show. Run <code>riskengine score-bom</code> and pass its output with "
            "<code>--bom</code>.</p></section>"
        )
    products = _with_input_row(
        bom_products.with_columns(
            pl.col("risk_score").cast(pl.Float64, strict=False),
            pl.col("exposure").cast(pl.Float64, strict=False),
        )
    )
    chartable = products.filter(
        (pl.col("status") == STATUS_SCORED) & pl.col("exposure").is_not_null()
    ).sort(["exposure", "input_row"], descending=[True, False])
    parts = [heading]
    if chartable.height:
        shown = chartable.head(TOP_PRODUCTS)
        parts.append(
            '<p class="note">Exposure: quantity per product unit × share × pair risk, summed over '
            "the product's supply lines. Colour is the product's risk score. "
            + (
                f"The {shown.height} most exposed of {chartable.height:,} scored products."
                if chartable.height > shown.height
                else f"All {chartable.height:,} scored products."
            )
            + "</p>"
        )
        parts.append(_figure_html(_exposure_figure(shown, cutoffs), EXPOSURE_ID))
    else:
        parts.append('<p class="note">No product in the BOM scores was scored.</p>')
    not_charted = products.filter(
        (pl.col("status") != STATUS_SCORED)
        | pl.col("status").is_null()
        | pl.col("exposure").is_null()
    )
    if not_charted.height:
        reasons = (
            not_charted["reason"].cast(pl.String).to_list()
            if "reason" in not_charted.columns
            else [None] * not_charted.height
        )
        rows = [
            [
                (str(row), "number"),
                (_escape(product), ""),
                (_escape(status), ""),
                (_escape(reason or "no exposure recorded"), ""),
            ]
            for row, product, status, reason in zip(
                not_charted["input_row"].to_list(),
                not_charted["product"].cast(pl.String).to_list(),
                not_charted["status"].cast(pl.String).to_list(),
                reasons,
                strict=True,
            )
        ]
        parts.append(
            f"<h3>Products not charted ({not_charted.height:,})</h3>"
            + _table(["Row", "Product", "Status", "Reason"], rows)
        )
    parts.append("</section>")
    return "".join(parts)


def _exposure_figure(products: pl.DataFrame, cutoffs: dict[str, float]) -> go.Figure:
    import plotly.graph_objects as go

    names = [_chart_text(name) for name in products["product"].cast(pl.String).to_list()]
    details = [
        [
            _percent(risk),
            _chart_text(_material_name(material) if material else "—"),
            _chart_text(supplier or "—"),
        ]
        for risk, material, supplier in zip(
            products["risk_score"].to_list(),
            products["driving_material"].cast(pl.String).to_list(),
            products["driving_supplier"].cast(pl.String).to_list(),
            strict=True,
        )
    ]
    figure = go.Figure(
        go.Bar(
            x=products["exposure"].to_list(),
            y=_unique_labels(names, [str(row) for row in products["input_row"].to_list()]),
            orientation="h",
            customdata=details,
            marker={
                "color": products["risk_score"].fill_null(0.0).to_list(),
                "cmin": 0.0,
                "cmax": 1.0,
                "colorscale": risk_colourscale(cutoffs),
                "colorbar": {"title": {"text": "product<br>risk score"}, "tickformat": ".0%"},
            },
            hovertemplate=(
                "%{y}<br>Exposure: %{x:.4g}<br>Product risk score: %{customdata[0]}"
                "<br>Driving material: %{customdata[1]}<br>Driving supplier: %{customdata[2]}"
                "<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        height=max(320, 120 + 30 * products.height),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"title": {"text": "exposure (expected disrupted quantity per product unit)"}},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return figure


def _history_section(history: pl.DataFrame | None, cutoffs: dict[str, float]) -> str:
    heading = f'<section id="history"><h2>{SECTION_HEADINGS["history"]}</h2>'
    if history is None:
        return (
            heading
            + '<p class="note">No score history was given, so the top pairs\' scores over past '
            "quarters are not shown.</p></section>"
        )
    points = (
        history.select(
            pl.col("pair_label").cast(pl.String),
            pl.col("quarter").cast(pl.Date),
            pl.col("risk_score").cast(pl.Float64, strict=False),
        )
        .drop_nulls()
        .sort("pair_label", "quarter")
    )
    if points.height == 0:
        return heading + '<p class="note">The score history is empty.</p></section>'
    latest = (
        points.group_by("pair_label")
        .agg(pl.col("risk_score").sort_by("quarter").last().alias("latest"))
        .sort(["latest", "pair_label"], descending=[True, False])
    )
    labels = latest["pair_label"].to_list()
    shown = labels[:HISTORY_LINES]
    quarters = points["quarter"].unique().sort().to_list()

    import plotly.graph_objects as go

    figure = go.Figure()
    for label in shown:
        line = points.filter(pl.col("pair_label") == label)
        figure.add_trace(
            go.Scatter(
                x=[quarter.isoformat() for quarter in line["quarter"].to_list()],
                y=line["risk_score"].to_list(),
                mode="lines+markers",
                name=_chart_text(label),
                hovertemplate="%{fullData.name}<br>%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>",
            )
        )
    highest = float(points.filter(pl.col("pair_label").is_in(shown))["risk_score"].max())
    top = min(1.0, max(0.1, highest * 1.15))
    for threshold, band in band_thresholds(cutoffs):
        if threshold < top:
            figure.add_hline(
                y=threshold,
                line={"dash": "dot", "width": 1, "color": BAND_COLOURS[band]},
                annotation={"text": band, "font": {"color": BAND_COLOURS[band]}},
                annotation_position="top left",
            )
    figure.update_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={
            "tickvals": [quarter.isoformat() for quarter in quarters],
            "ticktext": [f"{quarter.year} Q{(quarter.month - 1) // 3 + 1}" for quarter in quarters],
            "title": {"text": "scored as of the quarter's first day"},
        },
        yaxis={"range": [0.0, top], "tickformat": ".0%", "title": {"text": "risk score"}},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0.0},
    )
    note = (
        f"{len(shown)} of {len(labels)} pairs, the riskiest at the latest quarter."
        if len(labels) > len(shown)
        else f"{len(labels)} pairs."
    )
    return (
        heading
        + '<p class="note">Each pair re-scored with what was known on the first day of each '
        f"quarter ({len(quarters)} quarters). {note}</p>"
        + _figure_html(figure, HISTORY_ID)
        + "</section>"
    )


def _model_card_section(model_card: ModelCard) -> str:
    facts = [
        ("Model version", model_card.model_version),
        ("Training run", model_card.run_id),
        ("Trained on", model_card.trained_on),
        ("Reference data fingerprint", model_card.reference_fingerprint),
        ("Scores as of", model_card.as_of),
    ]
    fact_rows = [
        [(_escape(label), ""), (f"<code>{_escape(value)}</code>", "")] for label, value in facts
    ]
    parts = [
        f'<section id="model-card"><h2>{SECTION_HEADINGS["model_card"]}</h2>',
        _table(["", ""], fact_rows, header=False),
    ]
    parts.append(f'<p class="note">{_escape(SCORE_MEANING)}</p>')
    if model_card.validation:
        rows = [
            [
                (_escape(row.get("label") or row["score"]), ""),
                (_metric(row["event_auc_6m"]), "number"),
                (f"{_metric(row['ci_low'])}-{_metric(row['ci_high'])}", "number"),
                (f"{_metric(row['loeo_min'])}-{_metric(row['loeo_max'])}", "number"),
                (_percent(row["median_percentile"]), "number"),
            ]
            for row in model_card.validation
        ]
        parts.append(
            "<h3>Validation by decision (each held-out decision scored 6 months ahead among "
            "all flows)</h3>"
            + _table(
                [
                    "Score",
                    "Event-level AUC",
                    "95% event-bootstrap CI",
                    "Leave-one-event-out",
                    "Median percentile",
                ],
                rows,
            )
        )
    if model_card.bands:
        rows = [
            [
                (_band_html(row["risk_band"]), ""),
                (_percent(row["coverage"]), "number"),
                (_percent(row["observed_new_measure_rate"]), "number"),
                (_percent(row["observed_restricted_rate"]), "number"),
            ]
            for row in model_card.bands
        ]
        parts.append(
            "<h3>Bands out of sample</h3>"
            + _table(["Band", "Share of flows", "New measure within 12 months", "Restricted"], rows)
        )
    parts.append(
        "<h3>Known limits</h3><ul>"
        + "".join(f"<li>{_escape(limit)}</li>" for limit in KNOWN_LIMITS)
        + "</ul>"
    )
    metrics = model_card.metrics
    shown: set[str] = set()
    metric_rows = []
    for label, suffix, higher_is_better in HEADLINE_METRICS:
        model_value = metrics.get(f"test_{suffix}")
        baseline_value = metrics.get(f"baseline_{suffix}")
        if model_value is None and baseline_value is None:
            continue
        shown.update({f"test_{suffix}", f"baseline_{suffix}"})
        metric_rows.append(
            [
                (f"{_escape(label)} ({'higher' if higher_is_better else 'lower'} is better)", ""),
                (_metric(model_value), "number"),
                (_metric(baseline_value), "number"),
                (_escape(_comparison(model_value, baseline_value, higher_is_better)), ""),
            ]
        )
    if metric_rows:
        parts.append("<h3>Held-out test period</h3>")
        parts.append(_table(["Metric", "Model", "Baseline", "Model vs baseline"], metric_rows))
    elif not model_card.validation:
        parts.append('<p class="note">No held-out metrics were recorded for this model.</p>')
    others = sorted(name for name in metrics if name not in shown)
    if others:
        parts.append(
            "<h3>Other recorded metrics</h3>"
            + _table(
                ["Metric", "Value"],
                [[(_escape(name), ""), (_metric(metrics[name]), "number")] for name in others],
            )
        )
    parts.append("</section>")
    return "".join(parts)


def _rejected_section(scores: pl.DataFrame) -> str:
    heading = f'<section id="rejected"><h2>{SECTION_HEADINGS["rejected"]}</h2>'
    rejected = _with_input_row(scores).filter(pl.col("status") != STATUS_SCORED)
    if rejected.height == 0:
        return heading + '<p class="note">No row was rejected.</p></section>'
    input_columns = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    rows = [
        [(str(row["input_row"]), "number")]
        + [(_escape(_cell_text(row[name])), "") for name in input_columns]
        + [(_escape(row["reason"] or "no reason recorded"), "")]
        for row in rejected.select("input_row", *input_columns, "reason").iter_rows(named=True)
    ]
    return (
        heading + f'<p class="note">Every one of the {rejected.height:,} rows that was not scored, '
        "with the input as given and why.</p>"
        + _table(["Input row", *input_columns, "Reason"], rows)
        + "</section>"
    )


# --------------------------------------------------------------------------------- small pieces


def _require_columns(frame: pl.DataFrame, required: Sequence[str], source: str) -> None:
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "needed for the report"
        )


def _input_column(scores: pl.DataFrame, canonical: str) -> str | None:
    """The input's own header for a canonical column, when it has one."""
    inputs = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    try:
        return resolve_columns(inputs, source="scores", required=()).get(canonical)
    except UserInputError:
        # An ambiguous header is the scoring step's error to report; the report just omits it.
        return None


def _with_input_row(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("input_row"))


def _ranked_keys(cells: pl.DataFrame, key: str) -> list[str]:
    """Keys riskiest first, ties by name, so the layout does not depend on input order."""
    return (
        cells.group_by(key)
        .agg(pl.col("highest").max())
        .sort(["highest", key], descending=[True, False])[key]
        .to_list()
    )


def _unique_labels(labels: list[str], keys: Iterable[str]) -> list[str]:
    # plotly merges equal category labels into one row; fall back to the keys, which are unique.
    return labels if len(set(labels)) == len(labels) else [_chart_text(key) for key in keys]


def _material_name(material_id: str | None) -> str:
    if not material_id:
        return "unknown material"
    try:
        return load_catalog().material(material_id).display_name
    except UnknownMaterialError:
        return material_id


def _shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip(" ,") + "…"


def _country_label(iso3: str | None) -> str:
    return country_name(iso3) if iso3 else "—"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _interval(row: dict[str, Any]) -> str:
    """``low-high`` of a scored row, or empty for scores written before intervals existed."""
    low, high = row.get("risk_score_low"), row.get("risk_score_high")
    if low is None or high is None:
        return ""
    return f"{_percent(low)}-{_percent(high)}"


def _metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def _comparison(model_value: float | None, baseline_value: float | None, higher: bool) -> str:
    if model_value is None or baseline_value is None:
        return "—"
    difference = model_value - baseline_value
    if difference == 0:
        return "same"
    better = (difference > 0) == higher
    return f"{difference:+.4f} ({'better' if better else 'worse'})"


def _cell_text(value: object) -> str:
    return "" if value is None else str(value)


def _band_html(band: str | None) -> str:
    if band in BAND_COLOURS:
        return f'<span class="band band-{band}">{band}</span>'
    return _escape(band or "—")


def _escape(text: object) -> str:
    return html.escape(_cell_text(text), quote=True)


def _chart_text(text: object) -> str:
    """Text for a plotly label: plotly.js renders a subset of HTML in labels, so escape it, but
    it decodes only numeric entities and a few named ones (not ``&quot;``)."""
    return _escape(text).replace("&quot;", "&#34;")


def _table(headers: Sequence[str], rows: list[list[tuple[str, str]]], header: bool = True) -> str:
    """An HTML table from already-escaped cells given as (html, css class)."""
    head = (
        "<thead><tr>" + "".join(f"<th>{_escape(name)}</th>" for name in headers) + "</tr></thead>"
        if header
        else ""
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>" for cell, css in row
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}<tbody>{body}</tbody></table>"


def _figure_html(figure: go.Figure, div_id: str) -> str:
    import plotly.io

    # An explicit template and div id keep the page byte-identical whatever the global defaults.
    figure.update_layout(template=PLOT_TEMPLATE, font=PLOT_FONT)
    return plotly.io.to_html(
        figure,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config=PLOT_CONFIG,
    )


def _plotly_js_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


# ---------------------------------------------------------------------------------- browser check

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host resolves, so the check proves the page needs no network.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
)


def _run_chromium(
    chromium: str, arguments: list[str], timeout_seconds: float
) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="riskengine-chromium-") as profile:
        command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments]
        # A session of its own lets a timeout end Chromium's helper processes too.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise RuntimeError(
                f"chromium did not finish within {timeout_seconds:g} s: {' '.join(arguments)}"
            ) from None
    if process.returncode != 0:
        raise RuntimeError(f"chromium exited with code {process.returncode}: {stderr[-2000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


_DIV_TAG = re.compile(r"<div\b[^>]*>")
_ATTRIBUTE = re.compile(r'\b(id|class)="([^"]*)"')


def _drawn_charts(dom: str) -> dict[str, bool]:
    """Plotly divs in a dumped DOM, by id, and whether each holds a drawn SVG.

    The charts are siblings in page order, so the text from one chart's div to the next belongs
    to the first; a drawn chart has plotly's ``main-svg`` inside it.
    """
    starts: list[tuple[int, str]] = []
    for match in _DIV_TAG.finditer(dom):
        attributes = dict(_ATTRIBUTE.findall(match.group(0)))
        if "plotly-graph-div" in attributes.get("class", "").split():
            starts.append((match.start(), attributes.get("id", f"unnamed-{len(starts)}")))
    charts = {}
    for index, (start, div_id) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(dom)
        charts[div_id] = 'class="main-svg"' in dom[start:end]
    return charts
