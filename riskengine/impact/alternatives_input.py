"""What ``riskengine alternatives`` is given: a checked output of ``riskengine score`` and the
user's constraints (share of volume moved, smallest producer, countries excluded, existing
countries only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.bands import RISK_BANDS
from riskengine.catalog import normalise_country
from riskengine.errors import CountryError, MissingColumnsError, UserInputError, shorten
from riskengine.io.cells import parse_decimal
from riskengine.io.columns import SOURCING_ALIASES, resolve_columns
from riskengine.schemas import SCORE_OUTPUT_COLUMNS, SCORES_FILE_COLUMNS, STATUS_SCORED

#: A second source taking under a third of the volume while the incumbent keeps the rest.
DEFAULT_MOVE = 0.3
#: Producers below 1% of world output are left out unless asked for.
DEFAULT_MIN_SHARE = 0.01


@dataclass(frozen=True)
class Constraints:
    """What the user allows: the share of volume moved, the smallest producer considered,
    countries excluded and whether only countries already supplying the team count."""

    move: float = DEFAULT_MOVE
    min_share: float = DEFAULT_MIN_SHARE
    exclude: frozenset[str] = frozenset()
    existing_only: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.move <= 1.0:
            raise UserInputError(f"--move {self.move:g}: give a fraction above 0 and at most 1")
        if not 0.0 <= self.min_share <= 1.0:
            raise UserInputError(f"--min-share {self.min_share:g}: give a fraction from 0 to 1")


def parse_countries(text: str | None, *, option: str) -> frozenset[str]:
    """ISO alpha-3 codes of a comma-separated list of countries in any spelling ``score``
    accepts; an unknown or ambiguous one is an error naming ``option``."""
    codes = set()
    for item in (text or "").split(","):
        if not item.strip():
            continue
        try:
            codes.add(normalise_country(item))
        except CountryError as error:
            raise UserInputError(f"{option}: {error}") from None
    return frozenset(codes)


@dataclass(frozen=True)
class ScoresInput:
    """A checked output of ``riskengine score``."""

    frame: pl.DataFrame
    """As read, with ``risk_score`` as numbers."""
    source: str
    as_of: date
    model_version: str
    columns: dict[str, str]
    """Canonical input column (supplier, and material, buyer, plant when present) → header."""


def read_scores(frame: pl.DataFrame, *, source: str) -> ScoresInput:
    """Check that ``frame`` is an output of ``riskengine score`` from one model version and one
    as-of date, and read its scores as numbers.

    Raises
    ------
    MissingColumnsError
        When a column of the scoring contract (or the supplier) is missing.
    UserInputError
        When a scored row's ``risk_score`` is not a probability or its ``risk_band`` not a
        band (naming the data row), or the file mixes as-of dates or model versions.
    """
    missing = [name for name in SCORES_FILE_COLUMNS if name not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"{source}: not an output of `riskengine score`: missing column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        )
    input_columns = [name for name in frame.columns if name not in SCORE_OUTPUT_COLUMNS]
    columns = resolve_columns(
        input_columns, source=source, aliases=SOURCING_ALIASES, required=("supplier",)
    )
    scored = (frame["status"].cast(pl.String) == STATUS_SCORED).fill_null(False)
    values, errors = parse_decimal(frame["risk_score"], column="risk_score", source=source)
    checks = pl.DataFrame(
        {
            "row": pl.int_range(1, frame.height + 1, eager=True),
            "scored": scored,
            "value": values,
            "error": errors,
            "band": frame["risk_band"].cast(pl.String),
        }
    ).filter("scored")
    bad_score = checks.filter(
        pl.col("error").is_not_null() | ~pl.col("value").is_between(0.0, 1.0).fill_null(False)
    )
    if bad_score.height:
        row, _, value, error, _ = bad_score.row(0)
        message = error or (
            f"{source}: column 'risk_score': {shorten(value)!r} is not a probability from 0 to 1"
        )
        raise UserInputError(f"{message} (data row {row}, a scored row)")
    bad_band = checks.filter(~pl.col("band").is_in(list(RISK_BANDS)).fill_null(True))
    if bad_band.height:
        row, *_, band = bad_band.row(0)
        raise UserInputError(
            f"{source}: column 'risk_band': {shorten(band)!r} is not one of "
            f"{', '.join(RISK_BANDS)} (data row {row}, a scored row)"
        )
    as_of_text = _single(frame.filter(scored)["as_of"], "as_of", source)
    try:
        as_of = date.fromisoformat(as_of_text)
    except ValueError:
        raise UserInputError(
            f"{source}: column 'as_of': {shorten(as_of_text)!r} is not a date in YYYY-MM-DD form"
        ) from None
    return ScoresInput(
        frame=frame.with_columns(values.alias("risk_score")),
        source=source,
        as_of=as_of,
        model_version=_single(frame.filter(scored)["model_version"], "model_version", source),
        columns=columns,
    )


def _single(values: pl.Series, column: str, source: str) -> str:
    distinct = values.cast(pl.String).drop_nulls().unique().sort().to_list()
    if len(distinct) != 1:
        found = ", ".join(repr(shorten(value, 40)) for value in distinct[:5]) or "none"
        raise UserInputError(
            f"{source}: column {column!r}: alternatives need the scored rows of one run, with "
            f"one value here (found {found})"
        )
    return str(distinct[0])
