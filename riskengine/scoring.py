"""Score a sourcing list held in memory: the one path of ``riskengine score`` and of the
registered model's scorer (:mod:`riskengine.serving.pyfunc`).

:func:`score_prepared` scores the chunks :func:`~riskengine.sourcing.prepare_chunks` prepared,
whether ``score`` read them from a file or the MLflow scorer was handed a frame
(:func:`score_frame`); reading and writing files stays in :mod:`riskengine.app.scoring`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from riskengine.errors import UserInputError
from riskengine.mapping import MaterialMapping
from riskengine.sourcing import InputContext, PreparedPairs, prepare_chunks, prepare_part

if TYPE_CHECKING:
    from riskengine.prediction import ScoringModel
    from riskengine.reference.loader import ReferenceData

MAPPING_FINGERPRINT_COLUMN = "mapping_sha256"
EARLIEST_AS_OF = date(2010, 1, 1)


def check_as_of(as_of: date, today: date | None = None) -> tuple[str, ...]:
    """Refuse dates before the reference data; note dates in the future.

    Before 2010 the shipped events and production data are too sparse to describe supply, so
    such a date is refused. A future date is allowed (a planning horizon) with a note: it can
    only use facts known today, plus measures already announced for later.
    """
    if as_of < EARLIEST_AS_OF:
        raise UserInputError(
            f"--as-of {as_of} is before {EARLIEST_AS_OF}, where the reference data begins"
        )
    today = today or date.today()
    if as_of > today:
        return (
            f"--as-of {as_of} is in the future: scores use the facts known today ({today}) and "
            "measures already announced",
        )
    return ()


def with_mapping_fingerprint(frame: pl.DataFrame, mapping: MaterialMapping | None) -> pl.DataFrame:
    """The output with a ``mapping_sha256`` column (the mapping file's SHA-256) when a mapping
    was applied, as ``model_version`` and ``as_of`` record the model and the date."""
    if mapping is None:
        return frame
    if MAPPING_FINGERPRINT_COLUMN in frame.columns:
        raise UserInputError(f"input already has a column {MAPPING_FINGERPRINT_COLUMN}; rename it")
    return frame.with_columns(pl.lit(mapping.sha256).alias(MAPPING_FINGERPRINT_COLUMN))


def score_prepared(
    prepared: Iterable[PreparedPairs],
    reference: ReferenceData,
    model: ScoringModel,
    *,
    as_of: date,
    mapping: MaterialMapping | None = None,
) -> Iterator[pl.DataFrame]:
    """Score each prepared chunk in turn: one output frame per chunk, rows in input order.

    The chunks share rendered driver texts, the features built per key and the model's answers
    per input vector (same reference data, model, date and input); the ``mapping`` applied
    while preparing, if any, is fingerprinted in each output.
    """
    # Imported here: the command line imports this module, and features and the model pipeline
    # load only when something is scored.
    from riskengine.features.runner import FeatureCache
    from riskengine.prediction import PredictionCache, score_pairs

    driver_cache: dict[tuple, str] = {}
    predictions = PredictionCache()
    features = FeatureCache()
    for chunk in prepared:
        # No name holds the output once yielded: the writer frees it while the next is scored.
        yield with_mapping_fingerprint(
            score_pairs(
                chunk,
                reference,
                model,
                as_of=as_of,
                driver_cache=driver_cache,
                prediction_cache=predictions,
                feature_cache=features,
            ),
            mapping,
        )


def score_frame(
    frame: pl.DataFrame,
    reference: ReferenceData,
    model: ScoringModel,
    *,
    as_of: date,
    source: str,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Score a whole sourcing list held in memory, as ``riskengine score`` scores a file.

    Returns the output (every input row, in order, input columns kept, then
    :data:`riskengine.schemas.SCORE_OUTPUT_COLUMNS`) and the notes ``score`` prints (a future
    date, percentage shares, shares summing above 1). ``source`` names the input in messages.

    Raises
    ------
    UserInputError
        For a date before :data:`EARLIEST_AS_OF`, missing required columns, an unknown
        ``buyer_country`` or an input column named like an output column.
    """
    date_notes = check_as_of(as_of)
    context, prepared = prepare_chunks(
        [frame], source=source, buyer_country=buyer_country, buyer_name=buyer_name, as_of=as_of
    )
    (output,) = score_prepared(prepared, reference, model, as_of=as_of)
    return output, (*date_notes, *context.notes)


def score_part(
    frame: pl.DataFrame,
    row_numbers: pl.Series,
    first_pass: InputContext,
    reference: ReferenceData,
    model: ScoringModel,
) -> pl.DataFrame:
    """Score one part of a larger input (a Spark partition, say) with the whole input's first
    pass: each row gets exactly the answer the whole input scored at once gives it.

    ``first_pass`` is the :class:`~riskengine.sourcing.InputContext` that
    :func:`~riskengine.sourcing.prepare_chunks` gathered over the whole input (duplicate
    pairs, supplier ids with several countries, how the share column reads, the sourcing mix,
    the date and defaults the rows are resolved with); ``row_numbers`` the part's rows'
    places in the whole input (1 for its first data row). The first pass's notes are the
    whole input's, for its caller to show once, so none are returned here.

    Raises
    ------
    UserInputError
        For a first pass without a date, or one before :data:`EARLIEST_AS_OF`, row numbers
        that are not one distinct place in the input per row, missing required columns, or an
        input column named like an output column.
    """
    if first_pass.as_of is None:
        raise UserInputError("the first pass gives no as-of date; gather it with one")
    check_as_of(first_pass.as_of)
    try:
        prepared = prepare_part(frame, first_pass, row_numbers)
    except ValueError as error:
        raise UserInputError(f"{first_pass.source}: {error}") from error
    (output,) = score_prepared([prepared], reference, model, as_of=first_pass.as_of)
    return output
