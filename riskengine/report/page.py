"""The report page: gather each section's data and render the one Jinja2 template.

plotly.js is embedded once in the head and every chart is a plotly figure with a fixed div id,
so the same inputs give a byte-identical file and nothing is fetched when it is opened. The
template escapes every value it prints (autoescape, with the standard library's entities), in
the tables and headings alike; only plotly's own HTML goes in as is, and its labels are
escaped before plotly sees them. The page is returned as a string; writing it (atomically) is
the caller's job.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache

import jinja2
import polars as pl
from markupsafe import Markup

from riskengine.report import charts, impact, tables
from riskengine.report.common import (
    BAND_COLOURS,
    KNOWN_LIMITS,
    REQUIRED_HISTORY_COLUMNS,
    REQUIRED_PRODUCT_COLUMNS,
    REQUIRED_SCORE_COLUMNS,
    SCORE_MEANING,
    SECTION_HEADINGS,
    ModelCard,
    require_columns,
)
from riskengine.schemas import STATUS_SCORED

TEMPLATE = "report.html.j2"


def render_report(
    scores: pl.DataFrame,
    *,
    history: pl.DataFrame | None = None,
    history_note: str | None = None,
    bom_products: pl.DataFrame | None = None,
    model_card: ModelCard,
    stress: pl.DataFrame | None = None,
    alternatives: pl.DataFrame | None = None,
    changes: pl.DataFrame | None = None,
    sources: Mapping[str, str] | None = None,
    title: str = "riskengine supplier risk report",
) -> str:
    """The whole report as one self-contained HTML page.

    Parameters
    ----------
    scores
        The scored frame from :func:`riskengine.prediction.score_pairs` (or read back from its
        file).
    history
        ``pair_label``, ``quarter`` (date), ``risk_score``: the top pairs re-scored as of each
        quarter start and last as of the scores' own date (see
        :func:`~riskengine.report.quarter_starts` and :func:`~riskengine.report.top_pairs`);
        ``None`` for a note.
    history_note
        A caveat printed above the history chart, when there is one.
    bom_products
        One row per product from ``score-bom``: ``product``, ``risk_score``, ``exposure``,
        ``driving_material``, ``driving_supplier``, ``status`` and optionally ``reason``;
        ``None`` for a note.
    model_card
        The model and data the scores came from.
    stress, alternatives, changes
        The outputs of ``riskengine stress``, ``alternatives`` and ``diff`` as read from their
        files (text cells are read here); ``None`` for a note.
    sources
        The file each of ``stress``, ``alternatives`` and ``changes`` was read from (by those
        names), for messages about them.
    title
        The page title.

    Raises
    ------
    MissingColumnsError
        When a frame lacks a column the report needs.
    UserInputError
        A bad number, date or period in ``stress``, ``alternatives`` or ``changes``.
    """
    sources = sources or {}
    require_columns(scores, REQUIRED_SCORE_COLUMNS, "scores")
    if history is not None:
        require_columns(history, REQUIRED_HISTORY_COLUMNS, "history")
    if bom_products is not None:
        require_columns(bom_products, REQUIRED_PRODUCT_COLUMNS, "BOM scores")
    scores = scores.with_columns(pl.col("risk_score").cast(pl.Float64, strict=False))
    cutoffs = model_card.band_cutoffs

    exposure = None
    if bom_products is not None:
        shown, chartable, not_charted = tables.exposure_tables(bom_products)
        exposure = {
            "chart": charts.exposure_html(shown, cutoffs) if shown.height else None,
            "shown": shown.height,
            "chartable": chartable,
            "not_charted": not_charted,
        }
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            title=title,
            headings=SECTION_HEADINGS,
            band_colours=BAND_COLOURS,
            facts=tables.header_facts(scores, model_card),
            heatmap=charts.heatmap_html(scores, cutoffs),
            top_pairs=tables.top_pair_rows(scores),
            scored_count=int((scores["status"] == STATUS_SCORED).sum()),
            exposure=exposure,
            has_history=history is not None,
            history=charts.history_chart(history, cutoffs) if history is not None else None,
            history_note=history_note,
            card=tables.model_card_tables(model_card),
            score_meaning=SCORE_MEANING,
            known_limits=KNOWN_LIMITS,
            stress=None
            if stress is None
            else impact.stress_sections(stress, source=sources.get("stress", "stress")),
            alternatives=None
            if alternatives is None
            else impact.alternatives_tables(
                alternatives, source=sources.get("alternatives", "alternatives")
            ),
            changes=None
            if changes is None
            else impact.change_rows(changes, source=sources.get("changes", "changes")),
            rejected=tables.rejected_table(scores),
            plotly_js=charts.plotly_js(),
            plotly_js_version=charts.plotly_js_version(),
        )
    )


def _escaped(value: object) -> object:
    """Every printed value passes here first: text is escaped as the standard library does
    (``&#x27;`` and ``&quot;``, as the page always had); markup (plotly's, macros') is kept."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("riskengine.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        finalize=_escaped,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
