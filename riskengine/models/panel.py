"""The public-events training panel: monthly flows, features as of each month, future labels.

A row is (material, supplier country, buyer country, month). Its features use only facts known
on the first day of the month; its label is 1 when a restrictive export measure covering that
flow starts to disrupt it within the following horizon. Labels read the future on purpose;
features never do, and neither does the choice of rows.

What counts as a disruption (:func:`label_flows`):

- only export-side restrictive measures (licensing, quota, tax, ban) whose scope is the whole
  flow; proposals, statements, technology controls, relaxations, import bans and measures with
  no effective date never label;
- a measure covers the catalog materials its tags reach through the catalog tree, narrowed by
  the tag's and the event's stages (Vietnam's 2026 ban on unprocessed rare earths covers
  concentrate, not oxide);
- a destination-specific measure labels only flows to its target country;
- a measure disrupts from the later of its effective and announcement dates (a measure
  published a few days after it took effect could not disrupt anyone before it was known);
- an entity listing labels flows of materials the listing country controls (a restrictive
  export measure of that country in force on the listing date) to a buyer whose name matches
  the listed entity, from the listing date. The public panel has no buyer names, so listings
  never label it: they reach the model as the scoring hard rule and, for a team that trains on
  its own history, through that history's own disruptions.

Which flows exist in a month (:func:`panel_spine`): every catalog material from each country
that produces it in any production dataset the material can use (the structural universe of
producers), and flows of a country that announced or enacted any policy event on the material.
Each flow joins the panel on the day it first becomes known, never before: a producer flow from
the earliest publication of a production edition giving that country's figure for a dataset
and stage the material can use, a flow known through policy events from the first date one of
them was known (announced, or effective when no announcement is recorded), and a flow known
both ways from the earlier of the two. The set of rows therefore changes only when a dated fact
is published; a country that only ever appears through a later restriction (or a later
edition) would otherwise tell the model about the future by its presence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.builders import registry
from riskengine.features.common import event_known_from, event_material_coverage, months_before
from riskengine.features.concentration import _dataset_preferences
from riskengine.features.export_controls import RESTRICTIVE
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import build_features
from riskengine.names import LISTING_MATCH_THRESHOLD, match_names
from riskengine.reference.contracts import FAMILY_LINK_LIST
from riskengine.reference.loader import ReferenceData

DEFAULT_BUYER_COUNTRIES = ("JPN", "USA", "DEU", "KOR")
PANEL_START = date(2011, 1, 1)
HORIZON_MONTHS = 12
NOT_A_SUPPLIER = ("ROW", "WLD")
FLOW_KEYS = ("material_id", "supplier_country", "buyer_country")
FLOAT_DECIMALS = 6


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
    return min(max(cast(date, day) for day in candidates if day is not None), today)


def default_window(
    reference: ReferenceData, today: date, horizon_months: int = HORIZON_MONTHS
) -> PanelWindow:
    """Monthly from 2011 to the last month whose label horizon is fully observed."""
    cutoff = reference_cutoff(reference, today)
    last = months_before(date(cutoff.year, cutoff.month, 1), horizon_months)
    return PanelWindow(start=PANEL_START, end=last, horizon_months=horizon_months)


def disruptive_events(reference: ReferenceData) -> pl.LazyFrame:
    """Restrictive export measures on whole flows, with the date each starts to disrupt.

    ``disrupts_on`` is the later of the effective and announcement dates.
    """
    return (
        reference.policy_events.lazy()
        .filter(
            pl.col("measure").is_in(RESTRICTIVE)
            & (pl.col("scope") == "flow")
            & pl.col("effective").is_not_null()
        )
        .with_columns(pl.max_horizontal("effective", "announced").alias("disrupts_on"))
    )


def panel_spine(
    reference: ReferenceData, buyer_countries: tuple[str, ...] = DEFAULT_BUYER_COUNTRIES
) -> pl.DataFrame:
    """Every plausible flow, with ``known_from``: the date it joins the panel.

    ``known_from`` is the earlier of two dates, either of which may be missing: for a country
    with a production figure in a dataset and stage the material can use, the earliest
    ``published`` date of such a row; for a country with policy events on the material, the
    first date one of them was known (announced, or effective when no announcement is
    recorded). Flows whose only events carry no date at all never join. (:func:`flows_known_at`
    still reads a null ``known_from`` as always in the panel, for spines built elsewhere.)
    """
    catalog = load_catalog()
    producers = (
        _dataset_preferences()
        .join(
            reference.production.select(
                pl.col("material").alias("dataset"),
                pl.col("stage").alias("production_stage"),
                pl.col("country_iso3").alias("supplier_country"),
                "published",
            ),
            on=["dataset", "production_stage"],
        )
        .filter(pl.col("published").is_not_null())
        .group_by("material_id", "supplier_country")
        .agg(pl.col("published").min().alias("producer_known_from"))
    )
    restrictors = (
        event_material_coverage(reference.policy_events.lazy(), catalog)
        .join(
            reference.policy_events.lazy().select(
                "event_id",
                pl.col("country_iso3").alias("supplier_country"),
                event_known_from().alias("event_known_from"),
            ),
            on="event_id",
        )
        .filter(pl.col("event_known_from").is_not_null())
        .group_by("material_id", "supplier_country")
        .agg(pl.col("event_known_from").min())
        .collect()
    )
    flows = (
        producers.join(
            restrictors, on=["material_id", "supplier_country"], how="full", coalesce=True
        )
        .filter(~pl.col("supplier_country").is_in(NOT_A_SUPPLIER))
        .select(
            "material_id",
            "supplier_country",
            pl.min_horizontal("producer_known_from", "event_known_from").alias("known_from"),
        )
        .join(pl.DataFrame({"buyer_country": list(buyer_countries)}), how="cross")
        .filter(pl.col("supplier_country") != pl.col("buyer_country"))
        .sort(*FLOW_KEYS)
    )
    return flows.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        *FLOW_KEYS,
        pl.lit(None, dtype=pl.String).alias("supplier_name"),
        pl.lit(None, dtype=pl.String).alias("buyer_name"),
        "known_from",
    )


def flows_known_at(spine: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """The spine's flows that are in the panel at ``as_of`` (``known_from`` dropped)."""
    if "known_from" not in spine.columns:
        return spine
    known = pl.col("known_from").is_null() | (pl.col("known_from") <= as_of)
    return spine.filter(known).drop("known_from")


def flow_disruptions(spine: pl.DataFrame, reference: ReferenceData) -> pl.DataFrame:
    """Every (pair, event, date) where a restrictive measure starts to disrupt a spine flow.

    Reads the whole reference on purpose: this is the label side. Destination-specific
    measures match only flows to their target country.
    """
    events = disruptive_events(reference)
    return (
        spine.lazy()
        .select(PAIR_KEY, "material_id", "supplier_country", "buyer_country")
        .join(event_material_coverage(events), on="material_id")
        .join(
            events.select(
                "event_id",
                pl.col("country_iso3").alias("supplier_country"),
                "target_country_iso3",
                "disrupts_on",
            ),
            on=["event_id", "supplier_country"],
        )
        .filter(
            pl.col("target_country_iso3").is_null()
            | (pl.col("target_country_iso3") == pl.col("buyer_country"))
        )
        .select(PAIR_KEY, "event_id", "disrupts_on")
        .unique()
        .sort(PAIR_KEY, "disrupts_on", "event_id")
        .collect()
    )


def listing_disruptions(spine: pl.DataFrame, reference: ReferenceData) -> pl.DataFrame:
    """Every (pair, listing, date) where the buyer is listed by the supplier's country while
    that country controls the material.

    Only rows with a buyer name can match. A material is controlled when a restrictive export
    measure of the listing country covers it on the listing date.
    """
    named = spine.filter(pl.col("buyer_name").is_not_null())
    empty = pl.DataFrame(
        schema={PAIR_KEY: spine.schema[PAIR_KEY], "event_id": pl.String, "disrupts_on": pl.Date}
    )
    if named.is_empty():
        return empty
    # A family link row records who owns whom, not a listing: it disrupts nothing.
    entities = reference.listed_entities.filter(
        pl.col("list_name") != FAMILY_LINK_LIST
    ).with_row_index("entity_index")
    matches = []
    for (authority,), group in named.partition_by("supplier_country", as_dict=True).items():
        candidates = entities.filter(pl.col("listing_authority_iso3") == authority)
        if candidates.is_empty():
            continue
        for pair_id, (score, index) in zip(
            group[PAIR_KEY].to_list(),
            match_names(group["buyer_name"].to_list(), candidates["entity_name"].to_list()),
            strict=True,
        ):
            if index is not None and score >= LISTING_MATCH_THRESHOLD:
                entity = candidates.row(index, named=True)
                matches.append(
                    {
                        PAIR_KEY: pair_id,
                        "event_id": f"listing:{entity['list_name']}:{entity['entity_name']}",
                        "disrupts_on": entity["listed_on"],
                    }
                )
    if not matches:
        return empty
    listed = pl.DataFrame(matches, schema=empty.schema).join(
        named.select(PAIR_KEY, "material_id", "supplier_country"), on=PAIR_KEY
    )
    # Measures on the whole flow only, as for flow labels: a relaxation keeps the measure it
    # relaxes in `measure`, and technology or end-use controls do not control the material.
    controls = reference.policy_events.lazy().filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & pl.col("effective").is_not_null()
        & (pl.col("scope") == "flow")
    )
    controlled = (
        listed.lazy()
        .join(
            event_material_coverage(controls).rename({"event_id": "control_id"}),
            on="material_id",
        )
        .join(
            controls.select(
                pl.col("event_id").alias("control_id"),
                pl.col("country_iso3").alias("supplier_country"),
                "effective",
                "ended",
            ),
            on=["control_id", "supplier_country"],
        )
        .filter(
            (pl.col("effective") <= pl.col("disrupts_on"))
            & (pl.col("ended").is_null() | (pl.col("ended") > pl.col("disrupts_on")))
        )
        .select(PAIR_KEY, "event_id", "disrupts_on")
        .unique()
        .collect()
    )
    return controlled.sort(PAIR_KEY, "disrupts_on", "event_id")


def canonical_floats(frame: pl.DataFrame) -> pl.DataFrame:
    """Float columns rounded to :data:`FLOAT_DECIMALS` places.

    Sums computed by a parallel group-by come out in varying order, so their last bits differ
    from one run to the next (``material_hhi_wgi`` does today). Rounding far above that noise
    makes the panel, its fingerprint and the model trained on it reproducible; six decimals
    of an index or a share lose nothing a model could use.
    """
    return frame.with_columns(
        pl.col(name).round(FLOAT_DECIMALS)
        for name, dtype in frame.schema.items()
        if dtype == pl.Float64
    )


def _hits_within(disruptions: pl.DataFrame, *, as_of: date, horizon_months: int) -> pl.DataFrame:
    horizon_end = months_after(as_of, horizon_months)
    return disruptions.filter(
        (pl.col("disrupts_on") > as_of) & (pl.col("disrupts_on") <= horizon_end)
    )


def label_flows(
    spine: pl.DataFrame, reference: ReferenceData, *, as_of: date, horizon_months: int
) -> pl.Series:
    """1 when a flow is disrupted in (``as_of``, ``as_of`` + horizon], in spine order.

    Reads the whole reference on purpose (labels are the future); see the module docstring
    for what counts.
    """
    disruptions = pl.concat(
        [flow_disruptions(spine, reference), listing_disruptions(spine, reference)]
    )
    hits = _hits_within(disruptions, as_of=as_of, horizon_months=horizon_months)
    return spine[PAIR_KEY].is_in(hits[PAIR_KEY].implode()).cast(pl.Int8).alias("label")


def _monthly_labels(
    spine: pl.DataFrame, disruptions: pl.DataFrame, *, as_of: date, horizon_months: int
) -> pl.DataFrame:
    """``pair_id``, ``label`` and the ids of the events behind it, for one month's flows."""
    hits = (
        _hits_within(disruptions, as_of=as_of, horizon_months=horizon_months)
        .group_by(PAIR_KEY)
        .agg(pl.col("event_id").unique().sort().str.join(";").alias("label_events"))
    )
    return (
        spine.select(PAIR_KEY)
        .join(hits, on=PAIR_KEY, how="left", maintain_order="left")
        .select(
            PAIR_KEY,
            pl.col("label_events").is_not_null().cast(pl.Int8).alias("label"),
            "label_events",
        )
    )


def build_panel(
    reference: ReferenceData,
    window: PanelWindow,
    buyer_countries: tuple[str, ...] = DEFAULT_BUYER_COUNTRIES,
) -> pl.DataFrame:
    """Features and labels for every flow and month of the window, sorted by month then pair.

    Columns: the spine's, every model-input feature, ``as_of``, ``label`` and ``label_events``
    (the events behind a positive label, for audit; never a model input).
    """
    spine = panel_spine(reference, buyer_countries)
    disruptions = flow_disruptions(spine, reference)
    # Evidence columns (event ids, name screening) explain scores but never enter the model;
    # screening null buyer names month after month would double the build time.
    specs = [spec for spec in registry() if spec.model_input]
    frames = []
    for as_of in month_starts(window.start, window.end):
        flows = flows_known_at(spine, as_of)
        features = canonical_floats(build_features(flows, reference, as_of=as_of, specs=specs))
        labels = _monthly_labels(
            flows, disruptions, as_of=as_of, horizon_months=window.horizon_months
        )
        frames.append(
            features.with_columns(pl.lit(as_of).alias("as_of")).join(
                labels, on=PAIR_KEY, how="left", maintain_order="left"
            )
        )
    return pl.concat(frames)


def build_labels(
    reference: ReferenceData,
    window: PanelWindow,
    buyer_countries: tuple[str, ...] = DEFAULT_BUYER_COUNTRIES,
) -> pl.DataFrame:
    """The panel's rows and labels without features (fast: no feature is computed)."""
    spine = panel_spine(reference, buyer_countries)
    disruptions = flow_disruptions(spine, reference)
    frames = []
    for as_of in month_starts(window.start, window.end):
        flows = flows_known_at(spine, as_of)
        labels = _monthly_labels(
            flows, disruptions, as_of=as_of, horizon_months=window.horizon_months
        )
        frames.append(
            flows.select(PAIR_KEY, *FLOW_KEYS)
            .with_columns(pl.lit(as_of).alias("as_of"))
            .join(labels, on=PAIR_KEY, how="left", maintain_order="left")
        )
    return pl.concat(frames)


def summarise_labels(labels: pl.DataFrame) -> pl.DataFrame:
    """Rows and positives per year and per supplier country, with the events behind them.

    Columns: ``dimension`` (``year``, ``supplier_country`` or ``all``), ``value``, ``rows``,
    ``positives``, ``positive_rate`` and ``events`` (the distinct event ids that label them).
    """
    aggregations = [
        pl.len().cast(pl.Int64).alias("rows"),
        pl.col("label").cast(pl.Int64).sum().alias("positives"),
        pl.col("label_events")
        .str.split(";")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .unique()
        .sort()
        .alias("ids"),
    ]
    by_year = labels.group_by(pl.col("as_of").dt.year().cast(pl.String).alias("value")).agg(
        aggregations
    )
    by_country = labels.group_by(pl.col("supplier_country").alias("value")).agg(aggregations)
    overall = labels.group_by(pl.lit("all").alias("value")).agg(aggregations)
    return pl.concat(
        [
            by_year.sort("value").with_columns(pl.lit("year").alias("dimension")),
            by_country.sort(["positives", "value"], descending=[True, False]).with_columns(
                pl.lit("supplier_country").alias("dimension")
            ),
            overall.with_columns(pl.lit("all").alias("dimension")),
        ]
    ).select(
        "dimension",
        "value",
        "rows",
        "positives",
        (pl.col("positives") / pl.col("rows")).alias("positive_rate"),
        pl.col("ids").list.join(";").alias("events"),
    )
