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
from riskengine.reference.loader import ReferenceData
from riskengine.schemas import (
    SCORE_OUTPUT_COLUMNS,
    STATUS_REJECTED,
    STATUS_SCORED,
    resolve_columns,
    scored_output_schema,
)

# Probability thresholds of the bands: low < 0.05 <= medium < 0.15 <= high < 0.40 <= critical.
BAND_THRESHOLDS: tuple[tuple[float, str], ...] = (
    (0.40, "critical"),
    (0.15, "high"),
    (0.05, "medium"),
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

    @property
    def valid(self) -> pl.DataFrame:
        return self.resolved.filter(pl.col("reason").is_null())


def _resolve_unique(
    values: pl.Series, resolve: Callable[[str], str]
) -> dict[str, tuple[str | None, str | None]]:
    results: dict[str, tuple[str | None, str | None]] = {}
    for value in values.drop_nulls().unique().to_list():
        try:
            results[value] = (resolve(value), None)
        except (UnknownMaterialError, CountryError) as error:
            results[value] = (None, str(error))
    return results


def _lookup(column: pl.Series, results: dict, index: int, missing: str) -> pl.Series:
    return pl.Series(
        [
            results[value][index] if value is not None else (None if index == 0 else missing)
            for value in column.to_list()
        ],
        dtype=pl.String,
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
    text = raw.select(
        pl.col(name).cast(pl.String).str.strip_chars().alias(canonical)
        for canonical, name in columns.items()
    )
    catalog = load_catalog()
    materials = _resolve_unique(
        text["material"], lambda value: catalog.resolve_material(value).material_id
    )
    suppliers = _resolve_unique(text["supplier_country"], normalise_country)
    if "buyer_country" in text.columns:
        buyer_countries = text["buyer_country"]
        if buyer_country is not None:
            buyer_countries = buyer_countries.fill_null(buyer_country)
    else:
        buyer_countries = pl.Series([buyer_country] * raw.height, dtype=pl.String)
    if buyer_country is not None:
        try:
            normalise_country(buyer_country)
        except CountryError as error:
            raise UserInputError(f"--buyer-country: {error}") from error
    buyers = _resolve_unique(buyer_countries, normalise_country)

    material_reason = _lookup(text["material"], materials, 1, "material is empty")
    supplier_reason = _lookup(text["supplier_country"], suppliers, 1, "supplier country is empty")
    buyer_reason = pl.Series(
        [buyers[value][1] if value is not None else None for value in buyer_countries.to_list()],
        dtype=pl.String,
    )
    reasons = [material_reason, supplier_reason, buyer_reason]
    supplier_text = text["supplier"]
    reasons.append(
        pl.Series(
            [None if value else "supplier is empty" for value in supplier_text.to_list()],
            dtype=pl.String,
        )
    )
    if "share" in text.columns:
        share = text["share"].str.replace(",", ".").cast(pl.Float64, strict=False)
        bad_share = text["share"].is_not_null() & (
            share.is_null() | (share < 0) | (share > 1) | share.is_nan()
        )
        reasons.append(
            pl.Series(
                [
                    f"share {value!r} is not a fraction between 0 and 1" if bad else None
                    for value, bad in zip(text["share"].to_list(), bad_share.to_list(), strict=True)
                ],
                dtype=pl.String,
            )
        )
    reason = pl.DataFrame(reasons).select(
        pl.concat_str(pl.all(), separator="; ", ignore_nulls=True).alias("reason")
    )["reason"]
    reason = reason.replace("", None)

    buyer_names = (
        text["buyer"]
        if "buyer" in text.columns
        else pl.Series([None] * raw.height, dtype=pl.String)
    )
    if buyer_name is not None:
        buyer_names = buyer_names.fill_null(buyer_name)
    resolved = pl.DataFrame(
        {
            PAIR_KEY: pl.int_range(raw.height, dtype=pl.UInt32, eager=True),
            "material_id": _lookup(text["material"], materials, 0, ""),
            "supplier_country": _lookup(text["supplier_country"], suppliers, 0, ""),
            "buyer_country": pl.Series(
                [
                    buyers[value][0] if value is not None else None
                    for value in buyer_countries.to_list()
                ],
                dtype=pl.String,
            ),
            "supplier_name": supplier_text,
            "buyer_name": buyer_names,
            "reason": reason,
        }
    )
    return PreparedPairs(raw=raw, resolved=resolved)


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


def family_contributions(
    features: pl.DataFrame, model: ScoringModel
) -> tuple[pl.Series, dict[str, pl.Series]]:
    """The model's probability, and per feature family how much it drops when that family is
    set to its neutral (training-median) values."""
    from riskengine.models.matrix import feature_matrix

    matrix = feature_matrix(features, model.feature_names)
    probability = model.model.predict_proba(matrix)[:, 1]
    families: dict[str, list[str]] = {}
    for spec in registry():
        if spec.name in model.feature_names:
            families.setdefault(spec.family, []).append(spec.name)
    contributions = {}
    for family, names in families.items():
        neutral = matrix.copy()
        for name in names:
            neutral[name] = model.neutral_values.get(name, 0.0)
        contributions[family] = pl.Series(probability - model.model.predict_proba(neutral)[:, 1])
    return pl.Series("risk_score", probability, dtype=pl.Float64), contributions


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


def score_pairs(
    prepared: PreparedPairs, reference: ReferenceData, model: ScoringModel, *, as_of: date
) -> pl.DataFrame:
    """One output row per input row, in input order: the input columns, then the scores."""
    from riskengine.explain import DriverWriter

    clashing = [name for name in SCORE_OUTPUT_COLUMNS if name in prepared.raw.columns]
    if clashing:
        raise UserInputError(
            f"input already has output column(s) {', '.join(clashing)}; rename or drop them"
        )
    features = feature_table(prepared, reference, as_of=as_of)
    scores = pl.DataFrame(
        {
            PAIR_KEY: pl.Series([], dtype=pl.UInt32),
            "risk_score": pl.Series([], dtype=pl.Float64),
            "risk_band": pl.Series([], dtype=pl.String),
            "drivers": pl.Series([], dtype=pl.String),
        }
    )
    if features.height:
        probability, contributions = family_contributions(features, model)
        writer = DriverWriter(reference, as_of)
        bands, drivers, final_scores = [], [], []
        # A hard rule means the flow is already blocked: the disruption is not a probability
        # any more, so the score is 1 and the model's own estimate stays in model_score.
        model_bands = pl.DataFrame({"p": probability}).select(risk_band(pl.col("p")).alias("band"))[
            "band"
        ]
        for index, row in enumerate(features.iter_rows(named=True)):
            rules = hard_rules(row)
            row_contributions = {
                family: float(values[index]) for family, values in contributions.items()
            }
            drivers.append(writer.drivers(row, row_contributions, rules))
            bands.append("critical" if rules else model_bands[index])
            final_scores.append(1.0 if rules else float(probability[index]))
        scores = pl.DataFrame(
            {
                PAIR_KEY: features[PAIR_KEY],
                "risk_score": pl.Series(final_scores, dtype=pl.Float64),
                "model_score": probability,
                "risk_band": pl.Series(bands, dtype=pl.String),
                "drivers": pl.Series(drivers, dtype=pl.String),
            }
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
