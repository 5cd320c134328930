"""Export controls and listings: measures in force on the flow, and screening of names.

Sources arrive filtered by the runner: only events known at ``as_of`` (announced, or effective
when no announcement date is recorded), with an end date only once it has passed; only
entities listed by ``as_of``.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from riskengine.features.common import event_material_coverage, severity_expression
from riskengine.features.registry import PAIR_KEY, feature
from riskengine.names import LISTING_MATCH_THRESHOLD, match_names

RESTRICTIVE = ("export_licensing", "export_tax", "export_quota", "export_ban")


def measures_in_force(policy_events: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    """Restrictive export measures in force at ``as_of``, with their severity."""
    return policy_events.filter(
        pl.col("measure").is_in(RESTRICTIVE)
        & (pl.col("effective") <= as_of)
        & (pl.col("ended").is_null() | (pl.col("ended") > as_of))
    ).with_columns(severity_expression())


def _flow_measures(
    spine: pl.LazyFrame, events: pl.LazyFrame, *, destination: str, scopes: tuple[str, ...]
) -> pl.LazyFrame:
    """Pairs joined to the events that cover them.

    ``destination`` is ``all`` (no target country), ``buyer`` (targeting the buyer's country)
    or ``any`` (either).
    """
    coverage = event_material_coverage(events)
    target = pl.col("target_country_iso3")
    if destination == "all":
        destination_rule = target.is_null()
    elif destination == "buyer":
        destination_rule = target == pl.col("buyer_country")
    else:
        destination_rule = target.is_null() | (target == pl.col("buyer_country"))
    return (
        spine.select(PAIR_KEY, "material_id", "supplier_country", "buyer_country")
        .join(coverage, on="material_id")
        .join(
            events.filter(pl.col("scope").is_in(scopes)).rename(
                {"country_iso3": "supplier_country"}
            ),
            on=["event_id", "supplier_country"],
        )
        .filter(destination_rule)
    )


def _max_severity(spine: pl.LazyFrame, matched: pl.LazyFrame, name: str) -> pl.LazyFrame:
    worst = matched.group_by(PAIR_KEY).agg(pl.col("severity").max().alias(name))
    return (
        spine.select(PAIR_KEY)
        .join(worst, on=PAIR_KEY, how="left")
        .with_columns(pl.col(name).fill_null(0).cast(pl.Int8))
    )


@feature(
    family="export_controls",
    description="Most severe export measure in force on the material from the supplier country "
    "to all destinations (0 none, 1 licensing, 2 quota or tax, 3 ban)",
    sources=("policy_events",),
    dtype=pl.Int8,
)
def export_control_severity(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine, measures_in_force(policy_events, as_of=as_of), destination="all", scopes=("flow",)
    )
    return _max_severity(spine, matched, "export_control_severity")


@feature(
    family="export_controls",
    description="Most severe measure in force from the supplier country aimed at the buyer's "
    "country, including bans on military end users (0-3)",
    sources=("policy_events",),
    dtype=pl.Int8,
)
def destination_measure_severity(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine,
        measures_in_force(policy_events, as_of=as_of),
        destination="buyer",
        scopes=("flow", "military_end_use"),
    )
    return _max_severity(spine, matched, "destination_measure_severity")


@feature(
    family="export_controls",
    description="An export ban in force on this flow (all destinations or the buyer's country)",
    sources=("policy_events",),
    dtype=pl.Boolean,
)
def flow_ban_in_force(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    bans = measures_in_force(policy_events, as_of=as_of).filter(pl.col("measure") == "export_ban")
    matched = _flow_measures(spine, bans, destination="any", scopes=("flow",))
    return (
        spine.select(PAIR_KEY)
        .join(
            matched.select(PAIR_KEY).unique().with_columns(pl.lit(True).alias("hit")),
            on=PAIR_KEY,
            how="left",
        )
        .select(PAIR_KEY, pl.col("hit").fill_null(False).alias("flow_ban_in_force"))
    )


def _most_severe_event(matched: pl.LazyFrame, name: str) -> pl.LazyFrame:
    return (
        matched.sort(
            [PAIR_KEY, "severity", "effective", "event_id"], descending=[False, True, True, False]
        )
        .group_by(PAIR_KEY, maintain_order=True)
        .agg(pl.col("event_id").first().alias(name))
    )


@feature(
    family="export_controls",
    description="Evidence: the event id of the most severe measure in force on the material from "
    "the supplier country to all destinations",
    sources=("policy_events",),
    dtype=pl.String,
    model_input=False,
)
def export_control_event(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine, measures_in_force(policy_events, as_of=as_of), destination="all", scopes=("flow",)
    )
    worst = _most_severe_event(matched, "export_control_event")
    return spine.select(PAIR_KEY).join(worst, on=PAIR_KEY, how="left")


@feature(
    family="export_controls",
    description="Evidence: the event id of the most severe measure in force aimed at the buyer's "
    "country",
    sources=("policy_events",),
    dtype=pl.String,
    model_input=False,
)
def destination_measure_event(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _flow_measures(
        spine,
        measures_in_force(policy_events, as_of=as_of),
        destination="buyer",
        scopes=("flow", "military_end_use"),
    )
    worst = _most_severe_event(matched, "destination_measure_event")
    return spine.select(PAIR_KEY).join(worst, on=PAIR_KEY, how="left")


def _listing_matches(
    spine: pl.LazyFrame,
    listed_entities: pl.LazyFrame,
    *,
    name_column: str,
    by_supplier_country: bool,
) -> pl.LazyFrame:
    """Best listing match per pair: score, entity, list and date.

    Name matching needs the names in memory, so the unique names (not the spine) are collected.
    """
    keys = [name_column, "supplier_country"] if by_supplier_country else [name_column]
    queries = spine.select(keys).unique().collect().sort(keys)
    entities = listed_entities.collect()
    results = []
    groups = (
        queries.partition_by("supplier_country", as_dict=True)
        if by_supplier_country
        else {(None,): queries}
    )
    for (authority,), group in groups.items():
        candidates = (
            entities.filter(pl.col("listing_authority_iso3") == authority)
            if by_supplier_country
            else entities
        )
        names = group[name_column].to_list()
        if candidates.is_empty():
            matches = [(0.0, None)] * len(names)
        else:
            matches = match_names(names, candidates["entity_name"].to_list())
        for query_row, (score, index) in zip(group.iter_rows(named=True), matches, strict=True):
            entity = candidates.row(index, named=True) if index is not None else None
            results.append(
                {
                    **query_row,
                    "score": float(score),
                    "evidence": (
                        f"{entity['entity_name']}|{entity['list_name']}|{entity['listed_on']}"
                        if entity is not None and score >= LISTING_MATCH_THRESHOLD
                        else None
                    ),
                }
            )
    schema = {column: pl.String for column in keys} | {"score": pl.Float64, "evidence": pl.String}
    matched = pl.DataFrame(results, schema=schema).lazy()
    return spine.select(PAIR_KEY, *keys).join(matched, on=keys, how="left", nulls_equal=True)


@feature(
    family="export_controls",
    description="Best name-match score (0-1) of the buyer against entities listed by the "
    "supplier's country (export control, watch and unreliable entity lists)",
    sources=("listed_entities",),
    dtype=pl.Float64,
    model_input=False,
)
def buyer_listing_match_score(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _listing_matches(
        spine, listed_entities, name_column="buyer_name", by_supplier_country=True
    )
    return matched.select(
        PAIR_KEY, pl.col("score").fill_null(0.0).alias("buyer_listing_match_score")
    )


@feature(
    family="export_controls",
    description="The buyer matches an entity listed by the supplier's country (score above the "
    "screening threshold)",
    sources=("listed_entities",),
    dtype=pl.Boolean,
    model_input=False,
)
def buyer_listed(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _listing_matches(
        spine, listed_entities, name_column="buyer_name", by_supplier_country=True
    )
    return matched.select(
        PAIR_KEY, (pl.col("score").fill_null(0.0) >= LISTING_MATCH_THRESHOLD).alias("buyer_listed")
    )


@feature(
    family="export_controls",
    description="Evidence: the listed entity, list and listing date the buyer matched",
    sources=("listed_entities",),
    dtype=pl.String,
    model_input=False,
)
def buyer_listing_entity(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _listing_matches(
        spine, listed_entities, name_column="buyer_name", by_supplier_country=True
    )
    return matched.select(PAIR_KEY, pl.col("evidence").alias("buyer_listing_entity"))


@feature(
    family="export_controls",
    description="Best name-match score (0-1) of the supplier against every listed entity",
    sources=("listed_entities",),
    dtype=pl.Float64,
    model_input=False,
)
def supplier_listing_match_score(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    matched = _listing_matches(
        spine, listed_entities, name_column="supplier_name", by_supplier_country=False
    )
    return matched.select(
        PAIR_KEY, pl.col("score").fill_null(0.0).alias("supplier_listing_match_score")
    )
