"""The public-events training panel: monthly flows, features as of each month, future labels.

A row is (material, supplier country, buyer country, month). Its features use only facts known
on the first day of the month; its label is 1 when a restrictive export measure covering that
flow takes effect within the following horizon. Labels read the future on purpose; features
never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.common import event_material_coverage, months_before
from riskengine.features.concentration import _dataset_preferences
from riskengine.features.export_controls import RESTRICTIVE
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import build_features
from riskengine.reference.loader import ReferenceData

DEFAULT_BUYER_COUNTRIES = ("JPN", "USA", "DEU", "KOR")
PANEL_START = date(2011, 1, 1)
HORIZON_MONTHS = 12
NOT_A_SUPPLIER = ("ROW", "WLD")


@dataclass(frozen=True)
class PanelWindow:
    """The months a panel covers and the horizon its labels look ahead."""

    start: date
    end: date
    horizon_months: int = HORIZON_MONTHS


def months_after(day: date, months: int) -> date:
    """The same day ``months`` months later (clipped to the month's last day)."""
    return months_before(day, -months)


def month_starts(start: date, end: date) -> list[date]:
    """First days of the months from ``start`` to ``end`` inclusive."""
    months = []
    current = date(start.year, start.month, 1)
    while current <= end:
        months.append(current)
        current = months_after(current, 1)
    return months


def reference_cutoff(reference: ReferenceData, today: date) -> date:
    """The last date the reference data has facts for (no later than ``today``).

    Labels for a month are complete only when its whole horizon lies before this date.
    """
    candidates = [
        reference.production["published"].max(),
        reference.policy_events["announced"].max(),
        reference.policy_events.filter(pl.col("effective") <= today)["effective"].max(),
        reference.listed_entities["listed_on"].max(),
    ]
    return min(max(day for day in candidates if day is not None), today)


def default_window(reference: ReferenceData, today: date) -> PanelWindow:
    """Monthly from 2011 to the last month whose label horizon is fully observed."""
    cutoff = reference_cutoff(reference, today)
    last = months_before(date(cutoff.year, cutoff.month, 1), HORIZON_MONTHS)
    return PanelWindow(start=PANEL_START, end=last)


def panel_spine(
    reference: ReferenceData, buyer_countries: tuple[str, ...] = DEFAULT_BUYER_COUNTRIES
) -> pl.DataFrame:
    """Every plausible flow: each catalog material from each country that produces it (in any
    production dataset the material can use) or has ever restricted it, to each buyer country."""
    catalog = load_catalog()
    producers = (
        _dataset_preferences()
        .join(
            reference.production.select(
                pl.col("material").alias("dataset"),
                pl.col("stage").alias("production_stage"),
                pl.col("country_iso3").alias("supplier_country"),
            ).unique(),
            on=["dataset", "production_stage"],
        )
        .select("material_id", "supplier_country")
    )
    restrictors = (
        event_material_coverage(reference.policy_events.lazy(), catalog)
        .join(
            reference.policy_events.lazy().select(
                "event_id", pl.col("country_iso3").alias("supplier_country")
            ),
            on="event_id",
        )
        .select("material_id", "supplier_country")
        .collect()
    )
    flows = (
        pl.concat([producers, restrictors])
        .unique()
        .filter(~pl.col("supplier_country").is_in(NOT_A_SUPPLIER))
        .join(pl.DataFrame({"buyer_country": list(buyer_countries)}), how="cross")
        .filter(pl.col("supplier_country") != pl.col("buyer_country"))
        .sort("material_id", "supplier_country", "buyer_country")
    )
    return flows.with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        pl.lit(None, dtype=pl.String).alias("supplier_name"),
        pl.lit(None, dtype=pl.String).alias("buyer_name"),
    )


def label_flows(
    spine: pl.DataFrame, reference: ReferenceData, *, as_of: date, horizon_months: int
) -> pl.Series:
    """1 when a restrictive export measure covering the flow takes effect in
    (``as_of``, ``as_of`` + horizon]; reads the whole reference on purpose (labels are the future).
    """
    horizon_end = months_after(as_of, horizon_months)
    events = reference.policy_events.lazy().filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & (pl.col("scope") == "flow")
        & (pl.col("effective") > as_of)
        & (pl.col("effective") <= horizon_end)
    )
    hits = (
        spine.lazy()
        .select(PAIR_KEY, "material_id", "supplier_country", "buyer_country")
        .join(event_material_coverage(events), on="material_id")
        .join(
            events.select(
                "event_id",
                pl.col("country_iso3").alias("supplier_country"),
                "target_country_iso3",
            ),
            on=["event_id", "supplier_country"],
        )
        .filter(
            pl.col("target_country_iso3").is_null()
            | (pl.col("target_country_iso3") == pl.col("buyer_country"))
        )
        .select(PAIR_KEY)
        .unique()
        .collect()
    )
    return spine[PAIR_KEY].is_in(hits[PAIR_KEY].implode()).cast(pl.Int8).alias("label")


def build_panel(reference: ReferenceData, window: PanelWindow) -> pl.DataFrame:
    """Features and labels for every flow and month of the window, sorted by month then pair."""
    spine = panel_spine(reference)
    frames = []
    for as_of in month_starts(window.start, window.end):
        features = build_features(spine, reference, as_of=as_of)
        label = label_flows(spine, reference, as_of=as_of, horizon_months=window.horizon_months)
        frames.append(features.with_columns(pl.lit(as_of).alias("as_of"), label))
    return pl.concat(frames)
