"""Locale-tolerant numbers and shares: one reading per cell or a message, never an exception."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskengine.errors import UserInputError
from riskengine.io.cells import (
    PERCENT_COLUMN_MINIMUM_SUM,
    detect_decimal_separator,
    parse_date,
    parse_decimal,
    parse_share,
)


def decimals(cells: list[str | None], **options: str) -> list[tuple[float | None, str | None]]:
    values, errors = parse_decimal(
        pl.Series(cells, dtype=pl.String), column="quantity", source="bom.csv", **options
    )
    return list(zip(values.to_list(), errors.to_list(), strict=True))


def value_of(cell: str, **options: str) -> float | None:
    [(value, error)] = decimals([cell], **options)
    assert error is None, error
    return value


def error_of(cells: list[str | None], index: int = 0, **options: str) -> str:
    value, error = decimals(cells, **options)[index]
    assert value is None
    assert error is not None
    return error


# --- parse_decimal: one cell at a time ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1.5", 1.5),
        ("1,5", 1.5),
        ("0.125", 0.125),
        ("0,125", 0.125),
        ("1.234,56", 1234.56),
        ("1,234.56", 1234.56),
        ("1.234.567", 1234567.0),
        ("1,234,567", 1234567.0),
        ("1.234.567,5", 1234567.5),
        ("1234.567", 1234.567),
        ("42", 42.0),
        ("100-", -100.0),
        ("1.234,5-", -1234.5),
        ("-7.25", -7.25),
        ("+3", 3.0),
        ("  2.5  ", 2.5),
        ("\u00a012,5\u00a0", 12.5),
        ("50%", 0.5),
        ("12,5 %", 0.125),
        ("-5%", -0.05),
        ("70%", 0.7),
        (".5", 0.5),
        ("1.5E+03", 1500.0),
        ("1,5e3", 1500.0),
        ("-0", 0.0),
    ],
)
def test_a_cell_with_one_reading_is_read(cell: str, expected: float) -> None:
    assert value_of(cell) == expected


def test_zero_is_never_negative() -> None:
    assert math.copysign(1.0, value_of("0-") or 1.0) == 1.0


@pytest.mark.parametrize("cell", ["", "   ", None])
def test_empty_cells_are_null_without_an_error(cell: str | None) -> None:
    assert decimals([cell]) == [(None, None)]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("NaN", "is not a finite number"),
        ("-inf", "is not a finite number"),
        ("Infinity", "is not a finite number"),
        ("abc", "is not a number"),
        ("1 234", "is not a number"),
        ("-5-", "has two signs"),
        ("1,2.3", "misplaced separators"),
        ("1.2.3", "misplaced separators"),
        ("1e999", "is out of range"),
        ("1.234,5e3", "scientific notation takes one decimal separator"),
    ],
)
def test_a_bad_cell_gets_a_message_naming_source_column_and_cell(cell: str, reason: str) -> None:
    message = error_of([cell])

    assert message.startswith(f"bom.csv: column 'quantity': '{cell}' ")
    assert reason in message


def test_long_cells_are_clipped_in_messages() -> None:
    message = error_of(["x" * 500])

    assert "x" * 40 + "...'" in message
    assert len(message) < 120


# --- parse_decimal: the column decides the separator -------------------------------------------


def test_ambiguous_cell_follows_a_column_with_decimal_commas() -> None:
    assert decimals(["1,5", "1.234", "1,234"]) == [(1.5, None), (1234.0, None), (1.234, None)]


def test_ambiguous_cell_follows_a_column_with_decimal_points() -> None:
    assert decimals(["12.5", "1.234", "1,234"]) == [(12.5, None), (1.234, None), (1234.0, None)]


def test_ambiguous_cell_without_evidence_is_an_error() -> None:
    results = decimals(["1,234", "1.250", "100"])

    assert results[2] == (100.0, None)
    for value, error in results[:2]:
        assert value is None
        assert error is not None
        assert "is ambiguous" in error
        assert "no other cell in the column shows which" in error


def test_column_with_both_conventions_reads_clear_cells_and_refuses_ambiguous_ones() -> None:
    results = decimals(["0,5", "2.5", "1.234"])

    assert results[:2] == [(0.5, None), (2.5, None)]
    assert results[2][0] is None
    assert "uses both as decimal separators" in (results[2][1] or "")


def test_cell_against_a_pinned_separator_is_an_error() -> None:
    message = error_of(["1,234.5"], decimal_separator=",")

    assert "does not fit the column's decimal separator ','" in message


@pytest.mark.parametrize(
    ("separator", "expected"),
    [(",", [1.234, 1250.0, 2.5]), (".", [1234.0, 1.25, None])],
)
def test_pinned_separator_reads_every_cell_that_way(
    separator: str, expected: list[float | None]
) -> None:
    values = [
        value for value, _ in decimals(["1,234", "1.250", "2,5"], decimal_separator=separator)
    ]

    assert values == expected


def test_unknown_pinned_separator_is_a_user_error() -> None:
    with pytest.raises(UserInputError, match="decimal separator must be"):
        decimals(["1"], decimal_separator=";")


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["1,5", "1.234"], ","),
        (["1,234.5", "7"], "."),
        (["1,234", "7"], None),
        (["0,5", "0.5"], None),
    ],
)
def test_detect_decimal_separator(cells: list[str], expected: str | None) -> None:
    assert detect_decimal_separator(pl.Series(cells)) == expected


def test_numeric_series_is_checked_for_finiteness_only() -> None:
    values, errors = parse_decimal(
        pl.Series([1.5, float("nan"), None, float("-inf")]), column="quantity", source="bom.csv"
    )

    assert values.to_list() == [1.5, None, None, None]
    assert errors.to_list()[0] is None
    assert errors.to_list()[2] is None
    assert "'NaN' is not a finite number" in errors.to_list()[1]
    assert values.dtype == pl.Float64


def test_results_are_named_after_the_column() -> None:
    values, errors = parse_decimal(pl.Series(["1"]), column="quantity", source="bom.csv")

    assert (values.name, errors.name) == ("quantity", "quantity_error")


# --- parse_share ------------------------------------------------------------------------------


def shares(cells: list[str | None], **options: str) -> tuple[list[float | None], list, str | None]:
    result = parse_share(
        pl.Series(cells, dtype=pl.String), column="share", source="s.csv", **options
    )
    return result.values.to_list(), result.errors.to_list(), result.note


def test_fractions_stay_fractions() -> None:
    assert shares(["0.5", "0.5", "1", "0"]) == ([0.5, 0.5, 1.0, 0.0], [None] * 4, None)


def test_a_column_of_percentages_is_divided_by_100_with_a_note() -> None:
    values, errors, note = shares(["70", "30", "100", "0,5"])

    assert values == [0.7, 0.3, 1.0, 0.005]
    assert errors == [None] * 4
    assert note is not None
    assert "s.csv: column 'share' read as percentages" in note


def test_percent_signs_are_percentages_whatever_the_column_looks_like() -> None:
    assert shares(["70%", "0.3"]) == ([0.7, 0.3], [None, None], None)


def test_a_lone_value_just_above_one_is_an_error_not_a_percentage() -> None:
    values, errors, note = shares(["1.2", "0.1"])

    assert values == [None, 0.1]
    assert "is above 1" in errors[0]
    assert f"sums to only 1.3 (at most {PERCENT_COLUMN_MINIMUM_SUM:g})" in errors[0]
    assert note is None


def test_values_above_100_mean_the_column_is_not_percentages() -> None:
    values, errors, _ = shares(["150", "0.5"])

    assert values == [None, 0.5]
    assert "not read as percentages because the column holds 150" in errors[0]


@pytest.mark.parametrize("cell", ["-0.1", "5-", "-10%"])
def test_negative_shares_are_errors(cell: str) -> None:
    values, errors, _ = shares([cell, "0.5"])

    assert values[0] is None
    assert "is negative" in errors[0]


def test_unparseable_share_keeps_the_decimal_message() -> None:
    values, errors, _ = shares(["abc", ""])

    assert values == [None, None]
    assert "'abc' is not a number" in errors[0]
    assert errors[1] is None


@pytest.mark.parametrize(
    ("scale", "expected"), [("fraction", [None, 0.5]), ("percent", [0.7, 0.005])]
)
def test_pinned_scale(scale: str, expected: list[float | None]) -> None:
    values, _, note = shares(["70", "0.5"], scale=scale)

    assert values == expected
    assert note is None


def test_numeric_share_column_in_percent() -> None:
    result = parse_share(pl.Series([70.0, 30.0]), column="share", source="s.parquet")

    assert result.values.to_list() == [0.7, 0.3]
    assert result.note is not None


@pytest.mark.parametrize(
    "cell", ["1e308", "-1e308", "1.7976931348623157e308", "2e15", "250000000000000000"]
)
def test_numbers_too_large_for_any_quantity_are_out_of_range(cell: str) -> None:
    assert "is out of range (largest accepted magnitude 1e+15)" in error_of([cell])


def test_a_typed_number_too_large_is_out_of_range() -> None:
    values, errors = parse_decimal(
        pl.Series([1e308, 1e15, -5.0]), column="quantity", source="bom.csv"
    )

    assert values.to_list() == [None, 1e15, -5.0]
    assert "'1e+308' is out of range" in errors[0]
    assert errors[1] is None and errors[2] is None


@pytest.mark.parametrize(
    "cell",
    ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"],
)
def test_a_spreadsheet_error_value_is_named_as_one(cell: str) -> None:
    assert error_of([cell]) == (
        f"bom.csv: column 'quantity': '{cell}' is a spreadsheet error value (the formula behind "
        "the cell failed)"
    )
    _, [share_error], _ = shares([cell])
    assert f"'{cell}' is a spreadsheet error value" in share_error
    _, [date_error] = parse_date(pl.Series([cell]), column="valid_from", source="s.csv")
    assert date_error == (
        f"s.csv: column 'valid_from': '{cell}' is a spreadsheet error value (the formula behind "
        "the cell failed)"
    )


def test_a_share_above_100_percent_cites_only_its_own_cell() -> None:
    _, errors, _ = shares(["101%", "200"])

    assert errors[0] == "s.csv: column 'share': '101%' is above 100 %"


# --- properties -------------------------------------------------------------------------------

FINITE = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
GERMAN = str.maketrans({",": ".", ".": ","})


@pytest.mark.few_examples(30)
@settings(deadline=None)
@given(number=FINITE)
def test_formatted_floats_round_trip_in_every_style(number: float) -> None:
    canonical = f"{number:.2f}"
    expected = float(canonical) + 0.0
    grouped = f"{number:,.2f}"
    sap = f"{abs(number):,.2f}".translate(GERMAN) + ("-" if canonical.startswith("-") else "")
    written = {
        ".": [canonical, grouped, f"{number:.3e}"],
        ",": [grouped.translate(GERMAN), sap],
    }
    for separator, cells in written.items():
        for cell in cells:
            wanted = float(f"{number:.3e}") if "e" in cell else expected
            assert value_of(cell, decimal_separator=separator) == wanted + 0.0


@settings(deadline=None)
@given(numbers=st.lists(FINITE, min_size=1, max_size=20), german=st.booleans())
def test_a_column_with_two_decimals_needs_no_pinned_separator(
    numbers: list[float], german: bool
) -> None:
    cells = [f"{number:,.2f}" for number in numbers]
    if german:
        cells = [cell.translate(GERMAN) for cell in cells]

    results = decimals(cells)

    assert [value for value, _ in results] == [float(f"{number:.2f}") + 0.0 for number in numbers]
    assert all(error is None for _, error in results)


@pytest.mark.few_examples(60)
@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20))
def test_random_text_never_raises_and_each_cell_gets_a_value_or_a_reason(
    cells: list[str | None],
) -> None:
    for value, error in decimals(cells):
        assert value is None or error is None
        if value is not None:
            assert math.isfinite(value)

    result = parse_share(pl.Series(cells, dtype=pl.String), column="share", source="s.csv")
    for value, error in zip(result.values.to_list(), result.errors.to_list(), strict=True):
        assert value is None or (error is None and 0.0 <= value <= 1.0)


@pytest.mark.few_examples(100)
@settings(max_examples=300, deadline=None)
@given(cells=st.lists(st.text(alphabet="0123456789.,-+%eE ", max_size=12), min_size=1, max_size=20))
def test_number_like_text_never_raises(cells: list[str]) -> None:
    for value, error in decimals(cells):
        assert value is None or error is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-03-01", date(2026, 3, 1)),
        ("20260301", date(2026, 3, 1)),
        ("20260301.0", date(2026, 3, 1)),  # SAP date through a numeric column
        ("1.3.2026", date(2026, 3, 1)),
        ("01.03.2026 00:00:00", date(2026, 3, 1)),
        ("2026-03-01 00:00:00", date(2026, 3, 1)),  # Excel date cells read as text
        ("2026-03-01T10:00:00Z", date(2026, 3, 1)),
        ("2026-03-01 00:00:00.000000+00:00", date(2026, 3, 1)),
        ("99991231", date(9999, 12, 31)),  # SAP's open end
        ("00000000", None),  # SAP's "no date": an open period, not an error
        (" 2026-03-01 ", date(2026, 3, 1)),
    ],
)
def test_dates_in_the_forms_exports_write(cell: str, expected: date | None) -> None:
    values, errors = parse_date(pl.Series([cell]), column="VDATU", source="eord.csv")
    assert values.to_list() == [expected]
    assert errors.to_list() == [None]


@pytest.mark.parametrize("cell", ["2026-02-30", "03/04/2026", "2026-03-01 25:99", "soon"])
def test_ambiguous_or_impossible_dates_are_errors_naming_the_cell(cell: str) -> None:
    values, errors = parse_date(pl.Series([cell]), column="VDATU", source="eord.csv")
    assert values.to_list() == [None]
    assert errors[0] == (
        f"eord.csv: column 'VDATU': '{cell}' is not a date (use YYYY-MM-DD, YYYYMMDD or DD.MM.YYYY)"
    )
