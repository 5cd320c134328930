"""Alternatives to the riskiest pairs of a scored sourcing list (``riskengine alternatives``).

For each pair in a high or critical band (:data:`FLAGGED_BANDS`), the other countries that
produce its material at the same stage are candidates: the production dataset, stage and year
the concentration features use for the material (``production_basis``), known at the scores'
as-of date. Each candidate is scored as a hypothetical pair (the same material for the same
buyer and buyer country, from that country, with no named supplier) through
:func:`riskengine.prediction.score_pairs`, so features, model, restriction state and hard rules
apply unchanged; its governance and the measures in force on it are the feature values behind
that score.

Moving a fraction ``move`` of the pair's volume to a candidate changes the expected supply lost
(shares times pair risks). For the pair's sourcing group (material, buyer country, plant)::

    exposure after = exposure before - move * share * (pair risk - candidate risk)

With a BOM, each product's ``exposure`` and ``risk_score`` come from the real roll-up
(:func:`riskengine.bom.score_bom`) run on the sourcing list with the share moved to a new
supplier in the candidate country. The roll-up's ``risk_score`` is the chance that some input
of the product is hit, so a partial move adds a country and never lowers it; only a full move
(``move`` 1) takes the pair out. ``improvement`` is therefore the relative drop in expected
supply lost: of the product it helps most with a BOM, of the material's group without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.bands import RISK_BANDS
from riskengine.bom.sourcing import GROUP_KEYS, sourcing_shares
from riskengine.catalog import load_catalog
from riskengine.explain import (
    DATASET_LABELS,
    MEASURE_NOUNS,
    country_name,
    event_reference,
    percent,
    short_source,
)
from riskengine.features.common import ordered_sum
from riskengine.features.concentration import REST_OF_WORLD, WORLD, latest_country_shares
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import known_at
from riskengine.impact.alternatives_input import Constraints, ScoresInput
from riskengine.impact.alternatives_products import PRODUCT_COLUMNS, product_changes
from riskengine.prediction import ScoringModel, feature_table, score_pairs
from riskengine.reference.loader import ReferenceData
from riskengine.schemas import STATUS_SCORED, validate_prepared_chunk
from riskengine.sourcing import PreparedPairs

#: The bands whose pairs get alternatives: high and critical (cut-offs in riskengine.bands).
FLAGGED_BANDS = RISK_BANDS[RISK_BANDS.index("high") :]
#: The feature values shown beside a candidate's score.
EVIDENCE_FEATURES = (
    "supplier_country_governance",
    "export_control_event",
    "destination_measure_event",
    "announced_event",
    "supplier_country_measures_in_force",
)
MAX_NAMES_LISTED = 3


@dataclass(frozen=True)
class AlternativesResult:
    """One row per (pair, candidate country), best improvement first, then one row per flagged
    pair without a candidate (``note`` says why); and the counts behind the summary."""

    table: pl.DataFrame
    scored_pairs: int
    flagged_pairs: int
    pairs_with_candidates: int
    left_out: dict[str, int]
    """Candidates left out per constraint (``--exclude``, ``--min-share``, ``--existing-only``)."""


def _text(frame: pl.DataFrame, columns: dict[str, str], canonical: str) -> pl.Series:
    if canonical not in columns:
        return pl.Series(canonical, [None] * frame.height, dtype=pl.String)
    values = frame[columns[canonical]].cast(pl.String).str.strip_chars()
    return values.set(values == "", None).alias(canonical)


def _pairs(scores: ScoresInput, buyer_name: str | None) -> pl.DataFrame:
    """Every row of the scores with its normalised share and its group's expected loss."""
    frame = scores.frame
    pairs = pl.DataFrame(
        [
            pl.int_range(frame.height, dtype=pl.UInt32, eager=True).alias("entry"),
            _text(frame, scores.columns, "material"),
            frame["material_id"].cast(pl.String),
            _text(frame, scores.columns, "supplier"),
            frame["supplier_country_iso3"].cast(pl.String),
            frame["buyer_country_iso3"].cast(pl.String),
            _text(frame, scores.columns, "plant"),
            # The buyer each row was screened as (scores files record it), else --buyer.
            _text(frame, scores.columns, "buyer")
            .fill_null(
                frame["screened_buyer"].cast(pl.String)
                if "screened_buyer" in frame.columns
                else pl.lit(None, pl.String)
            )
            .fill_null(pl.lit(buyer_name, pl.String))
            .alias("buyer_name"),
            frame["risk_score"].alias("pair_risk_score"),
            frame["risk_band"].cast(pl.String).alias("pair_risk_band"),
            (frame["status"].cast(pl.String) == STATUS_SCORED).fill_null(False).alias("scored"),
        ]
    )
    material_ids = pairs.filter("scored")["material_id"].drop_nulls().unique().sort().to_list()
    suppliers = sourcing_shares(frame, material_ids, strict=False).suppliers
    group = ["material_id", *GROUP_KEYS]
    exposures = suppliers.select(
        "entry",
        pl.col("share").alias("pair_share"),
        ordered_sum(pl.col("share") * pl.col("pair_risk"))
        .over(group)
        .alias("material_exposure_before"),
    )
    return pairs.join(exposures, on="entry", how="left", maintain_order="left")


def _prepared(flows: pl.DataFrame) -> PreparedPairs:
    """Hypothetical pairs (``material_id, supplier_country, buyer_country, buyer_name``) with no
    named supplier, ready for the scoring path."""
    height = flows.height
    resolved = pl.DataFrame(
        [
            pl.int_range(height, dtype=pl.UInt32, eager=True).alias(PAIR_KEY),
            flows["material_id"],
            flows["supplier_country"],
            flows["buyer_country"],
            pl.Series("supplier_name", [None] * height, dtype=pl.String),
            flows["buyer_name"],
            pl.Series("share", [None] * height, dtype=pl.Float64),
            pl.Series("valid_from", [None] * height, dtype=pl.Date),
            pl.Series("valid_to", [None] * height, dtype=pl.Date),
            pl.Series("plant", [None] * height, dtype=pl.String),
            pl.Series("reason", [None] * height, dtype=pl.String),
        ]
    )
    raw = pl.DataFrame({"flow": pl.int_range(height, eager=True)})
    return PreparedPairs(raw=raw, resolved=validate_prepared_chunk(resolved))


def _production_basis(flagged: pl.DataFrame, reference: ReferenceData, as_of: date) -> pl.DataFrame:
    """The production dataset and stage each flagged pair's material uses at ``as_of``."""
    materials = flagged.select(
        "material_id",
        pl.col("supplier_country_iso3").alias("supplier_country"),
        pl.col("buyer_country_iso3").alias("buyer_country"),
        "buyer_name",
    ).unique(subset="material_id", maintain_order=True)
    basis = feature_table(
        _prepared(materials), reference, as_of=as_of, names=["production_basis"]
    ).select("material_id", "production_basis")
    parts = pl.col("production_basis").str.split("|")
    return basis.filter(pl.col("production_basis").is_not_null()).select(
        "material_id",
        parts.list.get(0).alias("dataset"),
        parts.list.get(1).alias("production_stage"),
    )


def _existing_suppliers(pairs: pl.DataFrame) -> pl.DataFrame:
    """Per supplier country of the team's scored rows, its suppliers in words."""
    named = (
        pairs.filter("scored")
        .group_by("supplier_country_iso3", maintain_order=True)
        .agg(pl.col("supplier").drop_nulls().unique().sort())
    )
    return named.select(
        pl.col("supplier_country_iso3").alias("candidate_country_iso3"),
        pl.col("supplier")
        .map_elements(_listed, return_dtype=pl.String)
        .alias("existing_suppliers"),
    )


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = "; ".join(names[:MAX_NAMES_LISTED])
    if len(names) > MAX_NAMES_LISTED:
        shown += f"; and {len(names) - MAX_NAMES_LISTED} more"
    return shown


def _candidates(
    flagged: pl.DataFrame,
    basis: pl.DataFrame,
    shares: pl.DataFrame,
    existing: pl.DataFrame,
    constraints: Constraints,
) -> pl.DataFrame:
    """Every producing country of each flagged pair's dataset other than its own, with the
    constraint that leaves it out (``left_out``, null for a candidate)."""
    producers = shares.filter(
        ~pl.col("country_iso3").is_in([REST_OF_WORLD, WORLD]) & (pl.col("share") > 0)
    ).select(
        "dataset",
        "production_stage",
        pl.col("year").alias("production_year"),
        pl.col("country_iso3").alias("candidate_country_iso3"),
        pl.col("share").alias("production_share"),
        pl.col("source").alias("production_source"),
    )
    known = existing["candidate_country_iso3"].implode()
    return (
        flagged.join(basis, on="material_id", how="inner")
        .join(producers, on=["dataset", "production_stage"], how="inner")
        .filter(pl.col("candidate_country_iso3") != pl.col("supplier_country_iso3"))
        .with_columns(
            pl.when(pl.col("candidate_country_iso3").is_in(sorted(constraints.exclude)))
            .then(pl.lit("--exclude"))
            .when(pl.col("production_share") < constraints.min_share)
            .then(pl.lit("--min-share"))
            .when(
                pl.lit(constraints.existing_only) & ~pl.col("candidate_country_iso3").is_in(known)
            )
            .then(pl.lit("--existing-only"))
            .alias("left_out")
        )
    )


def _measures_text(row: dict, events: dict[str, dict]) -> str:
    """The measures on a candidate flow known at the as-of date, each with its date and
    instrument."""
    buyer_country = country_name(row["buyer_country_iso3"])
    parts = []
    for column in ("export_control_event", "destination_measure_event", "announced_event"):
        event = events.get(row[column] or "")
        if event is None:
            continue
        noun = MEASURE_NOUNS.get(event["measure"], event["measure"].replace("_", " "))
        if event["scope"] == "military_end_use":
            noun += f" on military end users in {buyer_country}"
        elif column == "destination_measure_event":
            noun += f" aimed at {buyer_country}"
        when = (
            f"announced, effective {event['effective'] or 'date not given'}"
            if column == "announced_event"
            else f"since {event['effective']}"
        )
        parts.append(f"{event['event_id']} {noun} {when} ({event_reference(event)})")
    return "; ".join(dict.fromkeys(parts)) or "none on this flow"


def _score_candidates(
    candidates: pl.DataFrame, reference: ReferenceData, model: ScoringModel, as_of: date
) -> pl.DataFrame:
    """Score each distinct candidate flow once; its evidence beside the score."""
    flow_keys = ["material_id", "candidate_country_iso3", "buyer_country_iso3", "buyer_name"]
    flows = candidates.select(flow_keys).unique(maintain_order=True)
    prepared = _prepared(
        flows.select(
            "material_id",
            pl.col("candidate_country_iso3").alias("supplier_country"),
            pl.col("buyer_country_iso3").alias("buyer_country"),
            "buyer_name",
        )
    )
    scored = score_pairs(prepared, reference, model, as_of=as_of)
    evidence = feature_table(prepared, reference, as_of=as_of, names=EVIDENCE_FEATURES)
    events = {row["event_id"]: row for row in reference.policy_events.iter_rows(named=True)}
    evidence = evidence.with_columns(
        pl.col("buyer_country").alias("buyer_country_iso3"),
    )
    measures = [_measures_text(row, events) for row in evidence.iter_rows(named=True)]
    return pl.concat(
        [
            flows,
            scored.select(
                pl.col("risk_score").alias("candidate_risk_score"),
                pl.col("risk_score_low").alias("candidate_risk_score_low"),
                pl.col("risk_score_high").alias("candidate_risk_score_high"),
                pl.col("risk_band").alias("candidate_risk_band"),
                "restriction_state",
                pl.col("drivers").alias("candidate_drivers"),
            ),
            evidence.select(
                pl.col("supplier_country_governance").alias("governance"),
                pl.Series("measures_in_force", measures, dtype=pl.String),
                pl.col("supplier_country_measures_in_force").alias("country_measures_in_force"),
            ),
        ],
        how="horizontal",
    )


def _no_candidate_note(
    pair: dict, basis: dict[str, tuple[str, str]], shares: pl.DataFrame, left_out: pl.DataFrame
) -> str:
    material = load_catalog().material(pair["material_id"]).display_name
    if pair["material_id"] not in basis:
        return f"no production data for {material} known at the as-of date"
    dataset, stage = basis[pair["material_id"]]
    label = DATASET_LABELS.get(dataset, dataset.replace("_", " "))
    rows = left_out.filter(pl.col("entry") == pair["entry"])
    if rows.height:
        reasons = rows.group_by("left_out", maintain_order=True).agg("candidate_country_iso3")
        return "other producers left out: " + "; ".join(
            f"{', '.join(countries)} ({option})" for option, countries in reasons.iter_rows()
        )
    producers = shares.filter(
        (pl.col("dataset") == dataset) & (pl.col("production_stage") == stage)
    ).sort("share", descending=True)
    named = ", ".join(
        f"{country_name(country) if country != REST_OF_WORLD else 'rest of world'} {percent(share)}"
        for country, share in producers.select("country_iso3", "share").iter_rows()
        if country != WORLD
    )
    year = str(producers["year"].max()) if producers.height else "?"
    source = short_source(producers["source"][0]) if producers.height else "?"
    return f"the {label} data for {year} ({source}) name no other producing country: {named}"


def find_alternatives(
    scores: ScoresInput,
    reference: ReferenceData,
    model: ScoringModel,
    *,
    constraints: Constraints | None = None,
    buyer_name: str | None = None,
    bom: pl.DataFrame | None = None,
    bom_source: str = "BOM",
) -> AlternativesResult:
    """Candidate countries for each high or critical pair, scored, with the change in expected
    supply lost (and, given a ``bom``, in each product's roll-up) when part of the volume moves.

    Parameters
    ----------
    scores
        A checked output of ``riskengine score`` (:func:`read_scores`).
    reference
        The reference data; only facts known at the scores' as-of date are used.
    model
        The model version that scored the file, so candidates are scored alike.
    constraints
        Share moved, smallest producer, excluded countries, existing countries only.
    buyer_name
        The buyer for rows whose file has no buyer column (``score --buyer`` is not written).
    bom, bom_source
        A BOM (``parent, component, quantity``) and its name for messages.

    Returns
    -------
    AlternativesResult
        The table sorted by ``improvement`` (best first), and the counts.
    """
    constraints = constraints or Constraints()
    as_of = scores.as_of
    pairs = _pairs(scores, buyer_name)
    flagged = pairs.filter(pl.col("scored") & pl.col("pair_risk_band").is_in(FLAGGED_BANDS))
    basis = _production_basis(flagged, reference, as_of) if flagged.height else None
    shares = latest_country_shares(known_at(reference, as_of)["production"]).collect()
    existing = _existing_suppliers(pairs)
    all_candidates = _candidates(
        flagged,
        basis if basis is not None else pl.DataFrame(schema=_BASIS_SCHEMA),
        shares,
        existing,
        constraints,
    )
    candidates = all_candidates.filter(pl.col("left_out").is_null())
    left_out = all_candidates.filter(pl.col("left_out").is_not_null())
    table = candidates
    if candidates.height:
        scored = _score_candidates(candidates, reference, model, as_of)
        table = candidates.join(
            scored,
            on=["material_id", "candidate_country_iso3", "buyer_country_iso3", "buyer_name"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        ).join(existing, on="candidate_country_iso3", how="left")
        table = table.with_columns(
            (pl.col("candidate_risk_score") - pl.col("pair_risk_score")).alias("risk_change"),
            (
                pl.col("material_exposure_before")
                - constraints.move
                * pl.col("pair_share")
                * (pl.col("pair_risk_score") - pl.col("candidate_risk_score"))
            ).alias("material_exposure_after"),
        )
        if bom is not None:
            table = table.join(
                product_changes(bom, bom_source, scores, pairs, table, constraints.move),
                on=["entry", "candidate_country_iso3"],
                how="left",
            )
    table = _finish(table, flagged, basis, shares, left_out, constraints, bom is not None)
    return AlternativesResult(
        table=table.with_columns(
            pl.lit(model.version).alias("model_version"), pl.lit(as_of.isoformat()).alias("as_of")
        ),
        scored_pairs=pairs.filter("scored").height,
        flagged_pairs=flagged.height,
        pairs_with_candidates=candidates["entry"].n_unique(),
        left_out=dict(left_out.group_by("left_out").len().sort("left_out").iter_rows()),
    )


_BASIS_SCHEMA = {"material_id": pl.String, "dataset": pl.String, "production_stage": pl.String}

#: The output's columns and types, in order; the product columns only with a BOM.
PAIR_COLUMNS: dict[str, type[pl.DataType]] = {
    "pair_row": pl.UInt32,
    "material": pl.String,
    "material_id": pl.String,
    "supplier": pl.String,
    "supplier_country_iso3": pl.String,
    "buyer_country_iso3": pl.String,
    "plant": pl.String,
    "pair_risk_score": pl.Float64,
    "pair_risk_band": pl.String,
    "pair_share": pl.Float64,
}
CANDIDATE_COLUMNS: dict[str, type[pl.DataType]] = {
    "candidate_country_iso3": pl.String,
    "candidate_country": pl.String,
    "production_share": pl.Float64,
    "production_basis": pl.String,
    "production_source": pl.String,
    "governance": pl.Float64,
    "restriction_state": pl.String,
    "measures_in_force": pl.String,
    "country_measures_in_force": pl.Int64,
    "existing_suppliers": pl.String,
    "candidate_risk_score": pl.Float64,
    "candidate_risk_score_low": pl.Float64,
    "candidate_risk_score_high": pl.Float64,
    "candidate_risk_band": pl.String,
    "candidate_drivers": pl.String,
    "risk_change": pl.Float64,
    "move": pl.Float64,
    "material_exposure_before": pl.Float64,
    "material_exposure_after": pl.Float64,
    "material_improvement": pl.Float64,
}
CLOSING_COLUMNS: dict[str, type[pl.DataType]] = {"improvement": pl.Float64, "note": pl.String}


def output_schema(*, with_bom: bool) -> pl.Schema:
    """The columns of the ``alternatives`` output."""
    return pl.Schema(
        {
            **PAIR_COLUMNS,
            **CANDIDATE_COLUMNS,
            **(PRODUCT_COLUMNS if with_bom else {}),
            **CLOSING_COLUMNS,
        }
    )


def _finish(
    table: pl.DataFrame,
    flagged: pl.DataFrame,
    basis: pl.DataFrame | None,
    shares: pl.DataFrame,
    left_out: pl.DataFrame,
    constraints: Constraints,
    with_bom: bool,
) -> pl.DataFrame:
    """The output columns in order, best improvement first, then the pairs with no candidate."""
    schema = output_schema(with_bom=with_bom)
    frames = [pl.DataFrame(schema=schema)]
    if table.height:
        material_improvement = pl.when(pl.col("material_exposure_before") > 0).then(
            1.0 - pl.col("material_exposure_after") / pl.col("material_exposure_before")
        )
        found = table.with_columns(
            (pl.col("entry") + 1).alias("pair_row"),
            pl.col("candidate_country_iso3")
            .map_elements(country_name, return_dtype=pl.String)
            .alias("candidate_country"),
            pl.col("production_source").map_elements(short_source, return_dtype=pl.String),
            pl.lit(constraints.move).alias("move"),
            material_improvement.alias("material_improvement"),
            pl.concat_str(
                pl.col("dataset").replace_strict(DATASET_LABELS, default=pl.col("dataset")),
                "production_stage",
                "production_year",
                separator=", ",
            ).alias("production_basis"),
        ).with_columns(
            # The product's figure where the BOM uses the pair, else the material's own.
            pl.coalesce(
                *(["product_improvement"] if with_bom else []), "material_improvement"
            ).alias("improvement"),
        )
        frames.append(
            # With a BOM the moves that reach a product come first: that is what it was given for.
            found.with_columns(
                (pl.col("product_improvement").is_not_null() if with_bom else pl.lit(False)).alias(
                    "reaches_product"
                )
            )
            .sort(
                [
                    "reaches_product",
                    "improvement",
                    "candidate_risk_score",
                    "pair_row",
                    "candidate_country_iso3",
                ],
                descending=[True, True, False, False, False],
                nulls_last=True,
            )
            .select(name for name in schema if name in found.columns)
        )
    lookup = {} if basis is None else {row[0]: (row[1], row[2]) for row in basis.iter_rows()}
    without = flagged.filter(~pl.col("entry").is_in(table["entry"].unique().implode()))
    notes = [
        _no_candidate_note(pair, lookup, shares, left_out) for pair in without.iter_rows(named=True)
    ]
    marked = without.with_columns(
        (pl.col("entry") + 1).alias("pair_row"),
        pl.lit(constraints.move).alias("move"),
        pl.Series("note", notes, dtype=pl.String),
    )
    frames.append(marked.select(name for name in schema if name in marked.columns))
    return pl.concat(frames, how="diagonal_relaxed").select(schema.names()).cast(schema)
