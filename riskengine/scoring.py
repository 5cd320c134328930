"""Score material-supplier pairs: resolve, build features as of a date, predict, apply hard rules,
explain. Pure functions of frames; reading and writing happen in :mod:`riskengine.io`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import polars as pl

from riskengine.catalog import load_catalog, normalise_country
from riskengine.errors import CountryError, UnknownMaterialError, UserInputError
from riskengine.features.registry import PAIR_KEY, registry
from riskengine.features.runner import build_features
from riskengine.parsing import parse_share
from riskengine.reference.loader import ReferenceData
from riskengine.schemas import (
    SCORE_OUTPUT_COLUMNS,
    STATUS_REJECTED,
    STATUS_SCORED,
    resolve_columns,
    scored_output_schema,
)

# Probability thresholds of the bands: low < 0.02 <= medium < 0.05 <= high < 0.10 <= critical.
# Chosen from the rolling-origin backtest so that each band is riskier than the one below it
# out of sample (observed disruption rates 0.4% / 1.2% / 7.5% / 21.7%, README "The model").
BAND_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.10, "critical"),
    (0.05, "high"),
    (0.02, "medium"),
)
LOWEST_BAND = "low"


class ScoringModel(Protocol):
    """What scoring needs from a registered model (see ``models.tracking.RegisteredModel``)."""

    model: Any
    version: str
    feature_names: tuple[str, ...]
    neutral_values: dict[str, float]


@dataclass(frozen=True)
class PreparedPairs:
    """The input with canonical columns resolved; ``reason`` is null for usable rows."""

    raw: pl.DataFrame
    resolved: pl.DataFrame
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> pl.DataFrame:
        return self.resolved.filter(pl.col("reason").is_null())


def _resolution(values: pl.Series, resolve: Callable[[str], str]) -> pl.DataFrame:
    """Resolve each distinct value once: value, resolved id or null, error or null."""
    rows = []
    for value in values.drop_nulls().unique().sort().to_list():
        try:
            rows.append((value, resolve(value), None))
        except (UnknownMaterialError, CountryError) as error:
            rows.append((value, None, str(error)))
    return pl.DataFrame(
        rows, schema={"value": pl.String, "resolved": pl.String, "error": pl.String}, orient="row"
    )


def _resolved_columns(column: str, resolution: pl.DataFrame, empty_reason: str) -> list[pl.Expr]:
    """Expressions mapping ``column`` to its resolved id and its reason (or null)."""
    ids = dict(zip(resolution["value"], resolution["resolved"], strict=True))
    errors = dict(zip(resolution["value"], resolution["error"], strict=True))
    source = pl.col(column)
    return [
        source.replace_strict(ids, default=None, return_dtype=pl.String).alias(f"{column}_id"),
        pl.when(source.is_null())
        .then(pl.lit(empty_reason))
        .otherwise(source.replace_strict(errors, default=None, return_dtype=pl.String))
        .alias(f"{column}_reason"),
    ]


MAX_ROWS_NAMED = 5


def _row_list(rows: pl.Expr) -> pl.Expr:
    shown = rows.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", ")
    more = pl.when(rows.list.len() > MAX_ROWS_NAMED).then(
        pl.format(" and {} more", rows.list.len() - MAX_ROWS_NAMED)
    )
    return pl.concat_str(shown, more, ignore_nulls=True)


def _duplicate_reason() -> pl.Expr:
    """Rows that repeat the same pair are all refused, naming each other: keeping one would
    be a silent choice between them."""
    # Resolved ids where they exist, so "Dy2O3" from "CN" repeats "dysprosium oxide" from "China".
    pair = [
        pl.coalesce("material_id", "material"),
        pl.col("supplier"),
        pl.coalesce("supplier_country_id", "supplier_country"),
        pl.coalesce("buyer_country_id", "buyer_country"),
        pl.col("buyer"),
        pl.col("supplier_id"),
    ]
    rows = pl.col("row_number").implode().over(pair, mapping_strategy="join")
    return pl.when(pl.len().over(pair) > 1).then(
        pl.format("duplicate pair: data rows {} repeat it", _row_list(rows))
    )


def _conflicting_country_reason() -> pl.Expr:
    """One supplier id given with two different countries is refused on every row."""
    country = pl.coalesce("supplier_country_id", "supplier_country")
    countries = country.drop_nulls().unique().sort()
    conflicting = pl.col("supplier_id").is_not_null() & (country.n_unique().over("supplier_id") > 1)
    return pl.when(conflicting).then(
        pl.format(
            "supplier_id {} appears with several countries ({})",
            pl.col("supplier_id"),
            countries.implode().over("supplier_id", mapping_strategy="join").list.join(", "),
        )
    )


def prepare_pairs(
    raw: pl.DataFrame, *, source: str, buyer_country: str | None, buyer_name: str | None
) -> PreparedPairs:
    """Resolve materials and countries for every input row; unusable rows get a reason.

    Raises
    ------
    MissingColumnsError
        When a required column is absent (nothing is scored then).
    UserInputError
        When ``buyer_country`` given as an option is itself unknown or ambiguous.
    """
    columns = resolve_columns(raw.columns, source=source)
    if buyer_country is not None:
        try:
            normalise_country(buyer_country)
        except CountryError as error:
            raise UserInputError(f"--buyer-country: {error}") from error
    text = raw.select(
        pl.col(name).cast(pl.String).str.strip_chars().replace("", None).alias(canonical)
        for canonical, name in columns.items()
    )
    for optional in ("buyer_country", "buyer", "share", "supplier_id"):
        if optional not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias(optional))
    text = text.with_columns(
        pl.coalesce("buyer_country", pl.lit(buyer_country, dtype=pl.String)),
        pl.coalesce("buyer", pl.lit(buyer_name, dtype=pl.String)),
    )
    catalog = load_catalog()
    materials = _resolution(
        text["material"], lambda value: catalog.resolve_material(value).material_id
    )
    countries = _resolution(
        pl.concat([text["supplier_country"], text["buyer_country"]]), normalise_country
    )
    shares = parse_share(text["share"], column=columns.get("share", "share"), source=source)
    bad_share = pl.col("share_reason").is_not_null()
    resolved = text.with_columns(
        shares.values.alias("share_value"), shares.errors.alias("share_reason")
    ).with_columns(
        *_resolved_columns("material", materials, "material is empty"),
        *_resolved_columns("supplier_country", countries, "supplier country is empty"),
        *_resolved_columns("buyer_country", countries, "buyer country is empty"),
        pl.when(pl.col("supplier").is_null())
        .then(pl.lit("supplier is empty"))
        .alias("supplier_reason"),
    )
    if "supplier_id" not in resolved.columns:
        resolved = resolved.with_columns(pl.lit(None, dtype=pl.String).alias("supplier_id"))
    resolved = resolved.with_columns(
        pl.int_range(1, pl.len() + 1).alias("row_number")
    ).with_columns(
        _duplicate_reason().alias("duplicate_reason"),
        _conflicting_country_reason().alias("conflict_reason"),
    )
    resolved = resolved.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        pl.col("material_id"),
        pl.col("supplier_country_id").alias("supplier_country"),
        pl.col("buyer_country_id").alias("buyer_country"),
        pl.col("supplier").alias("supplier_name"),
        pl.col("buyer").alias("buyer_name"),
        pl.when(bad_share).then(None).otherwise(pl.col("share_value")).alias("share"),
        pl.concat_str(
            "material_reason",
            "supplier_country_reason",
            # A missing buyer country is allowed: destination measures then do not apply.
            pl.when(pl.col("buyer_country").is_not_null()).then(pl.col("buyer_country_reason")),
            "supplier_reason",
            "share_reason",
            "duplicate_reason",
            "conflict_reason",
            separator="; ",
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("reason"),
    )
    return PreparedPairs(raw=raw, resolved=resolved, notes=(shares.note,) if shares.note else ())


def feature_table(
    prepared: PreparedPairs, reference: ReferenceData, *, as_of: date
) -> pl.DataFrame:
    """Features for the usable rows, one row per usable input row, keyed by ``pair_id``."""
    return build_features(prepared.valid.drop("reason"), reference, as_of=as_of)


def risk_band(score: pl.Expr) -> pl.Expr:
    """Band of a probability by :data:`BAND_THRESHOLDS`."""
    expression = pl.lit(LOWEST_BAND)
    for threshold, band in reversed(BAND_THRESHOLDS):
        expression = pl.when(score >= threshold).then(pl.lit(band)).otherwise(expression)
    return expression


SINGLE_THREAD_ROWS = 50_000


def _families(model: ScoringModel) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for spec in registry():
        if spec.name in model.feature_names:
            families.setdefault(spec.family, []).append(spec.name)
    return families


def family_contributions(features: pl.DataFrame, model: ScoringModel) -> pl.DataFrame:
    """Per row: the model's probability, and per feature family how much it drops when that
    family is set to its neutral (training-median) values.

    Rows with the same model inputs get the same answers, so the model runs once per distinct
    input vector (a sourcing list repeats few of them), not once per row.
    """
    from threadpoolctl import threadpool_limits

    from riskengine.models.matrix import feature_matrix

    names = list(model.feature_names)
    distinct = features.select(names).unique(maintain_order=True)
    matrix = feature_matrix(distinct, model.feature_names)
    # On a few thousand distinct rows, OpenMP threads cost more in spin-waiting than they save
    # (measured in bench/: 0.16-1.8 s per call on a busy machine against 0.01 s on one thread).
    threads = 1 if distinct.height < SINGLE_THREAD_ROWS else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        probability = model.model.predict_proba(matrix)[:, 1]
        results = {"model_score": probability}
        for family, family_names in _families(model).items():
            neutral = matrix.copy()
            for name in family_names:
                neutral[name] = model.neutral_values.get(name, 0.0)
            results[f"contribution_{family}"] = (
                probability - model.model.predict_proba(neutral)[:, 1]
            )
    # Only the order of the families matters to the driver text: the ones that raise the
    # score, most first.
    family_columns = [name for name in results if name.startswith("contribution_")]
    results["family_order"] = [
        ",".join(
            column.removeprefix("contribution_")
            for value, column in sorted(
                zip(row, family_columns, strict=True), key=lambda pair: -pair[0]
            )
            if value > 0
        )
        for row in zip(*(results[column] for column in family_columns), strict=True)
    ]
    scored = pl.concat([distinct, pl.DataFrame(results)], how="horizontal")
    return (
        features.select(PAIR_KEY, *names)
        .join(scored, on=names, how="left", nulls_equal=True, maintain_order="left")
        .drop(names)
    )


def hard_rules(row: dict) -> list[str]:
    """Rules that put a pair in the top band whatever the model says, in words."""
    from riskengine.explain import country_name

    rules = []
    if row.get("buyer_listed"):
        entity, list_name, listed_on = (row.get("buyer_listing_entity") or "||").split("|")
        rules.append(
            f"buyer matches '{entity}' on the {list_name} kept by "
            f"{country_name(row['supplier_country'])}, listed {listed_on}"
        )
    if row.get("flow_ban_in_force"):
        rules.append(
            f"an export ban from {country_name(row['supplier_country'])} is in force on this flow"
        )
    return rules


def _driver_texts(features: pl.DataFrame, reference: ReferenceData, *, as_of: date) -> pl.Series:
    """Drivers per row, rendered once per distinct combination of the facts they cite."""
    from riskengine.explain import DRIVER_COLUMNS, DriverWriter

    keys = [*DRIVER_COLUMNS, "family_order"]
    distinct = features.select(keys).unique(maintain_order=True)
    writer = DriverWriter(reference, as_of)
    texts = [
        writer.drivers(
            row, row["family_order"].split(",") if row["family_order"] else [], hard_rules(row)
        )
        for row in distinct.iter_rows(named=True)
    ]
    lookup = distinct.with_columns(pl.Series("drivers", texts, dtype=pl.String))
    return features.select(keys).join(
        lookup, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )["drivers"]


def score_pairs(
    prepared: PreparedPairs, reference: ReferenceData, model: ScoringModel, *, as_of: date
) -> pl.DataFrame:
    """One output row per input row, in input order: the input columns, then the scores."""
    clashing = [name for name in SCORE_OUTPUT_COLUMNS if name in prepared.raw.columns]
    if clashing:
        raise UserInputError(
            f"input already has output column(s) {', '.join(clashing)}; rename or drop them"
        )
    features = feature_table(prepared, reference, as_of=as_of)
    scores = pl.DataFrame(
        schema={
            PAIR_KEY: pl.UInt32,
            "risk_score": pl.Float64,
            "risk_band": pl.String,
            "model_score": pl.Float64,
            "drivers": pl.String,
        }
    )
    if features.height:
        contributions = family_contributions(features, model)
        scored = pl.concat([features, contributions.drop(PAIR_KEY)], how="horizontal")
        blocked = pl.col("buyer_listed").fill_null(False) | pl.col("flow_ban_in_force").fill_null(
            False
        )
        # A hard rule means the flow is already blocked: the disruption is not a probability
        # any more, so the score is 1 and the model's own estimate stays in model_score.
        scores = scored.select(
            PAIR_KEY,
            pl.when(blocked).then(pl.lit(1.0)).otherwise(pl.col("model_score")).alias("risk_score"),
            pl.when(blocked)
            .then(pl.lit("critical"))
            .otherwise(risk_band(pl.col("model_score")))
            .alias("risk_band"),
            "model_score",
            _driver_texts(scored, reference, as_of=as_of).alias("drivers"),
        )
    resolved = prepared.resolved.join(scores, on=PAIR_KEY, how="left", maintain_order="left")
    output = pl.concat(
        [
            prepared.raw,
            resolved.select(
                "material_id",
                pl.col("supplier_country").alias("supplier_country_iso3"),
                pl.col("buyer_country").alias("buyer_country_iso3"),
                "risk_score",
                "risk_band",
                "model_score",
                "drivers",
                pl.when(pl.col("reason").is_null())
                .then(pl.lit(STATUS_SCORED))
                .otherwise(pl.lit(STATUS_REJECTED))
                .alias("status"),
                "reason",
                pl.lit(model.version).alias("model_version"),
                pl.lit(as_of.isoformat()).alias("as_of"),
            ),
        ],
        how="horizontal",
    )
    return scored_output_schema().validate(output)
