"""The report's impact sections as plain data for the template (text, never HTML): the scenario
timelines of ``riskengine stress``, the alternatives of ``riskengine alternatives`` and the
changes of ``riskengine diff``.

Each reader takes the command's output as read from its file (text cells), checks that it is
that command's output and reads its numbers and dates with the shared cell parser, so a bad
cell stops the report with the file, row and column named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from riskengine.errors import UserInputError
from riskengine.impact.diff import CAUSE_SEPARATOR
from riskengine.impact.stress import (
    PERIOD_SEPARATOR,
    STRESS_COVERED,
    STRESS_SHORT,
    STRESS_UNAFFECTED,
)
from riskengine.io.cells import parse_date, parse_decimal
from riskengine.report import charts
from riskengine.report.common import (
    ALTERNATIVE_ROWS,
    CAUSES_SHOWN,
    CHANGE_ROWS,
    FIRST_TO_STOP,
    REQUIRED_ALTERNATIVES_COLUMNS,
    REQUIRED_CHANGES_COLUMNS,
    REQUIRED_STRESS_COLUMNS,
    STRESS_TIMELINE_ID,
    TIMELINE_PRODUCTS,
    TimelineProduct,
    cell_text,
    country_label,
    percent,
    require_output,
)
from riskengine.report.tables import NUMBER, Cell, Table

STATUS_ORDER = {STRESS_SHORT: 0, STRESS_COVERED: 1, STRESS_UNAFFECTED: 2}
#: ``diff`` joins a cause's sources with " ; " and writes each source's address in its text.
URL = re.compile(r"https?://[^\s<>\"']+")
URL_TRAILING = ".,;:)]"


@dataclass(frozen=True)
class ScenarioSection:
    """One scenario of the stress file: its timeline chart and the first products to stop."""

    name: str
    start: date
    end: date
    """The day after the last measure ends (deliveries resume)."""
    counts: list[tuple[str, int]]
    chart: str | None
    charted: int
    products: int
    first_to_stop: Table
    short_total: int


def _parsed(
    frame: pl.DataFrame, *, numbers: tuple[str, ...], dates: tuple[str, ...], source: str
) -> pl.DataFrame:
    """``frame`` with ``numbers`` as Float64 and ``dates`` as Date; a bad cell is an error naming
    the file, the row and the column."""
    columns = []
    for names, parse in ((numbers, parse_decimal), (dates, parse_date)):
        for name in names:
            if name not in frame.columns:
                continue
            values, errors = parse(frame[name], column=name, source=source)
            for row, error in enumerate(errors.to_list(), start=1):
                if error is not None:
                    # The parser's message starts with the file; the row goes after it.
                    detail = error.removeprefix(f"{source}: ")
                    raise UserInputError(f"{source} row {row}: {detail}")
            columns.append(values.alias(name))
    return frame.with_columns(columns)


def _periods(text: str | None, *, row: int, source: str) -> list[tuple[date, date]]:
    """The runs of short days of one ``short_periods`` cell."""
    periods = []
    for part in (text or "").split(PERIOD_SEPARATOR.strip()):
        if not part.strip():
            continue
        try:
            first, last = (date.fromisoformat(day.strip()) for day in part.split("/"))
        except ValueError:
            raise UserInputError(
                f"{source} row {row}: column 'short_periods': {part.strip()!r} is not a "
                "period of dates (YYYY-MM-DD/YYYY-MM-DD)"
            ) from None
        if last < first:
            raise UserInputError(
                f"{source} row {row}: column 'short_periods': {part.strip()!r} ends before it "
                "starts"
            )
        periods.append((first, last))
    return periods


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _binding(row: dict[str, Any]) -> str:
    if not row["binding_material"]:
        return "—"
    supplier = row["binding_supplier"]
    country = row["binding_supplier_country_iso3"]
    source = f" from {supplier}" if supplier else ""
    return f"{row['binding_material']}{source}" + (
        f" ({country_label(country)})" if country else ""
    )


def stress_sections(stress: pl.DataFrame, *, source: str) -> list[ScenarioSection]:
    """Per scenario (in file order): the timeline of products × days with the short days
    marked, and the table of the first products to stop.

    Raises
    ------
    MissingColumnsError
        When ``stress`` is not an output of ``riskengine stress``.
    UserInputError
        A bad number, date or short period (file, row and column named).
    """
    require_output(stress, REQUIRED_STRESS_COLUMNS, source, "stress")
    rows = _parsed(
        stress.with_row_index("file_row", offset=1),
        numbers=("days_short", "units_at_risk", "value_at_risk"),
        dates=("first_short_date", "last_short_date", "scenario_start", "scenario_end"),
        source=source,
    )
    sections = []
    for index, name in enumerate(rows["scenario"].unique(maintain_order=True).to_list(), start=1):
        scenario = rows.filter(pl.col("scenario") == name)
        starts = scenario["scenario_start"].drop_nulls().unique().to_list()
        ends = scenario["scenario_end"].drop_nulls().unique().to_list()
        if len(starts) != 1 or len(ends) != 1:
            raise UserInputError(
                f"{source}: scenario {name!r} needs one scenario_start and one scenario_end "
                f"(found {len(starts)} and {len(ends)})"
            )
        sections.append(_scenario_section(scenario, index, starts[0], ends[0], source))
    return sections


def _scenario_section(
    scenario: pl.DataFrame, index: int, start: date, end: date, source: str
) -> ScenarioSection:
    statuses = scenario["status"].cast(pl.String).fill_null("").to_list()
    counts = [(status, statuses.count(status)) for status in dict.fromkeys(sorted(statuses))]
    # Short products first (earliest to stop, longest short), then covered, then unaffected;
    # refused and unscored products have no timeline.
    ordered = (
        scenario.filter(pl.col("status").is_in(list(STATUS_ORDER)))
        .with_columns(pl.col("status").replace_strict(STATUS_ORDER, default=9).alias("order"))
        .sort(
            ["order", "first_short_date", "days_short", "file_row"],
            descending=[False, False, True, False],
            nulls_last=True,
        )
    )
    timeline = [
        TimelineProduct(
            product=cell_text(row["product"]),
            status=row["status"],
            short_periods=_periods(row["short_periods"], row=row["file_row"], source=source),
            binding=_binding(row),
            days_short=None if row["days_short"] is None else int(row["days_short"]),
        )
        for row in ordered.head(TIMELINE_PRODUCTS).iter_rows(named=True)
    ]
    short = ordered.filter(pl.col("status") == STRESS_SHORT)
    table_rows: list[list[Cell]] = [
        [
            (str(rank), NUMBER),
            (cell_text(row["product"]), ""),
            (cell_text(row["first_short_date"]), NUMBER),
            (cell_text(row["last_short_date"]), NUMBER),
            (_number(row["days_short"]), NUMBER),
            (_binding(row), ""),
            (_number(row["units_at_risk"]), NUMBER),
            (_number(row["value_at_risk"]), NUMBER),
            (cell_text(row["still_flowing"]), ""),
        ]
        for rank, row in enumerate(short.head(FIRST_TO_STOP).iter_rows(named=True), start=1)
    ]
    first_to_stop = Table(
        [
            "#",
            "Product",
            "First short day",
            "Last short day",
            "Days short",
            "Binding material and supplier",
            "Units at risk",
            "Value at risk",
            "Still flowing",
        ],
        table_rows,
    )
    chart = (
        charts.stress_timeline_html(timeline, start, end, f"{STRESS_TIMELINE_ID}-{index}")
        if timeline
        else None
    )
    return ScenarioSection(
        name=cell_text(scenario["scenario"][0]),
        start=start,
        end=end,
        counts=counts,
        chart=chart,
        charted=len(timeline),
        products=scenario.height,
        first_to_stop=first_to_stop,
        short_total=short.height,
    )


def alternatives_tables(alternatives: pl.DataFrame, *, source: str) -> dict[str, Any]:
    """The candidate rows (in the file's order: best improvement first) and the flagged pairs
    with no candidate, with why.

    Raises
    ------
    MissingColumnsError
        When ``alternatives`` is not an output of ``riskengine alternatives``.
    UserInputError
        A bad number (file, row and column named).
    """
    require_output(alternatives, REQUIRED_ALTERNATIVES_COLUMNS, source, "alternatives")
    rows = _parsed(
        alternatives,
        numbers=(
            "pair_risk_score",
            "pair_share",
            "production_share",
            "governance",
            "candidate_risk_score",
            "improvement",
        ),
        dates=(),
        source=source,
    )
    has_candidate = pl.col("candidate_country_iso3").fill_null("") != ""
    candidates = rows.filter(has_candidate)
    shown = [
        {
            "pair": f"{cell_text(row['material'])} — {cell_text(row['supplier']) or 'unnamed'} "
            f"({country_label(row['supplier_country_iso3'])})",
            "pair_score": percent(row["pair_risk_score"]),
            "pair_band": row["pair_risk_band"],
            "pair_share": percent(row.get("pair_share")),
            "candidate": f"{cell_text(row['candidate_country'])} ({row['candidate_country_iso3']})",
            "production_share": percent(row["production_share"]),
            "production_basis": cell_text(row.get("production_basis")),
            "governance": _number(row["governance"], 1),
            "measures": cell_text(row["measures_in_force"]),
            "candidate_score": percent(row["candidate_risk_score"]),
            "candidate_band": row["candidate_risk_band"],
            "improvement": percent(row["improvement"]),
            "product": cell_text(row.get("product")) or "—",
        }
        for row in candidates.head(ALTERNATIVE_ROWS).iter_rows(named=True)
    ]
    without = rows.filter(~has_candidate)
    no_candidate = [
        f"{cell_text(row['material'])} — {cell_text(row['supplier']) or 'unnamed'} "
        f"({country_label(row['supplier_country_iso3'])}): {cell_text(row['note'])}"
        for row in without.iter_rows(named=True)
    ]
    return {
        "rows": shown,
        "total": candidates.height,
        "pairs": candidates.select("material", "supplier", "supplier_country_iso3").unique().height,
        "no_candidate": no_candidate,
    }


def source_parts(text: str) -> list[tuple[str, str | None]]:
    """A source's text cut into (text, address) parts: an address is an http(s) URL in the
    text, linked by the page; the rest stays text (address ``None``)."""
    parts: list[tuple[str, str | None]] = []
    position = 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(URL_TRAILING)
        if match.start() > position:
            parts.append((text[position : match.start()], None))
        parts.append((url, url))
        position = match.start() + len(url)
    if position < len(text):
        parts.append((text[position:], None))
    return parts


def change_rows(changes: pl.DataFrame, *, source: str) -> dict[str, Any]:
    """One dict per changed pair (in the file's order), each cause with its kind and sources.

    Raises
    ------
    MissingColumnsError
        When ``changes`` is not an output of ``riskengine diff``.
    UserInputError
        A bad number (file, row and column named).
    """
    require_output(changes, REQUIRED_CHANGES_COLUMNS, source, "diff")
    rows = _parsed(
        changes,
        numbers=("old_risk_score", "new_risk_score", "delta"),
        dates=(),
        source=source,
    )
    shown = []
    for row in rows.head(CHANGE_ROWS).iter_rows(named=True):
        causes = (row["causes"] or "").split(CAUSE_SEPARATOR)
        kinds = (row["cause_kinds"] or "").split(CAUSE_SEPARATOR)
        sources = (row["sources"] or "").split(CAUSE_SEPARATOR)
        listed = [
            {
                "kind": kinds[index] if index < len(kinds) else "",
                "text": cause,
                "sources": source_parts(sources[index]) if index < len(sources) else [],
            }
            for index, cause in enumerate(causes)
            if cause.strip()
        ]
        shown.append(
            {
                "change": cell_text(row["change"]),
                "material": cell_text(row["material"]),
                "supplier": cell_text(row["supplier"]) or "—",
                "supplier_country": country_label(row["supplier_country_iso3"]),
                "buyer_country": country_label(row["buyer_country_iso3"]),
                "old_score": percent(row["old_risk_score"]),
                "new_score": percent(row["new_risk_score"]),
                "delta": "—" if row["delta"] is None else f"{row['delta']:+.1%}",
                "old_band": row["old_risk_band"],
                "new_band": row["new_risk_band"],
                "causes": listed[:CAUSES_SHOWN],
                "more_causes": listed[CAUSES_SHOWN:],
            }
        )
    dates = [
        sorted(set(rows[name].cast(pl.String).drop_nulls().to_list()))
        for name in ("old_as_of", "new_as_of")
        if name in rows.columns
    ]
    return {
        "rows": shown,
        "total": rows.height,
        "old_as_of": ", ".join(dates[0]) if dates else "",
        "new_as_of": ", ".join(dates[1]) if len(dates) > 1 else "",
    }
