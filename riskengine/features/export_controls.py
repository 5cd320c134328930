"""Export controls and listings: measures in force on the flow, and screening of names.

Sources arrive filtered by the runner: only events known at ``as_of`` (announced, or effective
when no announcement date is recorded), with an end date only once it has passed; only
entities listed by ``as_of``.
"""

from __future__ import annotations

import threading
from datetime import date

import polars as pl

from riskengine.features.common import event_material_coverage, severity_expression
from riskengine.features.registry import PAIR_KEY, feature
from riskengine.names import LISTING_MATCH_THRESHOLD, match_names
from riskengine.reference.contracts import FAMILY_LINK_LIST

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


#: Best matches found so far, per list of listed names and then per screened name. Several
#: builders screen the same names against the same list, and every chunk of a large input
#: screens mostly the same suppliers again (10M pairs: 18 chunks of the same 200k names), so
#: each name is matched once per list and threshold (:data:`FLAG_ONLY`). A name's match
#: depends on that list and threshold alone. Bounded, as ``riskengine serve`` lives on: a few
#: lists, and a list's names are forgotten once it holds :data:`_NAMES_REMEMBERED` (about
#: 0.5 KB each).
_MATCHES_BY_LIST: dict[
    tuple[tuple[str, ...], float | None], dict[str | None, tuple[float, int | None]]
] = {}
#: Every list a large input's chunks screen against, used in the same order chunk after chunk,
#: must fit, or each chunk would match all its names again: each country's list twice (its
#: suppliers' buyers for scores, buyers' suppliers for the flag; 5 countries keep lists in the
#: shipped data) and all lists together.
_LISTS_REMEMBERED = 24
_NAMES_REMEMBERED = 1 << 18
_MATCHES_LOCK = threading.Lock()


def _cached_matches(
    names: tuple[str | None, ...], listed_names: tuple[str, ...], threshold: float | None = None
) -> list[tuple[float, int | None]]:
    """:func:`~riskengine.names.match_names` of ``names``, each name matched once per list
    and ``threshold``."""
    remembered = (listed_names, threshold)
    with _MATCHES_LOCK:
        known = _MATCHES_BY_LIST.pop(remembered, None)
        if known is None or len(known) >= _NAMES_REMEMBERED:
            known = {}
        while len(_MATCHES_BY_LIST) >= _LISTS_REMEMBERED:
            del _MATCHES_BY_LIST[next(iter(_MATCHES_BY_LIST))]
        # Re-inserted last: the least recently used list is the first to go.
        _MATCHES_BY_LIST[remembered] = known
        answers = {name: known[name] for name in names if name in known}
    unseen = [name for name in dict.fromkeys(names) if name not in answers]
    if unseen:
        # Matched outside the lock; another thread may match the same names meanwhile, and
        # both find the same answers.
        found = dict(
            zip(
                unseen,
                match_names(unseen, list(listed_names), threshold=threshold),
                strict=True,
            )
        )
        answers.update(found)
        with _MATCHES_LOCK:
            known.update(found)
    return [answers[name] for name in names]


def list_severity(list_name: pl.Expr) -> pl.Expr:
    """Severity of a list: export control, entity and unreliable entity lists 3, watch lists 1."""
    lowered = list_name.str.to_lowercase()
    return (
        pl.when(lowered.str.contains("watch list"))
        .then(pl.lit(1, dtype=pl.Int8))
        .otherwise(pl.lit(3, dtype=pl.Int8))
    )


def _names_and_aliases(name_column: str) -> pl.Expr:
    """The name and each of its ``;``-separated aliases, as a list."""
    aliases = (
        pl.col("aliases").fill_null("").str.split(";").list.eval(pl.element().str.strip_chars())
    )
    return pl.concat_list(pl.col(name_column), aliases).list.eval(
        pl.element().filter(pl.element().str.len_chars() > 0)
    )


def listings_in_force(listed_entities: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    """The rows of ``listed_entities`` in force at ``as_of``: listed by then and not yet removed.

    A listing counts from ``listed_on`` until the day before ``removed_on``. Family link rows
    follow the same dates (``listed_on`` is when the link became known).
    """
    schema = listed_entities.collect_schema()
    in_force = pl.col("listed_on") <= as_of
    if "removed_on" in schema:
        in_force &= pl.col("removed_on").is_null() | (pl.col("removed_on") > as_of)
    return listed_entities.filter(in_force)


def screened_entity_names(listed_entities: pl.DataFrame) -> list[str]:
    """The entity names a name is screened against, one per row, in table order.

    Every listing's name, and the name of each :data:`FAMILY_LINK_LIST` row whose parent is
    listed (it is screened through the parent's listings). Any other link row lists nothing
    and is left out: a parent-only row, or one whose parent is itself only a link row (see
    :func:`screening_names`).
    """
    listing = pl.col("list_name") != FAMILY_LINK_LIST
    if "parent_entity" not in listed_entities.columns:
        return listed_entities.filter(listing)["entity_name"].to_list()
    listed = listed_entities.filter(listing)["entity_name"].unique().to_list()
    screened = listing | pl.col("parent_entity").is_in(listed).fill_null(False)
    return listed_entities.filter(screened)["entity_name"].to_list()


def screening_names(listed_entities: pl.DataFrame) -> pl.DataFrame:
    """One row per name a listing is screened under, with the listing it stands for.

    A listing is screened under its entity name and each of its aliases. A listed entity
    whose parent is listed too is also screened under the parent's listings, so a buyer that
    matches a subsidiary is found on the lists that name only the parent; its ``entity_name``
    then says through which relation ("X (subsidiary of Y)"). Only listings in the frame (for
    features: known at the as-of date) take part, so a family link counts from the date its
    member was listed. Direct names come first: on a tie the entity's own listing wins.

    A row of :data:`FAMILY_LINK_LIST` records a link only: its entity is screened through its
    parent's listings, never as listed itself, and it lists nothing for its subsidiaries (a
    listed subsidiary does not make an unlisted parent listed).
    """
    listing_columns = ["list_name", "listing_authority_iso3", "entity_name", "listed_on"]
    entities = listed_entities.with_columns(
        *(
            pl.lit(None, dtype=pl.String).alias(column)
            for column in ("aliases", "parent_entity", "relation")
            if column not in listed_entities.columns
        )
    )
    listings = entities.filter(pl.col("list_name") != FAMILY_LINK_LIST)
    names = listings.select(
        *listing_columns, _names_and_aliases("entity_name").alias("screened_name")
    ).explode("screened_name")
    members = entities.filter(pl.col("parent_entity").is_not_null()).select(
        pl.col("entity_name").alias("member_name"),
        "aliases",
        "parent_entity",
        pl.col("relation").fill_null("subsidiary"),
        pl.col("listed_on").alias("member_listed_on"),
    )
    parent_listings = listings.select(
        pl.col("entity_name").alias("parent_entity"),
        "list_name",
        "listing_authority_iso3",
        "listed_on",
    )
    through_family = (
        members.join(parent_listings, on="parent_entity", how="inner")
        .select(
            "list_name",
            "listing_authority_iso3",
            pl.format("{} ({} of {})", "member_name", "relation", "parent_entity").alias(
                "entity_name"
            ),
            # Through the family from when both the parent's listing and the link are known.
            pl.max_horizontal("listed_on", "member_listed_on").alias("listed_on"),
            _names_and_aliases("member_name").alias("screened_name"),
        )
        .explode("screened_name")
    )
    return (
        pl.concat([names, through_family], how="vertical_relaxed")
        .filter(pl.col("screened_name").is_not_null())
        .unique(maintain_order=True)
    )


def _listing_matches(
    spine: pl.LazyFrame,
    listed_entities: pl.LazyFrame,
    *,
    name_column: str,
    authority_column: str | None,
) -> pl.LazyFrame:
    """Best listing match per pair: score, and above the threshold the entity, list, date and
    list severity.

    ``authority_column`` names the spine column whose country keeps the lists searched (the
    supplier's country for a buyer, the buyer's country for a supplier); ``None`` searches
    every list. Name matching needs the names in memory, so the unique names (not the spine)
    are collected.
    """
    keys = [name_column, authority_column] if authority_column else [name_column]
    queries = spine.select(keys).unique(maintain_order=True).collect()
    entities = screening_names(listed_entities.collect())
    matched = _remembered_matches((name_column, authority_column), queries, entities)
    if matched is None:
        matched = _matched_table(queries, entities, name_column, authority_column)
        with _MATCHES_LOCK:
            _LAST_MATCHED[(name_column, authority_column)] = (queries, entities, matched)
    return spine.select(PAIR_KEY, *keys).join(matched.lazy(), on=keys, how="left", nulls_equal=True)


#: The last table :func:`_listing_matches` built per screening (whose names, against whose
#: lists), with the names and lists it was built from: the builders of one spine (the flag,
#: the score, the evidence ...) screen the same names against the same lists, and need it once.
_LAST_MATCHED: dict[tuple[str, str | None], tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]] = {}


def _remembered_matches(
    screened: tuple[str, str | None], queries: pl.DataFrame, entities: pl.DataFrame
) -> pl.DataFrame | None:
    """The table built last for ``screened`` if it was built from these very names and lists."""
    with _MATCHES_LOCK:
        last = _LAST_MATCHED.get(screened)
    if last is None:
        return None
    last_queries, last_entities, matched = last
    if last_queries.equals(queries) and last_entities.equals(entities):
        return matched
    return None


def _matched_table(
    queries: pl.DataFrame, entities: pl.DataFrame, name_column: str, authority_column: str | None
) -> pl.DataFrame:
    """Each of the distinct ``queries`` (name, and the country whose lists are searched) with
    its best match's score and, above the threshold, the match's evidence, severity and date."""
    keys = [name_column, authority_column] if authority_column else [name_column]
    entities = entities.with_columns(list_severity(pl.col("list_name")).alias("list_severity"))
    groups = (
        queries.partition_by(authority_column, as_dict=True)
        if authority_column
        else {(None,): queries}
    )
    matched_groups = []
    for (authority,), group in groups.items():
        if not authority_column:
            candidates = entities
        elif authority is None:
            candidates = entities.clear()
        else:
            candidates = entities.filter(pl.col("listing_authority_iso3") == authority)
        candidates = candidates.with_row_index("candidate")
        if candidates.is_empty():
            matches: list[tuple[float, int | None]] = [(0.0, None)] * group.height
        else:
            matches = _cached_matches(
                tuple(group[name_column].to_list()),
                tuple(candidates["screened_name"].to_list()),
                LISTING_MATCH_THRESHOLD if (name_column, authority_column) in FLAG_ONLY else None,
            )
        scored = group.with_columns(
            pl.Series("score", [score for score, _ in matches], dtype=pl.Float64),
            pl.Series("candidate", [index for _, index in matches], dtype=pl.UInt32),
        ).join(candidates, on="candidate", how="left")
        matched_groups.append(scored)
    matched = pl.concat(matched_groups, how="diagonal_relaxed") if matched_groups else None
    if matched is None or matched.is_empty():
        return pl.DataFrame(
            schema={
                **{key: pl.String for key in keys},
                "score": pl.Float64,
                "evidence": pl.String,
                "list_severity": pl.Int8,
                "listed_on": pl.Date,
            }
        )
    listed = pl.col("score") >= LISTING_MATCH_THRESHOLD
    return matched.select(
        *keys,
        "score",
        pl.when(listed)
        .then(
            pl.concat_str(
                "entity_name", "list_name", pl.col("listed_on").cast(pl.String), separator="|"
            )
        )
        .alias("evidence"),
        pl.when(listed).then(pl.col("list_severity")).alias("list_severity"),
        pl.when(listed).then(pl.col("listed_on")).alias("listed_on"),
    )


# Whose name is screened, against the lists of which country (``None``: every list).
BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS = ("buyer_name", "supplier_country")
SUPPLIER_AGAINST_ALL_LISTS = ("supplier_name", None)
SUPPLIER_AGAINST_BUYER_COUNTRY_LISTS = ("supplier_name", "buyer_country")

#: Screenings whose score no feature reports, only whether it reaches the threshold and the
#: match then: their names are matched with the threshold (``match_names``), which compares
#: a name with the listed names of similar lengths only, and below it the score reads 0.
FLAG_ONLY = frozenset({SUPPLIER_AGAINST_BUYER_COUNTRY_LISTS})


def _from_matches(
    spine: pl.LazyFrame,
    listed_entities: pl.LazyFrame,
    screened: tuple[str, str | None],
    value: pl.Expr,
) -> pl.LazyFrame:
    """One value per pair from its best listing match (see :func:`_listing_matches`)."""
    name_column, authority_column = screened
    matched = _listing_matches(
        spine, listed_entities, name_column=name_column, authority_column=authority_column
    )
    return matched.select(PAIR_KEY, value)


def _above_threshold() -> pl.Expr:
    return pl.col("score").fill_null(0.0) >= LISTING_MATCH_THRESHOLD


@feature(
    family="export_controls",
    description="Best name-match score (0-1) of the buyer against entities listed by the "
    "supplier's country (export control, watch and unreliable entity lists)",
    sources=("listed_entities",),
    dtype=pl.Float64,
    keys=("supplier_country", "buyer_name"),
    model_input=False,
)
def buyer_listing_match_score(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS,
        pl.col("score").fill_null(0.0).alias("buyer_listing_match_score"),
    )


@feature(
    family="export_controls",
    description="The buyer matches an entity listed by the supplier's country (score above the "
    "screening threshold)",
    sources=("listed_entities",),
    dtype=pl.Boolean,
    keys=("supplier_country", "buyer_name"),
    model_input=False,
)
def buyer_listed(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS,
        _above_threshold().alias("buyer_listed"),
    )


@feature(
    family="export_controls",
    description="Evidence: the listed entity, list and listing date the buyer matched",
    sources=("listed_entities",),
    dtype=pl.String,
    keys=("supplier_country", "buyer_name"),
    model_input=False,
)
def buyer_listing_entity(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS,
        pl.col("evidence").alias("buyer_listing_entity"),
    )


@feature(
    family="export_controls",
    description="Best name-match score (0-1) of the supplier against every listed entity",
    sources=("listed_entities",),
    dtype=pl.Float64,
    keys=("supplier_name",),
    model_input=False,
)
def supplier_listing_match_score(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        SUPPLIER_AGAINST_ALL_LISTS,
        pl.col("score").fill_null(0.0).alias("supplier_listing_match_score"),
    )


@feature(
    family="export_controls",
    description="Severity of the list the buyer matched (3 export control, entity or unreliable "
    "entity list; 1 watch list; 0 none)",
    sources=("listed_entities",),
    dtype=pl.Int8,
    keys=("supplier_country", "buyer_name"),
    model_input=False,
)
def buyer_listing_severity(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS,
        pl.col("list_severity").fill_null(0).cast(pl.Int8).alias("buyer_listing_severity"),
    )


@feature(
    family="export_controls",
    description="Date the entity the buyer matched was listed",
    sources=("listed_entities",),
    dtype=pl.Date,
    keys=("supplier_country", "buyer_name"),
    model_input=False,
)
def buyer_listing_date(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        BUYER_AGAINST_SUPPLIER_COUNTRY_LISTS,
        pl.col("listed_on").alias("buyer_listing_date"),
    )


@feature(
    family="export_controls",
    description="The supplier matches a listed entity on any list (score above the threshold)",
    sources=("listed_entities",),
    dtype=pl.Boolean,
    keys=("supplier_name",),
    model_input=False,
)
def supplier_listed(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        SUPPLIER_AGAINST_ALL_LISTS,
        _above_threshold().alias("supplier_listed"),
    )


@feature(
    family="export_controls",
    description="State of the most relevant measure on this flow as of the date: in_force, "
    "announced, ended (suspended or lifted by as-of) or none",
    sources=("policy_events",),
    dtype=pl.String,
    model_input=False,
)
def flow_measure_state(
    spine: pl.LazyFrame, policy_events: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    restrictive = policy_events.filter(pl.col("measure").is_in(RESTRICTIVE)).with_columns(
        severity_expression(),
        pl.when(pl.col("ended").is_not_null())
        .then(pl.lit("ended"))
        .when(pl.col("effective").is_not_null() & (pl.col("effective") <= as_of))
        .then(pl.lit("in_force"))
        .otherwise(pl.lit("announced"))
        .alias("state"),
    )
    matched = _flow_measures(spine, restrictive, destination="any", scopes=("flow",))
    # In force outranks announced, which outranks ended; then severity.
    rank = pl.col("state").replace_strict(
        {"in_force": 0, "announced": 1, "ended": 2}, return_dtype=pl.Int8
    )
    best = (
        matched.with_columns(rank.alias("state_rank"))
        .sort([PAIR_KEY, "state_rank", "severity"], descending=[False, False, True])
        .group_by(PAIR_KEY, maintain_order=True)
        .agg(pl.col("state").first().alias("flow_measure_state"))
    )
    return (
        spine.select(PAIR_KEY)
        .join(best, on=PAIR_KEY, how="left")
        .with_columns(pl.col("flow_measure_state").fill_null("none"))
    )


@feature(
    family="export_controls",
    description="The supplier matches an entity on a list kept by the buyer's own country (a "
    "Chinese supplier on the US Entity List for a US buyer): buying from it is itself "
    "restricted",
    sources=("listed_entities",),
    dtype=pl.Boolean,
    keys=("supplier_name", "buyer_country"),
    model_input=False,
)
def supplier_listed_by_buyer_country(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        SUPPLIER_AGAINST_BUYER_COUNTRY_LISTS,
        _above_threshold().alias("supplier_listed_by_buyer_country"),
    )


@feature(
    family="export_controls",
    description="Evidence: the entity, list and listing date the supplier matched on a list kept "
    "by the buyer's own country",
    sources=("listed_entities",),
    dtype=pl.String,
    keys=("supplier_name", "buyer_country"),
    model_input=False,
)
def supplier_listing_entity(
    spine: pl.LazyFrame, listed_entities: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _from_matches(
        spine,
        listed_entities,
        SUPPLIER_AGAINST_BUYER_COUNTRY_LISTS,
        pl.col("evidence").alias("supplier_listing_entity"),
    )
