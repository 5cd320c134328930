"""The report's plotly figures: the heatmap, the product exposure and the score history.

Each chart comes back as plotly's own HTML fragment (a div with a fixed id and the script that
draws it, no plotly.js: the page embeds that once), which the template inserts as is. Text
from the data reaches plotly.js through :func:`chart_text`, because plotly.js renders a subset
of HTML in labels and supplier master data is untrusted.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from riskengine.explain import country_name
from riskengine.report.common import (
    BAND_COLOURS,
    EXPOSURE_ID,
    HEATMAP_ID,
    HISTORY_ID,
    HISTORY_LINES,
    MAX_ANNOTATED_CELLS,
    TimelineProduct,
    cell_text,
    material_name,
    percent,
    shortened,
)
from riskengine.schemas import STATUS_SCORED

if TYPE_CHECKING:
    import plotly.graph_objects as go

PLOT_CONFIG = {"displaylogo": False, "responsive": True}
PLOT_TEMPLATE = "plotly_white"
PLOT_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
DAY_MILLISECONDS = 86_400_000
SCENARIO_DAYS_COLOUR = "#d9dee4"
TIMELINE_STATUS_WORDS = {
    "short": "runs short",
    "covered": "hit by the scenario; the stock lasts",
    "unaffected": "not hit by the scenario",
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


def chart_text(text: object) -> str:
    """Text for a plotly label: plotly.js renders a subset of HTML in labels, so escape it, but
    it decodes only numeric entities and a few named ones (not ``&quot;``)."""
    return html.escape(cell_text(text), quote=True).replace("&quot;", "&#34;")


@dataclass(frozen=True)
class HistoryChart:
    """The history chart and what its note says about it."""

    html: str
    lines_shown: int
    lines_total: int
    quarters: int
    """How many of the points are quarter starts."""
    as_of_points: int
    """How many points are other dates (the scores' own as-of date, when it starts no quarter)."""


def heatmap_html(scores: pl.DataFrame, cutoffs: dict[str, float]) -> str | None:
    """Highest score per material and supplier country; ``None`` when nothing was scored."""
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
        return None
    materials = _ranked_keys(cells, "material_id")
    countries = _ranked_keys(cells, "supplier_country_iso3")
    material_index = {material: row for row, material in enumerate(materials)}
    country_index = {country: column for column, country in enumerate(countries)}
    country_labels = [chart_text(f"{country_name(code)} ({code})") for code in countries]
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
                chart_text(shortened(f"{country_name(code)}", 18) + f" ({code})")
                for code in countries
            ],
            countries,
        ),
        y=_unique_labels([chart_text(material_name(id_)) for id_ in materials], materials),
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
    return _figure_html(figure, HEATMAP_ID)


def exposure_html(products: pl.DataFrame, cutoffs: dict[str, float]) -> str:
    """Horizontal bars of the products' exposure, coloured by their risk score.

    ``products`` are the scored products to chart, most exposed first, with ``input_row``.
    """
    import plotly.graph_objects as go

    names = [chart_text(name) for name in products["product"].cast(pl.String).to_list()]
    details = [
        [
            percent(risk),
            chart_text(material_name(material) if material else "—"),
            chart_text(supplier or "—"),
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
    return _figure_html(figure, EXPOSURE_ID)


def history_chart(history: pl.DataFrame, cutoffs: dict[str, float]) -> HistoryChart | None:
    """One line per pair over the dates in ``history``; ``None`` when it has no usable point.

    A date on a quarter's first day is labelled with its quarter; any other date (the scores'
    own as-of date, the last point) with the date itself.
    """
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
        return None
    latest = (
        points.group_by("pair_label")
        .agg(pl.col("risk_score").sort_by("quarter").last().alias("latest"))
        .sort(["latest", "pair_label"], descending=[True, False])
    )
    labels = latest["pair_label"].to_list()
    shown = labels[:HISTORY_LINES]
    dates = points["quarter"].unique().sort().to_list()
    quarter_days = [day for day in dates if day.day == 1 and day.month % 3 == 1]

    import plotly.graph_objects as go

    figure = go.Figure()
    for label in shown:
        line = points.filter(pl.col("pair_label") == label)
        figure.add_trace(
            go.Scatter(
                x=[day.isoformat() for day in line["quarter"].to_list()],
                y=line["risk_score"].to_list(),
                mode="lines+markers",
                name=chart_text(label),
                hovertemplate="%{fullData.name}<br>%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>",
            )
        )
    highest = max(points.filter(pl.col("pair_label").is_in(shown))["risk_score"].to_list())
    top = min(1.0, max(0.1, highest * 1.15))
    for threshold, band in band_thresholds(cutoffs):
        if threshold < top:
            figure.add_hline(
                y=threshold,
                line={"dash": "dot", "width": 1, "color": BAND_COLOURS[band]},
                annotation={"text": band, "font": {"color": BAND_COLOURS[band]}},
                annotation_position="top left",
            )
    other_dates = len(dates) - len(quarter_days)
    figure.update_layout(
        height=520,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={
            "tickvals": [day.isoformat() for day in dates],
            "ticktext": [
                f"{day.year} Q{(day.month - 1) // 3 + 1}"
                if day in quarter_days
                else f"as of {day.isoformat()}"
                for day in dates
            ],
            "title": {
                "text": "scored as of the quarter's first day"
                + (" (and as of the scores' own date)" if other_dates else "")
            },
        },
        yaxis={"range": [0.0, top], "tickformat": ".0%", "title": {"text": "risk score"}},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0.0},
    )
    return HistoryChart(
        html=_figure_html(figure, HISTORY_ID),
        lines_shown=len(shown),
        lines_total=len(labels),
        quarters=len(quarter_days),
        as_of_points=other_dates,
    )


def stress_timeline_html(
    products: list[TimelineProduct], start: date, end: date, div_id: str
) -> str:
    """One scenario's products × days: a grey bar over the scenario's days for each product and
    a red one over each run of short days, from its first day to its last (both included), so
    exactly the short days are marked. ``end`` is the day deliveries resume (not drawn)."""
    import plotly.graph_objects as go

    labels = _unique_labels(
        [chart_text(product.product) for product in products],
        [f"{chart_text(product.product)} #{row}" for row, product in enumerate(products, 1)],
    )
    last_day = end - timedelta(days=1)
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            y=labels,
            base=[start.isoformat()] * len(products),
            x=[(end - start).days * DAY_MILLISECONDS] * len(products),
            orientation="h",
            name="scenario days",
            marker={"color": SCENARIO_DAYS_COLOUR},
            customdata=[
                [
                    chart_text(TIMELINE_STATUS_WORDS.get(product.status, product.status)),
                    "—" if product.days_short is None else str(product.days_short),
                    chart_text(product.binding),
                ]
                for product in products
            ],
            hovertemplate=(
                f"%{{y}}<br>scenario {start.isoformat()} to {last_day.isoformat()}: "
                "%{customdata[0]}<br>days short: %{customdata[1]}"
                "<br>binding: %{customdata[2]}<extra></extra>"
            ),
        )
    )
    runs = [
        (label, product, first, last)
        for label, product in zip(labels, products, strict=True)
        for first, last in product.short_periods
    ]
    if runs:
        figure.add_trace(
            go.Bar(
                y=[label for label, _, _, _ in runs],
                base=[first.isoformat() for _, _, first, _ in runs],
                x=[((last - first).days + 1) * DAY_MILLISECONDS for _, _, first, last in runs],
                orientation="h",
                width=0.6,
                name="short days",
                marker={"color": BAND_COLOURS["critical"]},
                customdata=[
                    [
                        f"short {first.isoformat()} to {last.isoformat()} "
                        f"({(last - first).days + 1} days)",
                        chart_text(product.binding),
                    ]
                    for _, product, first, last in runs
                ],
                hovertemplate=(
                    "%{y}<br>%{customdata[0]}<br>binding: %{customdata[1]}<extra></extra>"
                ),
            )
        )
    figure.update_layout(
        barmode="overlay",
        height=max(240, 130 + 30 * len(products)),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={
            "type": "date",
            "range": [start.isoformat(), end.isoformat()],
            "title": {"text": "day of the scenario (short days in red)"},
        },
        yaxis={
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "autorange": "reversed",
            "automargin": True,
        },
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0},
    )
    return _figure_html(figure, div_id)


def plotly_js() -> str:
    """The plotly.js bundle, safe to place inside a script element."""
    import plotly.offline

    # A literal "</script" inside the bundle would end the tag early; it has none today.
    return plotly.offline.get_plotlyjs().replace("</script", "<\\/script")


def plotly_js_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


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
    return labels if len(set(labels)) == len(labels) else [chart_text(key) for key in keys]


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
