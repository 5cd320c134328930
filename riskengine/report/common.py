"""What every part of the report shares: section names, the model card, formatting helpers.

Everything here is plain data or text; escaping is the template's job (it escapes every value it
prints), and the charts escape their own labels (see :mod:`riskengine.report.charts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from riskengine.bands import DEFAULT_CUTOFFS
from riskengine.catalog import load_catalog
from riskengine.errors import MissingColumnsError, UnknownMaterialError, UserInputError
from riskengine.explain import country_name
from riskengine.io.columns import resolve_columns
from riskengine.schemas import SCORE_OUTPUT_COLUMNS

TOP_PAIRS = 20
TOP_PRODUCTS = 30
HISTORY_LINES = 10
# Above this many cells the printed values overlap; the hover still shows them.
MAX_ANNOTATED_CELLS = 300

HEATMAP_ID = "risk-heatmap"
EXPOSURE_ID = "product-exposure"
HISTORY_ID = "score-history"
CHART_IDS = (HEATMAP_ID, EXPOSURE_ID, HISTORY_ID)
#: One timeline per scenario: ``stress-timeline-1``, ``stress-timeline-2``, ...
STRESS_TIMELINE_ID = "stress-timeline"
#: Products per scenario on the timeline and in its table of the first to stop.
TIMELINE_PRODUCTS = 30
FIRST_TO_STOP = 20
#: Rows of the alternatives and changes tables (both files come sorted, most useful first).
ALTERNATIVE_ROWS = 200
CHANGE_ROWS = 200
#: Causes shown open per changed pair (``diff`` lists the most specific first); the others are
#: folded under a "more causes" line that opens on a click.
CAUSES_SHOWN = 3

SECTION_HEADINGS = {
    "heatmap": "Risk by material and supplier country",
    "top_pairs": "Top 20 pairs and their drivers",
    "exposure": "Product exposure",
    "history": "Top pairs over the last 8 quarters",
    "stress": "Scenario timeline",
    "alternatives": "Alternatives to the riskiest pairs",
    "changes": "What changed since the previous run",
    "model_card": "Model card",
    "rejected": "Rejected rows and blocked sources",
}
#: The page's sections with their element ids, in page order (the browser check reads them).
SECTION_IDS = (
    "heatmap",
    "top-pairs",
    "exposure",
    "history",
    "stress",
    "alternatives",
    "changes",
    "model-card",
    "rejected",
)

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
#: What the report reads of the outputs of ``stress``, ``alternatives`` and ``diff`` (a file
#: without them is not that command's output).
REQUIRED_STRESS_COLUMNS = (
    "scenario",
    "product",
    "status",
    "binding_material",
    "binding_supplier",
    "binding_supplier_country_iso3",
    "first_short_date",
    "last_short_date",
    "short_periods",
    "days_short",
    "units_at_risk",
    "value_at_risk",
    "still_flowing",
    "scenario_start",
    "scenario_end",
)
REQUIRED_ALTERNATIVES_COLUMNS = (
    "material",
    "supplier",
    "supplier_country_iso3",
    "pair_risk_score",
    "pair_risk_band",
    "candidate_country_iso3",
    "candidate_country",
    "production_share",
    "governance",
    "measures_in_force",
    "candidate_risk_score",
    "candidate_risk_band",
    "improvement",
    "note",
)
REQUIRED_CHANGES_COLUMNS = (
    "change",
    "material",
    "supplier",
    "supplier_country_iso3",
    "buyer_country_iso3",
    "old_risk_score",
    "new_risk_score",
    "delta",
    "old_risk_band",
    "new_risk_band",
    "causes",
    "cause_kinds",
    "sources",
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


@dataclass(frozen=True)
class TimelineProduct:
    """One product's row on a scenario's timeline."""

    product: str
    status: str
    short_periods: list[tuple[date, date]]
    """Runs of short days, first and last day both included."""
    binding: str
    """The binding material and supplier in words ("—" when never short)."""
    days_short: int | None


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


# ------------------------------------------------------------------------------------- frames


def require_columns(frame: pl.DataFrame, required: Sequence[str], source: str) -> None:
    """Raise :class:`MissingColumnsError` naming every column of ``required`` not in ``frame``."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            "needed for the report"
        )


def require_output(frame: pl.DataFrame, required: Sequence[str], path: str, command: str) -> None:
    """Raise :class:`MissingColumnsError` when ``frame`` (read from ``path``) lacks a column of
    ``riskengine {command}``'s output the report reads, naming the file and the columns."""
    missing = [name for name in required if name not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{path}: not an output of riskengine {command}: missing column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )


def input_column(scores: pl.DataFrame, canonical: str) -> str | None:
    """The input's own header for a canonical column, when it has one."""
    inputs = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    try:
        return resolve_columns(inputs, source="scores", required=()).get(canonical)
    except UserInputError:
        # An ambiguous header is the scoring step's error to report; the report just omits it.
        return None


def with_input_row(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``input_row``, each row's 1-based position."""
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).alias("input_row"))


# ----------------------------------------------------------------------------------- words


def material_name(material_id: str | None) -> str:
    """The catalog's name of a material, or the id when the catalog does not know it."""
    if not material_id:
        return "unknown material"
    try:
        return load_catalog().material(material_id).display_name
    except UnknownMaterialError:
        return material_id


def country_label(iso3: str | None) -> str:
    return country_name(iso3) if iso3 else "—"


def shortened(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip(" ,") + "…"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def interval(row: dict[str, Any]) -> str:
    """``low-high`` of a scored row, or empty for scores written before intervals existed."""
    low, high = row.get("risk_score_low"), row.get("risk_score_high")
    if low is None or high is None:
        return ""
    return f"{percent(low)}-{percent(high)}"


def metric(value: float | None) -> str:
    return "—" if value is None else f"{value:.4f}"


def comparison(model_value: float | None, baseline_value: float | None, higher: bool) -> str:
    """How the model's metric compares with the baseline's, in words."""
    if model_value is None or baseline_value is None:
        return "—"
    difference = model_value - baseline_value
    if difference == 0:
        return "same"
    better = (difference > 0) == higher
    return f"{difference:+.4f} ({'better' if better else 'worse'})"


def cell_text(value: object) -> str:
    return "" if value is None else str(value)
