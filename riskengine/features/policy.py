"""Country policy changes: restrictions in force and to date, momentum of new restrictions, and
measures announced, not yet in force.

Only export-side restrictive measures (licensing, quota, tax, ban) whose scope is the whole flow
count as restrictions; proposals, statements, technology controls and import bans do not.

Model inputs change only when a dated fact changes (a measure is announced, takes effect or
ends): counts of measures in force or to date. Trailing-window counts and days since the last
restriction drift with the calendar alone, so they are kept as evidence, not model inputs.
"""

from __future__ import annotations

import functools
from datetime import date

import polars as pl

from riskengine.features.common import (
    event_material_coverage,
    months_before,
    ordered_sum,
    severity_expression,
)
from riskengine.features.export_controls import RESTRICTIVE, _flow_measures, measures_in_force
from riskengine.features.registry import PAIR_KEY, feature

MOMENTUM_MONTHS = 24


def _new_restrictions(policy_events: pl.LazyFrame, *, as_of: date, months: int) -> pl.LazyFrame:
    window_start = months_before(as_of, months)
    return policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & (pl.col("scope") == "flow")
        & (pl.col("effective") > window_start)
        & (pl.col("effective") <= as_of)
    )


def _count(spine: pl.LazyFrame, counts: pl.LazyFrame, on: str, name: str) -> pl.LazyFrame:
    return (
        spine.select(PAIR_KEY, on)
        .join(counts, on=on, how="left")
        .select(PAIR_KEY, pl.col("count").fill_null(0).cast(pl.Int32).alias(name))
    )


def _supplier_country_momentum(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date, months: int
) -> pl.LazyFrame:
    counts = (
        _new_restrictions(policy_events, as_of=as_of, months=months)
        .group_by(pl.col("country_iso3").alias("supplier_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "supplier_country", f"supplier_country_new_restrictions_{months}m")


@feature(
    family="policy",
    description="New restrictive export measures by the supplier country that took effect in the "
    "trailing 12 months (any material)",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def supplier_country_new_restrictions_12m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _supplier_country_momentum(spine, policy_events, as_of=as_of, months=12)


@feature(
    family="policy",
    description="New restrictive export measures by the supplier country that took effect in the "
    "trailing 24 months (any material)",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def supplier_country_new_restrictions_24m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _supplier_country_momentum(spine, policy_events, as_of=as_of, months=24)


@feature(
    family="policy",
    description="New restrictive export measures by the supplier country that took effect in the "
    "trailing 60 months (any material)",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def supplier_country_new_restrictions_60m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _supplier_country_momentum(spine, policy_events, as_of=as_of, months=60)


@feature(
    family="policy",
    description="New restrictive export measures on this material by any country that took "
    "effect in the trailing 24 months",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def material_new_restrictions_24m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    recent = _new_restrictions(policy_events, as_of=as_of, months=MOMENTUM_MONTHS)
    counts = event_material_coverage(recent).group_by("material_id").agg(pl.len().alias("count"))
    return _count(spine, counts, "material_id", "material_new_restrictions_24m")


def _flow_restrictions_in_force(policy_events: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    return measures_in_force(policy_events, as_of=as_of).filter(pl.col("scope") == "flow")


@feature(
    family="policy",
    description="Restrictive export measures by the supplier country in force at as-of (any "
    "material, any destination)",
    sources=("policy_events",),
    dtype=pl.Int32,
)
def supplier_country_measures_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    counts = (
        _flow_restrictions_in_force(policy_events, as_of=as_of)
        .group_by(pl.col("country_iso3").alias("supplier_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "supplier_country", "supplier_country_measures_in_force")


@feature(
    family="policy",
    description="Restrictive export measures by the supplier country that took effect on or "
    "before as-of, since the data start (any material, ended or not)",
    sources=("policy_events",),
    dtype=pl.Int32,
)
def supplier_country_restrictions_to_date(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    counts = (
        policy_events.filter(
            pl.col("measure").is_in(RESTRICTIVE)
            & (pl.col("scope") == "flow")
            & (pl.col("effective") <= as_of)
        )
        .group_by(pl.col("country_iso3").alias("supplier_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "supplier_country", "supplier_country_restrictions_to_date")


@feature(
    family="policy",
    description="Restrictive export measures on this material by any country in force at as-of",
    sources=("policy_events",),
    dtype=pl.Int32,
)
def material_measures_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    in_force = _flow_restrictions_in_force(policy_events, as_of=as_of)
    counts = event_material_coverage(in_force).group_by("material_id").agg(pl.len().alias("count"))
    return _count(spine, counts, "material_id", "material_measures_in_force")


def _announced(policy_events: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    return policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & (pl.col("effective").is_null() | (pl.col("effective") > as_of))
        & pl.col("ended").is_null()
    ).with_columns(severity_expression())


@feature(
    family="policy",
    description="Most severe measure on this flow announced but not yet in force (0-3)",
    sources=("policy_events",),
    dtype=pl.Int8,
)
def announced_measure_severity(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine, _announced(policy_events, as_of=as_of), destination="any", scopes=("flow",)
    )
    worst = matched.group_by(PAIR_KEY).agg(pl.col("severity").max().alias("worst"))
    return (
        spine.select(PAIR_KEY)
        .join(worst, on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY, pl.col("worst").fill_null(0).cast(pl.Int8).alias("announced_measure_severity")
        )
    )


@feature(
    family="policy",
    description="Evidence: the event id of the most severe measure announced on this flow",
    sources=("policy_events",),
    dtype=pl.String,
    model_input=False,
)
def announced_event(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine, _announced(policy_events, as_of=as_of), destination="any", scopes=("flow",)
    )
    first = (
        matched.sort([PAIR_KEY, "severity", "event_id"], descending=[False, True, False])
        .group_by(PAIR_KEY, maintain_order=True)
        .agg(pl.col("event_id").first().alias("announced_event"))
    )
    return spine.select(PAIR_KEY).join(first, on=PAIR_KEY, how="left")


@feature(
    family="policy",
    description="Days since the most recent restrictive measure on this flow took effect "
    "(null when there has been none)",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def days_since_last_restriction(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    started = policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE) & (pl.col("effective") <= as_of)
    )
    matched = _flow_measures(spine, started, destination="any", scopes=("flow",))
    latest = matched.group_by(PAIR_KEY).agg(pl.col("effective").max().alias("latest"))
    return (
        spine.select(PAIR_KEY)
        .join(latest, on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY,
            (pl.lit(as_of) - pl.col("latest"))
            .dt.total_days()
            .cast(pl.Int32)
            .alias("days_since_last_restriction"),
        )
    )


DECAY_HALF_LIFE_DAYS = 365.0


@feature(
    family="policy",
    description="Severity of the restrictive measures that took effect on this flow, each halved "
    "for every year since it took effect (summed; 0 when none)",
    sources=("policy_events",),
    dtype=pl.Float64,
    model_input=False,
)
def decayed_restriction_severity(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    started = policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE) & (pl.col("effective") <= as_of)
    ).with_columns(severity_expression())
    matched = _flow_measures(spine, started, destination="any", scopes=("flow",))
    age_days = (pl.lit(as_of) - pl.col("effective")).dt.total_days()
    decayed = matched.group_by(PAIR_KEY).agg(
        ordered_sum(pl.col("severity") * (0.5 ** (age_days / DECAY_HALF_LIFE_DAYS))).alias(
            "decayed"
        )
    )
    return (
        spine.select(PAIR_KEY)
        .join(decayed, on=PAIR_KEY, how="left")
        .select(PAIR_KEY, pl.col("decayed").fill_null(0.0).alias("decayed_restriction_severity"))
    )


@feature(
    family="policy",
    description="Measures by any country aimed at the buyer's country (export restrictions, bans "
    "on its military end users, listings of its entities) that took effect in the trailing 24 "
    "months: political tension",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def buyer_country_targeted_measures_24m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    window_start = months_before(as_of, MOMENTUM_MONTHS)
    counts = (
        policy_events.filter(
            pl.col("target_country_iso3").is_not_null()
            & pl.col("measure").is_in([*RESTRICTIVE, "entity_listing"])
            & (pl.col("effective") > window_start)
            & (pl.col("effective") <= as_of)
        )
        .group_by(pl.col("target_country_iso3").alias("buyer_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "buyer_country", "buyer_country_targeted_measures_24m")


@feature(
    family="policy",
    description="Measures by any country aimed at the buyer's country (export restrictions, bans "
    "on its military end users, listings of its entities) in force at as-of",
    sources=("policy_events",),
    dtype=pl.Int32,
)
def buyer_country_targeted_measures_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    counts = (
        policy_events.filter(
            pl.col("target_country_iso3").is_not_null()
            & pl.col("measure").is_in([*RESTRICTIVE, "entity_listing"])
            & (pl.col("effective") <= as_of)
            & (pl.col("ended").is_null() | (pl.col("ended") > as_of))
        )
        .group_by(pl.col("target_country_iso3").alias("buyer_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "buyer_country", "buyer_country_targeted_measures_in_force")


@functools.cache
def ore_of() -> pl.DataFrame:
    """Each catalog material with the ore or concentrate materials of its commodity lineage.

    Cached: it depends only on the shipped catalog, and a training builds features for every
    month of its panel."""
    from riskengine.catalog import load_catalog

    catalog = load_catalog()
    return pl.DataFrame(
        [
            {"material_id": material_id, "ore_material_id": ore_id}
            for material_id in catalog.material_ids
            for ore_id in catalog.material_ids
            if catalog.material(ore_id).stage == "ore_concentrate"
            and catalog.material(ore_id).primary_commodity
            in catalog.commodity_lineage(catalog.material(material_id).primary_commodity)
        ],
        schema={"material_id": pl.String, "ore_material_id": pl.String},
    )


def _banned_ores(policy_events: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    """(ore material, banning country) for every export ban to all destinations in force."""
    bans = policy_events.filter(
        (pl.col("measure") == "export_ban")
        & (pl.col("scope") == "flow")
        & pl.col("target_country_iso3").is_null()
        & (pl.col("effective") <= as_of)
        & (pl.col("ended").is_null() | (pl.col("ended") > as_of))
    )
    return (
        event_material_coverage(bans)
        .join(bans.select("event_id", pl.col("country_iso3").alias("banning")), on="event_id")
        .select(pl.col("material_id").alias("ore_material_id"), "banning")
        .unique()
    )


@feature(
    family="policy",
    description="The supplier country bans exports of the unprocessed form (ore, concentrate) of "
    "the material's commodity: a push to process at home that reaches processed stages too",
    sources=("policy_events",),
    dtype=pl.Boolean,
)
def unprocessed_export_ban_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    hits = (
        spine.select(PAIR_KEY, "material_id", "supplier_country")
        .join(ore_of().lazy(), on="material_id")
        .join(
            _banned_ores(policy_events, as_of=as_of),
            left_on=["ore_material_id", "supplier_country"],
            right_on=["ore_material_id", "banning"],
        )
        .select(PAIR_KEY)
        .unique()
        .with_columns(pl.lit(True).alias("hit"))
    )
    return (
        spine.select(PAIR_KEY)
        .join(hits, on=PAIR_KEY, how="left")
        .select(PAIR_KEY, pl.col("hit").fill_null(False).alias("unprocessed_export_ban_in_force"))
    )


@feature(
    family="policy",
    description="Other countries that ban exports of the unprocessed form of the material's "
    "commodity, in force: resource nationalism spreads among producers of one commodity "
    "(Indonesia nickel 2020, Zimbabwe and Namibia lithium 2022-23, Malaysia rare earths 2024)",
    sources=("policy_events",),
    dtype=pl.Int32,
)
def peer_unprocessed_bans_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    counts = (
        spine.select(PAIR_KEY, "material_id", "supplier_country")
        .join(ore_of().lazy(), on="material_id")
        .join(_banned_ores(policy_events, as_of=as_of), on="ore_material_id")
        .filter(pl.col("banning") != pl.col("supplier_country"))
        .group_by(PAIR_KEY)
        .agg(pl.col("banning").n_unique().alias("count"))
    )
    return (
        spine.select(PAIR_KEY)
        .join(counts, on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY,
            pl.col("count").fill_null(0).cast(pl.Int32).alias("peer_unprocessed_bans_in_force"),
        )
    )


@feature(
    family="policy",
    description="Other supply measures by the supplier country in the trailing 24 months that "
    "are not export restrictions (proposals, statements, import bans, non-state disruptions)",
    sources=("policy_events",),
    dtype=pl.Int32,
    model_input=False,
)
def supplier_country_other_measures_24m(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    window_start = months_before(as_of, MOMENTUM_MONTHS)
    known_from = pl.coalesce("effective", "announced")
    counts = (
        policy_events.filter(
            (
                ~pl.col("measure").is_in([*RESTRICTIVE, "entity_listing"])
                | pl.col("scope").is_in(["proposal", "statement", "non_state"])
            )
            & (known_from > window_start)
            & (known_from <= as_of)
        )
        .group_by(pl.col("country_iso3").alias("supplier_country"))
        .agg(pl.len().alias("count"))
    )
    return _count(spine, counts, "supplier_country", "supplier_country_other_measures_24m")
