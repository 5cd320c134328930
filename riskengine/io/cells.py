"""Numbers from the text cells of real exports: decimal commas, thousands separators, SAP signs.

Every function here is pure and vectorised: it takes a whole column and returns the values
plus, per row, either null or a message naming the source, the column and the cell. The
caller adds the row or line number and decides what a bad row means (usually: reject it).

How :func:`parse_decimal` reads a cell
-------------------------------------
* Surrounding whitespace (non-breaking spaces included) is ignored; an empty cell is null,
  not an error.
* A leading ``+``/``-`` or a trailing ``-`` (SAP/ALV style, ``100-`` is -100) sets the sign;
  both at once is an error.
* A trailing ``%`` divides by 100 (``12,5 %`` is 0.125).
* Scientific notation (``1.5E+03``, ``1,5E3``) is accepted with a single decimal separator.
* ``NaN``, ``inf`` and anything else that is not a number is an error, as is a number too
  large to be finite. Spaces or apostrophes as thousands separators (``1 234``, ``1'234``)
  are not accepted: they are rare in ERP exports and a space can also join two numbers.

Which separator is the decimal one is decided per column, because a single cell such as
``1,234`` or ``1.250`` can be read either way:

* A cell that can be read only one way is evidence: ``0,5`` and ``1.234,56`` and
  ``1.234.567`` say the decimal separator is ``,``; ``12.5``, ``0.125``, ``1,234.56`` and
  ``1,234,567`` say it is ``.``.
* If the evidence points one way, every cell is read that way: ``1,234`` in a column that
  also holds ``0,5`` is 1.234.
* If there is no evidence, cells that could be read both ways (one separator followed by
  exactly three digits, as in ``1,234``) are errors. If the evidence points both ways (a
  hand-edited column), each cell that can be read only one way keeps that reading and the
  ambiguous ones are errors.
* ``decimal_separator`` pins the choice, and a cell that fits only the other convention
  (``1,234.5`` when ``,`` is pinned) is an error. Pin it for columns that hold only
  ambiguous cells, and when a column is parsed in chunks: the evidence is the chunk's, so
  take it from :func:`detect_decimal_separator` on the whole column to keep results
  independent of the chunk size.

How :func:`parse_share` reads a share
-------------------------------------
Shares are fractions in [0, 1]. A column holds percentages instead when, among its valid
cells without a ``%`` sign, some value is above 1, none is above 100 and their sum is above
1.5. Then all those cells are divided by 100 (so ``0.5`` in such a column is 0.5 %) and a note
says so. The sum condition keeps a lone slip such as ``1.2`` in a column of fractions from
turning the whole column into percentages: it stays an error. Cells with ``%`` are percentages
whatever the column looks like. Negative shares and shares above 1 after scaling are errors;
``scale`` pins the reading.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import polars as pl

from riskengine.errors import UserInputError
from riskengine.io.numbertext import (
    EXCEL_ERROR_PROBLEM,
    EXCEL_ERROR_VALUES,
    MAXIMUM_MAGNITUDE,
    SHOWN_CHARACTERS,
    classify,
    is_excel_error,
    message,
    problem,
    reading,
    separator_from_evidence,
    shown_cell,
    value,
)

__all__ = [
    "EXCEL_ERROR_VALUES",
    "MAXIMUM_MAGNITUDE",
    "detect_decimal_separator",
    "excel_error_message",
    "is_excel_error",
    "parse_date",
    "parse_decimal",
    "parse_share",
]

DecimalSeparator = Literal[",", "."]
ShareScale = Literal["auto", "fraction", "percent"]

#: Shares are read as percentages only when the column's bare values add up to more than this.
PERCENT_COLUMN_MINIMUM_SUM = 1.5


class ParsedShares(NamedTuple):
    """Result of :func:`parse_share`."""

    values: pl.Series
    """Fractions in [0, 1] (Float64); null where the cell is empty or has an error."""
    errors: pl.Series
    """Per row, null or a message naming the source, column and cell."""
    note: str | None
    """Set when the column was read as percentages without being told to."""


def parse_decimal(
    series: pl.Series,
    *,
    column: str,
    source: str,
    decimal_separator: DecimalSeparator | None = None,
) -> tuple[pl.Series, pl.Series]:
    """Read a column of numbers written in any common locale; see the module docstring.

    Parameters
    ----------
    series
        The cells, usually text; a numeric series is checked for NaN and infinity only.
    column, source
        Column and file names for the messages.
    decimal_separator
        ``","`` or ``"."`` to pin the decimal separator instead of inferring it per column.

    Returns
    -------
    values, errors
        Float64 values (null for empty or bad cells) and, per row, null or a message.
    """
    if decimal_separator not in (None, ",", "."):
        raise UserInputError(f"decimal separator must be ',' or '.', not {decimal_separator!r}")
    if series.dtype.is_numeric():
        return _check_numeric(series, column=column, source=source)
    return _parse_text(series, column=column, source=source, separator=decimal_separator)


def _parse_text(
    series: pl.Series,
    *,
    column: str,
    source: str,
    separator: str | None,
    bare_exponent_shift: int = 0,
) -> tuple[pl.Series, pl.Series]:
    """Parse text cells; cells without ``%`` are scaled by 10**``bare_exponent_shift``."""
    cells = classify(series)
    separator = separator or separator_from_evidence(cells)
    frame = cells.with_columns(reading(separator, bare_exponent_shift)).with_columns(
        problem(separator).alias("problem")
    )
    result = frame.select(
        value().alias(column),
        message(column=column, source=source).alias(f"{column}_error"),
    )
    return result[column], result[f"{column}_error"]


def detect_decimal_separator(series: pl.Series) -> DecimalSeparator | None:
    """The decimal separator a text column's unambiguous cells agree on, if they agree.

    Call it on the whole column and pass the result to :func:`parse_decimal` and
    :func:`parse_share` when parsing that column in chunks.
    """
    if series.dtype.is_numeric():
        return None
    separator = separator_from_evidence(classify(series))
    if separator == ",":
        return ","
    if separator == ".":
        return "."
    return None


def parse_share(
    series: pl.Series,
    *,
    column: str,
    source: str,
    decimal_separator: DecimalSeparator | None = None,
    scale: ShareScale = "auto",
    counts: pl.Series | None = None,
) -> ParsedShares:
    """Read a column of supply shares as fractions in [0, 1]; see the module docstring.

    Parameters
    ----------
    series, column, source, decimal_separator
        As for :func:`parse_decimal`.
    scale
        ``"auto"`` decides per column whether bare numbers are fractions or percentages;
        ``"fraction"`` or ``"percent"`` pins it.
    counts
        How many cells each entry of ``series`` stands for, when the caller parses the
        distinct cells of a longer column; weighs the column sum behind ``"auto"``.

    Returns
    -------
    ParsedShares
        Values, per-row errors and a note when the column was read as percentages.
    """
    values, errors = parse_decimal(
        series, column=column, source=source, decimal_separator=decimal_separator
    )
    if series.dtype.is_numeric():
        has_percent_sign = pl.repeat(False, series.len(), eager=True)
    else:
        has_percent_sign = (
            series.cast(pl.String).str.strip_chars().str.ends_with("%").fill_null(False)
        )
    frame = pl.DataFrame(
        {
            "text": series.cast(pl.String),
            "value": values,
            "error": errors,
            "percent_sign": has_percent_sign,
            "count": counts if counts is not None else pl.repeat(1, series.len(), eager=True),
        },
        schema={
            "text": pl.String,
            "value": pl.Float64,
            "error": pl.String,
            "percent_sign": pl.Boolean,
            "count": pl.Int64,
        },
    )
    valid = pl.col("value").is_not_null() & pl.col("error").is_null()
    bare = valid & ~pl.col("percent_sign") & (pl.col("value") >= 0)
    largest, total = frame.select(
        pl.col("value").filter(bare).max().alias("largest"),
        (pl.col("value") * pl.col("count")).filter(bare).sum().alias("total"),
    ).row(0)
    chosen, reason = _share_scale(scale, largest, total)
    note = None
    if scale == "auto" and chosen == "percent":
        note = (
            f"{source}: column {column!r} read as percentages (largest value {largest:g}, none "
            f"above 100, sum {total:g} > {PERCENT_COLUMN_MINIMUM_SUM:g}); divided by 100"
        )
    if chosen == "percent":
        # Shifting the decimal exponent in the text keeps 70 -> 0.7 exact; dividing the float
        # by 100 can give 0.7000000000000001.
        if series.dtype.is_numeric():
            rescaled = _parse_text(
                series.cast(pl.String),
                column=column,
                source=source,
                separator=".",
                bare_exponent_shift=-2,
            )[0]
        else:
            rescaled = _parse_text(
                series,
                column=column,
                source=source,
                separator=decimal_separator,
                bare_exponent_shift=-2,
            )[0]
        frame = frame.with_columns(
            pl.when(bare).then(rescaled).otherwise(pl.col("value")).alias("value")
        )
    prefix = pl.lit(f"{source}: column {column!r}: ")
    share_error = (
        pl.when(valid & (pl.col("value") < 0))
        .then(pl.concat_str(prefix, shown_cell(), pl.lit(" is negative; a share is 0 to 1")))
        # Why bare numbers were not read as percentages is about the column, and cites its
        # other cells; a cell with its own % sign was read as a percentage regardless.
        .when(valid & (pl.col("value") > 1) & pl.col("percent_sign"))
        .then(pl.concat_str(prefix, shown_cell(), pl.lit(" is above 100 %")))
        .when(valid & (pl.col("value") > 1))
        .then(pl.concat_str(prefix, shown_cell(), pl.lit(f" is above 1 (100 %){reason}")))
    )
    result = frame.select(
        pl.when(share_error.is_null()).then(pl.col("value")).alias(column),
        pl.coalesce(pl.col("error"), share_error).alias(f"{column}_error"),
    )
    return ParsedShares(result[column], result[f"{column}_error"], note)


def _share_scale(
    scale: ShareScale, largest: float | None, total: float | None
) -> tuple[Literal["fraction", "percent"], str]:
    """The scale bare numbers are read in, and why values above 1 are then errors."""
    if scale != "auto":
        return scale, ""
    if largest is None or total is None or largest <= 1:
        return "fraction", ""
    if largest > 100:
        return "fraction", f"; not read as percentages because the column holds {largest:g}"
    if total <= PERCENT_COLUMN_MINIMUM_SUM:
        return "fraction", (
            f"; not read as percentages because the column sums to only {total:g} "
            f"(at most {PERCENT_COLUMN_MINIMUM_SUM:g})"
        )
    return "percent", ""


# --- internals -----------------------------------------------------------------------------------


def _check_numeric(series: pl.Series, *, column: str, source: str) -> tuple[pl.Series, pl.Series]:
    values = series.cast(pl.Float64)
    frame = pl.DataFrame({"value": values})
    finite = pl.col("value").is_finite()
    in_range = pl.col("value").abs() <= MAXIMUM_MAGNITUDE
    message = pl.concat_str(
        pl.lit(f"{source}: column {column!r}: '"),
        pl.col("value").cast(pl.String),
        pl.when(finite)
        .then(pl.lit(f"' is out of range (largest accepted magnitude {MAXIMUM_MAGNITUDE:.0e})"))
        .otherwise(pl.lit("' is not a finite number")),
    )
    result = frame.select(
        pl.when((finite & in_range) | pl.col("value").is_null())
        .then(pl.col("value"))
        .alias(column),
        pl.when(~(finite & in_range)).then(message).alias(f"{column}_error"),
    )
    return result[column], result[f"{column}_error"]


def excel_error_message(text: pl.Expr, *, column: str, source: str | None = None) -> pl.Expr:
    """Why a text cell that is a spreadsheet error value (:func:`is_excel_error`) cannot be
    read, naming the column and the value; null for other cells.

    ``source`` (the file) starts the message when given, as the parsers' messages do.
    """
    prefix = f"{source}: column {column!r}: " if source else f"column {column!r}: "
    return pl.when(is_excel_error(text)).then(
        pl.format(f"{prefix}'{{}}' {EXCEL_ERROR_PROBLEM}", text.str.strip_chars())
    )


# --- dates ---------------------------------------------------------------------------------------

#: Date forms read from sourcing files: ISO (a valid time and zone after it are ignored),
#: SAP's YYYYMMDD (also as the number 20260301.0), and the day-first DD.MM.YYYY of European
#: exports (with an optional time). Slash dates are refused: 03/04/2026 is ambiguous. SAP's
#: "no date" (00000000, 0000-00-00) is an empty cell: an open-ended period.
_TIME = (
    r"(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?: ?(?:Z|UTC|[+-]\d{2}:?\d{2}))?)?"
)
DATE_FORMATS = {
    "iso": (rf"^\d{{4}}-\d{{2}}-\d{{2}}{_TIME}$", "%Y-%m-%d"),
    "sap": (r"^\d{8}(?:\.0+)?$", "%Y%m%d"),
    "dotted": (rf"^\d{{1,2}}\.\d{{1,2}}\.\d{{4}}{_TIME}$", "%d.%m.%Y"),
}
_NO_DATE = r"^0{4}-?0{2}-?0{2}$"


def parse_date(series: pl.Series, *, column: str, source: str) -> tuple[pl.Series, pl.Series]:
    """Read a column of dates; see :data:`DATE_FORMATS`.

    Returns
    -------
    values, errors
        Date values (null for empty or bad cells) and, per row, null or a message naming the
        source, the column and the cell.
    """
    text = pl.col("text")
    parsed = pl.lit(None, dtype=pl.Date)
    # The date is what comes before a time: a space, a T or a decimal point.
    day = text.str.extract(r"^([0-9.\-]+?)(?:[ T]|\.0+$|$)")
    for pattern, layout in reversed(DATE_FORMATS.values()):
        parsed = (
            pl.when(text.str.contains(pattern))
            .then(day.str.to_date(layout, strict=False))
            .otherwise(parsed)
        )
    frame = pl.DataFrame({"text": series.cast(pl.String).str.strip_chars()}).with_columns(
        pl.when(pl.col("text").str.contains(_NO_DATE))
        .then(pl.lit(""))
        .otherwise(pl.col("text"))
        .alias("text")
    )
    frame = frame.with_columns(parsed.alias("value"))
    bad = pl.col("text").is_not_null() & (pl.col("text") != "") & pl.col("value").is_null()
    result = frame.select(
        pl.col("value").alias(column),
        pl.when(bad & is_excel_error(pl.col("text")))
        .then(excel_error_message(pl.col("text"), column=column, source=source))
        .when(bad)
        .then(
            pl.format(
                "{}: column {}: '{}' is not a date (use YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY)",
                pl.lit(source),
                pl.lit(repr(column)),
                pl.col("text").str.slice(0, SHOWN_CHARACTERS),
            )
        )
        .alias(f"{column}_error"),
    )
    return result[column], result[f"{column}_error"]
