"""How a text cell holding a number is classified and read: the vectorised regular
expressions behind :func:`riskengine.io.cells.parse_decimal` (see that module's docstring for
the rules)."""

from __future__ import annotations

import re

import polars as pl

_NUMBER = (
    r"^(?P<lead>[+-]?)(?P<body>[0-9.,]*[0-9][0-9.,]*)(?P<exponent>[eE][+-]?[0-9]+)?(?P<trail>-?)$"
)
_NOT_FINITE = r"(?i)^[+-]?(nan|inf|infinity)%?$"
_PLAIN = r"^[0-9]+$"
_DOT_DECIMAL = r"^[0-9]*\.[0-9]*$"
_COMMA_DECIMAL = r"^[0-9]*,[0-9]*$"
_DOT_GROUPED = r"^[1-9][0-9]{0,2}(\.[0-9]{3})+$"
_COMMA_GROUPED = r"^[1-9][0-9]{0,2}(,[0-9]{3})+$"
_DOT_GROUPED_COMMA_DECIMAL = r"^[1-9][0-9]{0,2}(\.[0-9]{3})+,[0-9]*$"
_COMMA_GROUPED_DOT_DECIMAL = r"^[1-9][0-9]{0,2}(,[0-9]{3})+\.[0-9]*$"
SHOWN_CHARACTERS = 40
#: What a spreadsheet shows when a cell's formula fails. Exported, such a cell is text that
#: looks like a value; it is never read as empty or as a name.
EXCEL_ERROR_VALUES = (
    "#N/A",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NAME?",
    "#NUM!",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
    "#FIELD!",
    "#BLOCKED!",
    "#CONNECT!",
    "#BUSY!",
    "#UNKNOWN!",
    "#GETTING_DATA",
)
EXCEL_ERROR_PROBLEM = "is a spreadsheet error value (the formula behind the cell failed)"
#: Largest magnitude a number cell may have. Below 2**53 (about 9.007e15) every whole number is
#: exact as a float, and no quantity, volume or price comes near it; a product or sum of a few
#: such numbers stays finite, where 1e308 overflows to infinity at the first multiplication.
MAXIMUM_MAGNITUDE = 1e15


# One anchored regular expression: a cell that does not start with "#" fails at once, which
# keeps the check cheap on millions of names.
_EXCEL_ERROR = (
    r"(?i)^\s*(?:" + "|".join(re.escape(value) for value in EXCEL_ERROR_VALUES) + r")\s*$"
)


def is_excel_error(text: pl.Expr) -> pl.Expr:
    """Whether a text cell (surrounding spaces ignored) is a spreadsheet error value."""
    return text.str.contains(_EXCEL_ERROR).fill_null(False)


def classify(series: pl.Series) -> pl.DataFrame:
    """One row per cell: its text, sign, percent, number body and which shapes it fits."""
    text = pl.col("text")
    core = pl.col("core")
    body = pl.col("body")
    frame = pl.DataFrame({"text": series.cast(pl.String)})
    frame = frame.with_columns(stripped=text.str.strip_chars())
    frame = frame.with_columns(
        empty=pl.col("stripped").is_null() | (pl.col("stripped") == ""),
        percent=pl.col("stripped").str.ends_with("%").fill_null(False),
    )
    frame = frame.with_columns(
        core=pl.when(pl.col("percent"))
        .then(pl.col("stripped").str.strip_suffix("%").str.strip_chars_end())
        .otherwise(pl.col("stripped"))
    )
    frame = frame.with_columns(core.str.extract_groups(_NUMBER).alias("parts")).unnest("parts")
    fits = {
        "plain": _PLAIN,
        "dot_decimal": _DOT_DECIMAL,
        "comma_decimal": _COMMA_DECIMAL,
        "dot_grouped": _DOT_GROUPED,
        "comma_grouped": _COMMA_GROUPED,
        "dot_grouped_comma_decimal": _DOT_GROUPED_COMMA_DECIMAL,
        "comma_grouped_dot_decimal": _COMMA_GROUPED_DOT_DECIMAL,
    }
    frame = frame.with_columns(
        (body.str.contains(pattern).fill_null(False) & pl.col("exponent").is_null()).alias(name)
        for name, pattern in fits.items()
    )
    return frame.with_columns(
        evidence_dot=(pl.col("dot_decimal") & ~pl.col("dot_grouped"))
        | (pl.col("comma_grouped") & ~pl.col("comma_decimal"))
        | pl.col("comma_grouped_dot_decimal"),
        evidence_comma=(pl.col("comma_decimal") & ~pl.col("comma_grouped"))
        | (pl.col("dot_grouped") & ~pl.col("dot_decimal"))
        | pl.col("dot_grouped_comma_decimal"),
        ambiguous=(pl.col("dot_decimal") & pl.col("dot_grouped"))
        | (pl.col("comma_decimal") & pl.col("comma_grouped")),
        scientific=pl.col("exponent").is_not_null()
        & body.str.contains(r"^([0-9]+([.,][0-9]*)?|[.,][0-9]+)$").fill_null(False),
    )


def separator_from_evidence(cells: pl.DataFrame) -> str | None:
    """``","`` or ``"."`` when the evidence agrees, ``"mixed"`` when it conflicts, else None."""
    dot, comma = cells.select(pl.col("evidence_dot").any(), pl.col("evidence_comma").any()).row(0)
    if dot and comma:
        return "mixed"
    if dot:
        return "."
    if comma:
        return ","
    return None


def reading(separator: str | None, bare_exponent_shift: int) -> list[pl.Expr]:
    """Columns ``readable`` (the cell has one reading here) and ``number`` (that reading).

    ``number`` is plain float text with an exponent carrying the ``%`` and any rescaling,
    so the float is rounded once, when the text is cast.
    """
    body = pl.col("body")
    dot_reading = body.str.replace_all(",", "", literal=True)
    comma_reading = body.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    fits_dot = (
        pl.col("plain")
        | pl.col("dot_decimal")
        | pl.col("comma_grouped")
        | pl.col("comma_grouped_dot_decimal")
    )
    fits_comma = (
        pl.col("plain")
        | pl.col("comma_decimal")
        | pl.col("dot_grouped")
        | pl.col("dot_grouped_comma_decimal")
    )
    if separator == ".":
        readable, mantissa = fits_dot, dot_reading
    elif separator == ",":
        readable, mantissa = fits_comma, comma_reading
    else:
        # No agreed separator: only cells that can be read one way have a value.
        readable = pl.col("plain") | pl.col("evidence_dot") | pl.col("evidence_comma")
        mantissa = pl.when(pl.col("evidence_comma")).then(comma_reading).otherwise(dot_reading)
    mantissa = (
        pl.when(pl.col("scientific"))
        .then(body.str.replace(",", ".", literal=True))
        .otherwise(mantissa)
    )
    written = pl.col("exponent").str.slice(1).cast(pl.Int64, strict=False).fill_null(0)
    shift = pl.when(pl.col("percent")).then(-2).otherwise(bare_exponent_shift)
    overflow = pl.col("exponent").str.len_chars() > 8
    number = pl.concat_str(mantissa, pl.lit("e"), (written + shift).cast(pl.String))
    readable = readable | pl.col("scientific")
    return [
        readable.alias("readable"),
        pl.when(~overflow.fill_null(False)).then(number).alias("number"),
    ]


def value() -> pl.Expr:
    negative = (pl.col("lead") == "-") | (pl.col("trail") == "-")
    magnitude = pl.col("number").cast(pl.Float64, strict=False)
    signed = pl.when(negative).then(-magnitude).otherwise(magnitude)
    # -0.0 would print as "-0.0" and break byte-identical outputs.
    value = pl.when(signed == 0).then(0.0).otherwise(signed)
    return pl.when(pl.col("problem").is_null()).then(value)


def problem(separator: str | None) -> pl.Expr:
    """Why a cell has no value (null when it has one or is empty)."""
    magnitude = pl.col("number").cast(pl.Float64, strict=False)
    unreadable = pl.lit("is not a number (misplaced separators)")
    if separator in (",", "."):
        # Ambiguous cells fit both conventions, so an unreadable cell here either fits only
        # the other convention or none.
        fits_other = pl.col("evidence_dot") if separator == "," else pl.col("evidence_comma")
        unreadable = (
            pl.when(fits_other)
            .then(pl.lit(f"does not fit the column's decimal separator '{separator}'"))
            .otherwise(unreadable)
        )
    reason = (
        "the column uses both as decimal separators"
        if separator == "mixed"
        else ("no other cell in the column shows which")
    )
    ambiguous = pl.lit(
        "is ambiguous (',' and '.' could each be the decimal or the thousands separator) and "
        f"{reason}; pin the decimal separator"
    )
    return (
        pl.when(pl.col("empty"))
        .then(None)
        .when(is_excel_error(pl.col("stripped")))
        .then(pl.lit(EXCEL_ERROR_PROBLEM))
        .when(pl.col("stripped").str.contains(_NOT_FINITE))
        .then(pl.lit("is not a finite number"))
        .when(pl.col("body").is_null())
        .then(pl.lit("is not a number"))
        .when((pl.col("lead") != "") & (pl.col("trail") == "-"))
        .then(pl.lit("has two signs"))
        .when(pl.col("exponent").is_not_null() & ~pl.col("scientific"))
        .then(pl.lit("is not a number (scientific notation takes one decimal separator)"))
        .when(pl.col("ambiguous") & ~pl.col("readable"))
        .then(ambiguous)
        .when(~pl.col("readable"))
        .then(unreadable)
        .when(magnitude.is_null() | ~magnitude.is_finite() | (magnitude > MAXIMUM_MAGNITUDE))
        .then(pl.lit(f"is out of range (largest accepted magnitude {MAXIMUM_MAGNITUDE:.0e})"))
    )


def message(*, column: str, source: str) -> pl.Expr:
    problem = pl.col("problem")
    return pl.when(problem.is_not_null()).then(
        pl.concat_str(pl.lit(f"{source}: column {column!r}: "), shown_cell(), pl.lit(" "), problem)
    )


def shown_cell() -> pl.Expr:
    """The cell's text in quotes, clipped so one huge cell cannot flood a report."""
    text = pl.col("text")
    clipped = (
        pl.when(text.str.len_chars() > SHOWN_CHARACTERS)
        .then(text.str.slice(0, SHOWN_CHARACTERS) + "...")
        .otherwise(text)
    )
    return pl.lit("'") + clipped + pl.lit("'")
