"""Score material-supplier pairs: resolve, build features as of a date, predict, apply hard rules,
explain. Pure functions of frames; reading and writing happen in :mod:`riskengine.io`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import polars as pl

from riskengine.bands import DEFAULT_CUTOFFS, risk_band
from riskengine.catalog import load_catalog, normalise_country
from riskengine.errors import CountryError, UnknownMaterialError, UserInputError
from riskengine.features.registry import PAIR_KEY, registry
from riskengine.features.runner import build_features
from riskengine.io import ChunksUnsafe
from riskengine.parsing import parse_date, parse_share
from riskengine.reference.loader import ReferenceData
from riskengine.restriction_state import STATE_BAND_FLOORS, STATE_COLUMNS, combine, with_state
from riskengine.schemas import (
    SCORE_OUTPUT_COLUMNS,
    STATUS_REJECTED,
    STATUS_SCORED,
    resolve_columns,
    scored_output_schema,
)


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
#: Memory for chunks kept between the two passes of :func:`prepare_chunks`.
KEPT_CHUNK_BYTES = 384 << 20
# Any fixed seed: pair hashes only need to agree within one run, across its chunks.
_PAIR_HASH_SEED = 20260301


def _row_list(rows: pl.Expr) -> pl.Expr:
    shown = rows.list.head(MAX_ROWS_NAMED).cast(pl.List(pl.String)).list.join(", ")
    more = pl.when(rows.list.len() > MAX_ROWS_NAMED).then(
        pl.format(" and {} more", rows.list.len() - MAX_ROWS_NAMED)
    )
    return pl.concat_str(shown, more, ignore_nulls=True)


def _supplier_key() -> pl.Expr:
    """The supplier id as ERP systems compare it: SAP pads numeric ids with leading zeros
    (ALPHA conversion) and exports may or may not carry them, so 0000001234 is 1234."""
    supplier_id = pl.col("supplier_id")
    unpadded = supplier_id.str.strip_chars_start("0")
    return (
        pl.when(supplier_id.str.contains(r"^[0-9]+$"))
        .then(pl.when(unpadded == "").then(pl.lit("0")).otherwise(unpadded))
        .otherwise(supplier_id)
        .alias("supplier_key")
    )


def _pair_identity() -> list[pl.Expr]:
    """What makes two rows the same pair: resolved ids where they exist, so "Dy2O3" from "CN"
    repeats "dysprosium oxide" from "China"."""
    return [
        pl.coalesce("material_id", "material").alias("identity_material"),
        pl.col("supplier").alias("identity_supplier"),
        pl.coalesce("supplier_country_id", "supplier_country").alias("identity_supplier_country"),
        pl.coalesce("buyer_country_id", "buyer_country").alias("identity_buyer_country"),
        pl.col("buyer").alias("identity_buyer"),
        pl.col("supplier_key").alias("identity_supplier_id"),
    ]


_IDENTITY_COLUMNS = [expression.meta.output_name() for expression in _pair_identity()]


@dataclass(frozen=True)
class InputContext:
    """Facts about the whole input that one row's outcome depends on.

    Computed once over every chunk of the input (:func:`prepare_chunks`), so that a row gets
    the same answer whether the file is read whole or in pieces of any size.
    """

    rows: int
    shares: pl.DataFrame
    """share (the stripped cell text), share_value, share_reason: each distinct cell once."""
    duplicate_reasons: pl.DataFrame
    """row_number, duplicate_reason: rows that repeat a pair, each naming all its copies."""
    conflict_reasons: pl.DataFrame
    """supplier_key, conflict_reason: supplier ids given with more than one country."""
    notes: tuple[str, ...] = ()


def _resolve_chunk(
    raw: pl.DataFrame,
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None,
) -> pl.DataFrame:
    """Canonical text columns of one chunk, with materials and countries resolved."""
    columns = resolve_columns(raw.columns, source=source)
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
        *_validity_columns(text, columns, source, as_of),
    ).with_columns(_supplier_key())
    catalog = load_catalog()
    materials = _resolution(
        text["material"], lambda value: catalog.resolve_material(value).material_id
    )
    countries = _resolution(
        pl.concat([text["supplier_country"], text["buyer_country"]]), normalise_country
    )
    return text.with_columns(
        *_resolved_columns("material", materials, "material is empty"),
        *_resolved_columns("supplier_country", countries, "supplier country is empty"),
        *_resolved_columns("buyer_country", countries, "buyer country is empty"),
        pl.when(pl.col("supplier").is_null())
        .then(pl.lit("supplier is empty"))
        .alias("supplier_reason"),
    )


def _validity_columns(
    text: pl.DataFrame, columns: dict[str, str], source: str, as_of: date | None
) -> list[pl.Expr]:
    """The sourcing record's validity period (optional columns) and what is wrong with it:
    a cell that is not a date, an end before the start, or (given ``as_of``) a period that
    does not include that date, since such a record describes supply not, or no longer, in
    place."""
    if "valid_from" not in text.columns and "valid_to" not in text.columns:
        return [
            pl.lit(None, dtype=pl.Date).alias("valid_from_date"),
            pl.lit(None, dtype=pl.Date).alias("valid_to_date"),
            pl.lit(None, dtype=pl.String).alias("validity_reason"),
        ]
    parsed = {}
    for name in ("valid_from", "valid_to"):
        cells = text[name] if name in text.columns else pl.repeat(None, text.height, eager=True)
        parsed[name] = parse_date(cells, column=columns.get(name, name), source=source)
    (valid_from, from_error), (valid_to, to_error) = parsed["valid_from"], parsed["valid_to"]
    start, end = pl.lit(valid_from), pl.lit(valid_to)
    backwards = pl.when(end < start).then(
        pl.format("valid_to {} is before valid_from {}", end, start)
    )
    problems = [pl.lit(from_error), pl.lit(to_error), backwards]
    if as_of is not None:
        outside = ((start > as_of) | (end < as_of)).fill_null(False)
        in_order = (end >= start).fill_null(True)
        problems.append(
            pl.when(outside & in_order).then(
                pl.format(
                    "not in force on {}: valid {} to {}",
                    pl.lit(as_of.isoformat()),
                    start.cast(pl.String).fill_null("(open)"),
                    end.cast(pl.String).fill_null("(open)"),
                )
            )
        )
    return [
        start.alias("valid_from_date"),
        end.alias("valid_to_date"),
        pl.concat_str(*problems, separator="; ", ignore_nulls=True)
        .replace("", None)
        .alias("validity_reason"),
    ]


def _collect_context(
    resolved_chunks: Callable[[], Iterable[pl.DataFrame]],
    *,
    share_column: Callable[[], str],
    source: str,
) -> InputContext:
    """One pass over every chunk (two when some pair hashes repeat) for :class:`InputContext`."""
    hashes: list[pl.Series] = []
    supplier_countries: list[pl.DataFrame] = []
    share_counts: list[pl.DataFrame] = []
    for resolved in resolved_chunks():
        # A record that is not in force (or has bad dates) neither repeats nor contradicts the
        # one that is: source lists keep expired records next to current ones.
        in_force = pl.col("validity_reason").is_null()
        pair_hash = pl.struct(_pair_identity()).hash(_PAIR_HASH_SEED)
        hashes.append(
            resolved.select(pl.when(in_force).then(pair_hash)).to_series().alias("pair_hash")
        )
        supplier_countries.append(
            resolved.filter(pl.col("supplier_id").is_not_null() & in_force)
            .select(
                "supplier_key",
                "supplier_id",
                pl.coalesce("supplier_country_id", "supplier_country").alias("country"),
            )
            .unique()
        )
        share_counts.append(resolved.group_by("share").agg(pl.len().alias("count")))
    rows = sum(series.len() for series in hashes)
    shares = (
        pl.concat(share_counts)
        .group_by("share")
        .agg(pl.col("count").sum())
        .filter(pl.col("share").is_not_null())
        .sort("share")
    )
    parsed = parse_share(
        shares["share"], column=share_column(), source=source, counts=shares["count"]
    )
    share_table = pl.DataFrame(
        {"share": shares["share"], "share_value": parsed.values, "share_reason": parsed.errors},
        schema={"share": pl.String, "share_value": pl.Float64, "share_reason": pl.String},
    )
    repeated = (
        pl.DataFrame(pl.concat(hashes) if hashes else pl.Series("pair_hash", [], pl.UInt64))
        .with_row_index("row_number", offset=1)
        .filter(pl.col("pair_hash").is_not_null() & (pl.len().over("pair_hash") > 1))["row_number"]
    )
    del hashes
    return InputContext(
        rows=rows,
        shares=share_table,
        duplicate_reasons=_duplicate_reasons(resolved_chunks, repeated),
        conflict_reasons=_conflict_reasons(supplier_countries),
        notes=(parsed.note,) if parsed.note else (),
    )


def _duplicate_reasons(
    resolved_chunks: Callable[[], Iterable[pl.DataFrame]], candidates: pl.Series
) -> pl.DataFrame:
    """Rows that repeat the same pair are all refused, naming each other: keeping one would
    be a silent choice between them. ``candidates`` share a hash; the pairs are compared
    exactly here, so a hash collision cannot refuse a row."""
    schema = {"row_number": pl.UInt32, "duplicate_reason": pl.String}
    if candidates.is_empty():
        return pl.DataFrame(schema=schema)
    wanted = candidates.cast(pl.UInt32)
    rows: list[pl.DataFrame] = []
    offset = 1
    for resolved in resolved_chunks():
        rows.append(
            resolved.select(_pair_identity())
            .with_row_index("row_number", offset=offset)
            .filter(pl.col("row_number").is_in(wanted.implode()))
        )
        offset += resolved.height
    copies = pl.concat(rows)
    row_numbers = pl.col("row_number").implode().over(_IDENTITY_COLUMNS, mapping_strategy="join")
    return (
        copies.filter(pl.len().over(_IDENTITY_COLUMNS) > 1)
        .select(
            "row_number",
            pl.format("duplicate pair: data rows {} repeat it", _row_list(row_numbers)).alias(
                "duplicate_reason"
            ),
        )
        .cast(schema)
    )


def _conflict_reasons(supplier_countries: list[pl.DataFrame]) -> pl.DataFrame:
    """One supplier id given with two different countries is refused on every row."""
    schema = {"supplier_key": pl.String, "conflict_reason": pl.String}
    if not supplier_countries:
        return pl.DataFrame(schema=schema)
    return (
        pl.concat(supplier_countries)
        .unique()
        .group_by("supplier_key")
        .agg(
            pl.col("country").n_unique().alias("countries"),
            pl.col("country").drop_nulls().unique().sort().alias("named"),
            pl.col("supplier_id").unique().sort().alias("written"),
        )
        .filter(pl.col("countries") > 1)
        .select(
            "supplier_key",
            pl.format(
                "supplier_id {} appears with several countries ({})",
                pl.col("written").list.join(" / "),
                pl.col("named").list.join(", "),
            ).alias("conflict_reason"),
        )
        .sort("supplier_key")
        .cast(schema)
    )


def prepare_chunks(
    chunks: Iterable[pl.DataFrame],
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None = None,
) -> tuple[InputContext, Iterator[PreparedPairs]]:
    """Prepare an input given as chunks (re-iterable, in file order), one chunk at a time.

    A first pass over the chunks gathers the :class:`InputContext` (duplicates, conflicting
    supplier countries, how the share column reads); the returned iterator then prepares each
    chunk in turn. An input whose chunks fit in :data:`KEPT_CHUNK_BYTES` is read and resolved
    only once.

    Raises
    ------
    MissingColumnsError
        When a required column is absent (nothing is scored then).
    UserInputError
        When ``buyer_country`` given as an option is itself unknown or ambiguous.
    """
    if buyer_country is not None:
        try:
            normalise_country(buyer_country)
        except CountryError as error:
            raise UserInputError(f"--buyer-country: {error}") from error
    options = {
        "source": source,
        "buyer_country": buyer_country,
        "buyer_name": buyer_name,
        "as_of": as_of,
    }
    # Chunks are kept from the first pass for the second while they fit in a memory budget,
    # so an input of a few chunks is read once; a larger one is read again instead.
    kept: list[tuple[pl.DataFrame, pl.DataFrame]] = []
    kept_bytes = 0
    all_kept = False
    share_column = "share"

    def resolved_chunks() -> Iterator[pl.DataFrame]:
        nonlocal kept_bytes, all_kept, share_column
        if all_kept:
            yield from (resolved for _, resolved in kept)
            return
        keeping = True
        for index, raw in enumerate(chunks):
            resolved = _resolve_chunk(raw, **options)
            if index == 0:
                share_column = resolve_columns(raw.columns, source=source).get("share", "share")
            if keeping:
                kept_bytes += raw.estimated_size() + resolved.estimated_size()
                keeping = kept_bytes <= KEPT_CHUNK_BYTES
                if keeping:
                    kept.append((raw, resolved))
                else:
                    kept.clear()
            yield resolved
        all_kept = keeping

    # The share column's own name, for messages, is known once the first chunk is read.
    try:
        context = _collect_context(
            resolved_chunks, share_column=lambda: share_column, source=source
        )
    except ChunksUnsafe:
        # Quoting that chunks cannot follow: read the file whole and start again.
        chunks.read_whole()  # type: ignore[attr-defined]
        kept.clear()
        kept_bytes = 0
        context = _collect_context(
            resolved_chunks, share_column=lambda: share_column, source=source
        )

    def prepared() -> Iterator[PreparedPairs]:
        pieces = (
            _drain(kept) if all_kept else ((raw, _resolve_chunk(raw, **options)) for raw in chunks)
        )
        first_row = 1
        for raw, resolved in pieces:
            yield _finish(raw, resolved, context, first_row)
            first_row += raw.height

    return context, prepared()


def _drain(
    kept: list[tuple[pl.DataFrame, pl.DataFrame]],
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    # Each kept chunk is let go once it has been handed on.
    while kept:
        yield kept.pop(0)


def prepare_pairs(
    raw: pl.DataFrame,
    *,
    source: str,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date | None = None,
) -> PreparedPairs:
    """Resolve materials and countries for every input row; unusable rows get a reason.

    The whole input in one frame; see :func:`prepare_chunks` for ``as_of`` (validity
    periods) and the errors raised.
    """
    _, prepared = prepare_chunks(
        [raw], source=source, buyer_country=buyer_country, buyer_name=buyer_name, as_of=as_of
    )
    return next(prepared)


def _finish(
    raw: pl.DataFrame, resolved: pl.DataFrame, context: InputContext, first_row: int
) -> PreparedPairs:
    resolved = (
        resolved.with_row_index("row_number", offset=first_row)
        .with_columns(pl.col("row_number").cast(pl.UInt32))
        .join(context.shares, on="share", how="left", maintain_order="left")
        .join(context.duplicate_reasons, on="row_number", how="left", maintain_order="left")
        .join(context.conflict_reasons, on="supplier_key", how="left", maintain_order="left")
    )
    bad_share = pl.col("share_reason").is_not_null()
    resolved = resolved.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(PAIR_KEY),
        pl.col("material_id"),
        pl.col("supplier_country_id").alias("supplier_country"),
        pl.col("buyer_country_id").alias("buyer_country"),
        pl.col("supplier").alias("supplier_name"),
        pl.col("buyer").alias("buyer_name"),
        pl.when(bad_share).then(None).otherwise(pl.col("share_value")).alias("share"),
        pl.col("valid_from_date").alias("valid_from"),
        pl.col("valid_to_date").alias("valid_to"),
        pl.concat_str(
            "material_reason",
            "supplier_country_reason",
            # A missing buyer country is allowed: destination measures then do not apply.
            pl.when(pl.col("buyer_country").is_not_null()).then(pl.col("buyer_country_reason")),
            "supplier_reason",
            "share_reason",
            "validity_reason",
            "duplicate_reason",
            "conflict_reason",
            separator="; ",
            ignore_nulls=True,
        )
        .replace("", None)
        .alias("reason"),
    )
    return PreparedPairs(raw=raw, resolved=resolved, notes=context.notes)


def feature_table(
    prepared: PreparedPairs,
    reference: ReferenceData,
    *,
    as_of: date,
    names: Iterable[str] | None = None,
) -> pl.DataFrame:
    """Features for the usable rows, one row per usable input row, keyed by ``pair_id``.

    ``names`` limits the table to those features (all registered features by default).
    """
    wanted = set(names) if names is not None else None
    specs = [spec for spec in registry() if wanted is None or spec.name in wanted]
    return build_features(prepared.valid.drop("reason"), reference, as_of=as_of, specs=specs)


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


def family_contributions(features: pl.DataFrame, model: ScoringModel) -> pl.DataFrame:
    """Per row: the model's calibrated probability and its interval, and per feature family how
    much the raw output drops when that family is set to its neutral (training-median) values.

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
        # Calibrated once per distinct input vector: the interval refits 200 maps, which on
        # every row of a million-row input would cost more than the model itself.
        results: dict[str, Any] = dict(calibrated(model, probability))
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
    distinct = features.select(keys).unique(maintain_order=True)
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
    lookup = distinct.with_columns(pl.Series("drivers", texts, dtype=pl.String))
    return features.select(keys).join(
        lookup, on=keys, how="left", nulls_equal=True, maintain_order="left"
    )["drivers"]


def score_pairs(
    prepared: PreparedPairs,
    reference: ReferenceData,
    model: ScoringModel,
    *,
    as_of: date,
    driver_cache: dict[tuple, str] | None = None,
) -> pl.DataFrame:
    """One output row per input row, in input order: the input columns, then the scores.

    ``driver_cache`` lets the chunks of one input share rendered driver texts (pass the same
    dict for the same reference data, model and date only).
    """
    clashing = [name for name in SCORE_OUTPUT_COLUMNS if name in prepared.raw.columns]
    if clashing:
        raise UserInputError(
            f"input already has output column(s) {', '.join(clashing)}; rename or drop them"
        )
    features = feature_table(prepared, reference, as_of=as_of, names=scoring_feature_names(model))
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
        contributions = family_contributions(features, model)
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
            resolved.select(
                "material_id",
                pl.col("supplier_country").alias("supplier_country_iso3"),
                pl.col("buyer_country").alias("buyer_country_iso3"),
                "risk_score",
                "risk_score_low",
                "risk_score_high",
                "risk_band",
                "model_score",
                "restriction_state",
                "state_score",
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
