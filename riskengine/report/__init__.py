"""The HTML report a procurement team reads: one self-contained page that works offline.

:mod:`~riskengine.report.page` renders the Jinja2 template in ``templates/`` from the data
:mod:`~riskengine.report.tables` and :mod:`~riskengine.report.impact` (the scenario
timeline, alternatives and changes) gather and the figures :mod:`~riskengine.report.charts` draws;
:mod:`~riskengine.report.common` holds the section names, the model card and formatting. The
report reads only lower layers (bands, catalog, explain, schemas, errors), never the scoring.
Checking a written page in a browser is a development tool: ``python -m tools.report_check``.
"""

from riskengine.report.charts import band_thresholds, risk_colourscale
from riskengine.report.common import (
    BAND_COLOURS,
    CHART_IDS,
    EXPOSURE_ID,
    HEATMAP_ID,
    HISTORY_ID,
    HISTORY_LINES,
    KNOWN_LIMITS,
    REQUIRED_ALTERNATIVES_COLUMNS,
    REQUIRED_CHANGES_COLUMNS,
    REQUIRED_STRESS_COLUMNS,
    SCORE_MEANING,
    SECTION_HEADINGS,
    SECTION_IDS,
    STRESS_TIMELINE_ID,
    TOP_PAIRS,
    TOP_PRODUCTS,
    ModelCard,
    quarter_starts,
    require_output,
)
from riskengine.report.page import render_report
from riskengine.report.tables import top_pairs

__all__ = [
    "BAND_COLOURS",
    "CHART_IDS",
    "EXPOSURE_ID",
    "HEATMAP_ID",
    "HISTORY_ID",
    "HISTORY_LINES",
    "KNOWN_LIMITS",
    "REQUIRED_ALTERNATIVES_COLUMNS",
    "REQUIRED_CHANGES_COLUMNS",
    "REQUIRED_STRESS_COLUMNS",
    "SCORE_MEANING",
    "SECTION_HEADINGS",
    "SECTION_IDS",
    "STRESS_TIMELINE_ID",
    "TOP_PAIRS",
    "TOP_PRODUCTS",
    "ModelCard",
    "band_thresholds",
    "quarter_starts",
    "render_report",
    "require_output",
    "risk_colourscale",
    "top_pairs",
]
