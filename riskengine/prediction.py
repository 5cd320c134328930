"""Score prepared pairs: build features as of a date, predict, calibrate, apply the restriction
state and hard rules, explain. Pure functions of frames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import polars as pl

from riskengine.bands import DEFAULT_CUTOFFS, risk_band
from riskengine.errors import UserInputError
from riskengine.features.builders import registry
from riskengine.features.common import distinct_rows
from riskengine.features.registry import PAIR_KEY
from riskengine.features.runner import FeatureCache, build_features
from riskengine.reference.loader import ReferenceData
from riskengine.restriction_state import STATE_BAND_FLOORS, STATE_COLUMNS, combine, with_state
from riskengine.schemas import (
    SCORE_OUTPUT_COLUMNS,
    row_status,
    scored_output_schema,
)
from riskengine.sourcing import PreparedPairs


class ScoringModel(Protocol):
    """What scoring needs from a registered model (see ``models.tracking.RegisteredModel``).

    ``calibration`` maps the model's raw output to a probability with an interval (empty for
    a model whose output is already calibrated); ``band_cutoffs`` are the alert tiers'
    cut-offs chosen at training (empty: :data:`riskengine.bands.DEFAULT_CUTOFFS`).
    """

    @property
    def model(self) -> Any: ...
    @property
    def version(self) -> str: ...
    @property
    def feature_names(self) -> tuple[str, ...]: ...
    @property
    def neutral_values(self) -> dict[str, float]: ...
    @property
    def calibration(self) -> dict[str, Any]: ...
    @property
    def band_cutoffs(self) -> dict[str, float]: ...


def feature_table(
    prepared: PreparedPairs,
    reference: ReferenceData,
    *,
    as_of: date,
    names: Iterable[str] | None = None,
    cache: FeatureCache | None = None,
) -> pl.DataFrame:
    """Features for the usable rows, one row per usable input row, keyed by ``pair_id``.

    ``names`` limits the table to those features (all registered features by default). The
    sourcing mix is the whole input's (``prepared.sourcing_mix``) when the chunk carries it.
    ``cache`` holds the features built for the input's earlier chunks
    (:class:`~riskengine.features.runner.FeatureCache`).
    """
    wanted = set(names) if names is not None else None
    specs = [spec for spec in registry() if wanted is None or spec.name in wanted]
    return build_features(
        prepared.valid.drop("reason"),
        reference,
        as_of=as_of,
        specs=specs,
        sourcing_mix=prepared.sourcing_mix,
        cache=cache,
    )


def scoring_feature_names(model: ScoringModel) -> list[str]:
    """The features a score needs: the model's inputs, what the drivers and rules cite, and
    the restriction state's facts."""
    from riskengine.explain import DRIVER_COLUMNS

    return list(dict.fromkeys([*model.feature_names, *DRIVER_COLUMNS, *STATE_COLUMNS]))


def calibrated(model: ScoringModel, raw: np.ndarray) -> dict[str, np.ndarray]:
    """``model_score`` and its interval from the model's raw output."""
    if not model.calibration:
        return {"model_score": raw, "model_score_low": raw, "model_score_high": raw}
    from riskengine.models.calibration import Calibration

    calibration = Calibration.from_dict(model.calibration)
    low, high = calibration.interval(raw)
    return {
        "model_score": calibration.point.apply(raw),
        "model_score_low": low,
        "model_score_high": high,
    }


SINGLE_THREAD_ROWS = 50_000


def _families(model: ScoringModel) -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for spec in registry():
        if spec.name in model.feature_names:
            families.setdefault(spec.family, []).append(spec.name)
    return families


@dataclass
class PredictionCache:
    """The model's answers for the input vectors scored so far, shared by the chunks of one
    input (same model, pass it for one model only): chunks of a large list repeat nearly all
    their vectors (3M generated pairs: 5,465 distinct vectors in the first 400k-row chunk, 56
    new in the second, none after the third), so each is predicted once, not once a chunk."""

    scored: pl.DataFrame | None = None


#: Vectors a :class:`PredictionCache` holds at most; past that it starts again from a chunk's.
MAX_CACHED_VECTORS = 1_000_000


def family_contributions(
    features: pl.DataFrame, model: ScoringModel, cache: PredictionCache | None = None
) -> pl.DataFrame:
    """Per row: the model's calibrated probability and its interval, and per feature family how
    much the raw output drops when that family is set to its neutral (training-median) values.

    Rows with the same model inputs get the same answers, so the model runs once per distinct
    input vector (a sourcing list repeats few of them), not once per row; with a ``cache``,
    once per vector over the chunks of an input.
    """
    names = list(model.feature_names)
    distinct, group_of_row = distinct_rows(features, names)
    known = cache.scored if cache is not None else None
    if known is None:
        scored = answers = _scored_vectors(distinct, model)
    else:
        new = distinct.join(known.select(names), on=names, how="anti", nulls_equal=True)
        scored = pl.concat([known, _scored_vectors(new, model)]) if new.height else known
        answers = distinct.join(
            scored, on=names, how="left", nulls_equal=True, maintain_order="left"
        )
    if cache is not None:
        cache.scored = scored if scored.height <= MAX_CACHED_VECTORS else None
    return pl.concat(
        [features.select(PAIR_KEY), answers.drop(names)[group_of_row]], how="horizontal"
    )


def _scored_vectors(distinct: pl.DataFrame, model: ScoringModel) -> pl.DataFrame:
    """``distinct`` input vectors with the model's answers (:func:`family_contributions`)."""
    from threadpoolctl import threadpool_limits

    from riskengine.models.matrix import feature_array, feature_matrix
    from riskengine.models.tree_scorer import TreeScorer

    names = list(model.feature_names)
    by_position = isinstance(model.model, TreeScorer)
    if by_position:
        model.model.check_columns(names)
    position = {name: index for index, name in enumerate(names)}
    matrix = (
        feature_array(distinct, model.feature_names)
        if by_position
        else feature_matrix(distinct, model.feature_names)
    )
    # On a few thousand distinct rows, OpenMP threads cost more in spin-waiting than they save
    # (measured in bench/: 0.16-1.8 s per call on a busy machine against 0.01 s on one thread).
    threads = 1 if distinct.height < SINGLE_THREAD_ROWS else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        probability = model.model.predict_proba(matrix)[:, 1]
        # Calibrated once per distinct input vector: the interval refits 200 maps, which on
        # every row of a million-row input would cost more than the model itself.
        results: dict[str, Any] = dict(calibrated(model, probability))
        for family, family_names in _families(model).items():
            neutral = matrix.copy()
            for name in family_names:
                value = model.neutral_values.get(name, 0.0)
                if by_position:
                    neutral[:, position[name]] = value
                else:
                    neutral[name] = value
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
    return pl.concat([distinct, pl.DataFrame(results)], how="horizontal")


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
    if row.get("supplier_listed_by_buyer_country"):
        entity, list_name, listed_on = (row.get("supplier_listing_entity") or "||").split("|")
        rules.append(
            f"supplier matches '{entity}' on the {list_name}, kept by the buyer's own "
            f"country, listed {listed_on}"
        )
    if row.get("flow_ban_in_force"):
        rules.append(
            f"an export ban from {country_name(row['supplier_country'])} is in force on this flow"
        )
    return rules


def _driver_texts(
    features: pl.DataFrame,
    reference: ReferenceData,
    *,
    as_of: date,
    cache: dict[tuple, str] | None = None,
) -> pl.Series:
    """Drivers per row, rendered once per distinct combination of the facts they cite.

    ``cache`` carries texts already rendered for the same reference data and date (the
    chunks of one input) from one call to the next.
    """
    from riskengine.explain import DRIVER_COLUMNS, DriverWriter

    keys = [*DRIVER_COLUMNS, "family_order"]
    if "restriction_state" in features.columns:
        keys.append("restriction_state")
    distinct, group_of_row = distinct_rows(features, keys)
    cache = {} if cache is None else cache
    writer: DriverWriter | None = None
    texts = []
    for values, row in zip(distinct.iter_rows(), distinct.iter_rows(named=True), strict=True):
        text = cache.get(values)
        if text is None:
            writer = writer or DriverWriter(reference, as_of)
            families = row["family_order"].split(",") if row["family_order"] else []
            text = cache[values] = writer.drivers(row, families, hard_rules(row))
        texts.append(text)
    return pl.Series("drivers", texts, dtype=pl.String).gather(group_of_row)


def score_pairs(
    prepared: PreparedPairs,
    reference: ReferenceData,
    model: ScoringModel,
    *,
    as_of: date,
    driver_cache: dict[tuple, str] | None = None,
    prediction_cache: PredictionCache | None = None,
    feature_cache: FeatureCache | None = None,
) -> pl.DataFrame:
    """One output row per input row, in input order: the input columns, then the scores.

    ``driver_cache`` lets the chunks of one input share rendered driver texts (pass the same
    dict for the same reference data, model and date only), ``prediction_cache`` the model's
    answers (the same model only) and ``feature_cache`` the features built (the same
    reference data, date and input only).
    """
    clashing = [name for name in SCORE_OUTPUT_COLUMNS if name in prepared.raw.columns]
    if clashing:
        raise UserInputError(
            f"input already has output column(s) {', '.join(clashing)}; rename or drop them"
        )
    features = feature_table(
        prepared, reference, as_of=as_of, names=scoring_feature_names(model), cache=feature_cache
    )
    scores = pl.DataFrame(
        schema={
            PAIR_KEY: pl.UInt32,
            "risk_score": pl.Float64,
            "risk_score_low": pl.Float64,
            "risk_score_high": pl.Float64,
            "risk_band": pl.String,
            "model_score": pl.Float64,
            "restriction_state": pl.String,
            "state_score": pl.Float64,
            "drivers": pl.String,
        }
    )
    if features.height:
        contributions = family_contributions(features, model, prediction_cache)
        scored = with_state(pl.concat([features, contributions.drop(PAIR_KEY)], how="horizontal"))
        cutoffs = model.band_cutoffs or DEFAULT_CUTOFFS
        floor = pl.col("restriction_state").replace_strict(
            STATE_BAND_FLOORS, return_dtype=pl.String
        )
        # The state part is a known fact, the hazard a forecast: the flow is restricted if the
        # regime in force binds or a new measure comes (README, "What a score means").
        scores = scored.with_columns(
            combine(pl.col("state_score"), pl.col("model_score")).alias("risk_score"),
            combine(pl.col("state_score"), pl.col("model_score_low")).alias("risk_score_low"),
            combine(pl.col("state_score"), pl.col("model_score_high")).alias("risk_score_high"),
        ).select(
            PAIR_KEY,
            "risk_score",
            "risk_score_low",
            "risk_score_high",
            risk_band(pl.col("risk_score"), cutoffs, floor).alias("risk_band"),
            "model_score",
            "restriction_state",
            "state_score",
            _driver_texts(scored, reference, as_of=as_of, cache=driver_cache).alias("drivers"),
        )
    resolved = prepared.resolved.join(scores, on=PAIR_KEY, how="left", maintain_order="left")
    output = pl.concat(
        [
            prepared.raw,
            resolved.with_columns(
                pl.col("supplier_country").alias("supplier_country_iso3"),
                pl.col("buyer_country").alias("buyer_country_iso3"),
                pl.col("buyer_name").alias("screened_buyer"),
                row_status(),
                pl.lit(model.version).alias("model_version"),
                pl.lit(as_of.isoformat()).alias("as_of"),
                pl.lit(reference.fingerprint).alias("reference_fingerprint"),
            ).select(SCORE_OUTPUT_COLUMNS),
        ],
        how="horizontal",
    )
    return scored_output_schema().validate(output)
