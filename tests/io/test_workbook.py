"""Formula escaping of delimited text: no part of a cell that another locale splits off at
``;`` ``,`` or TAB may start with ``=`` ``+`` ``-`` ``@``."""

from __future__ import annotations

import io
import re

import polars as pl
import pytest

from riskengine.io import write_table
from riskengine.io.workbook import escape_spreadsheet_formulas

PAYLOAD = "a;=cmd|' /C calc'!A0;b"
FORMULA_START = re.compile(r"^\s*[=+\-@]")


def _fields(text: str) -> list[str]:
    return re.split(r"[;,\t]", text)


@pytest.mark.parametrize(
    "cell",
    [PAYLOAD, "a,=1+1", "a\t@SUM(A1)", "x; +1+cmd|' /C calc'!A0", "ok;-2+3+cmd|'/C calc'!A0"],
)
def test_no_part_split_at_a_delimiter_starts_a_formula(cell: str) -> None:
    escaped = escape_spreadsheet_formulas(pl.DataFrame({"name": [cell]}), delimited=True)
    assert not [field for field in _fields(escaped.item()) if FORMULA_START.match(field)]


def test_the_payload_in_a_comma_csv_is_safe_in_a_semicolon_locale(tmp_path) -> None:
    path = tmp_path / "out.csv"
    write_table(pl.DataFrame({"supplier": [PAYLOAD]}), str(path))
    written = path.read_text().splitlines()[1]
    assert written == "a;'=cmd|' /C calc'!A0;b"
    assert not [field for field in written.split(";") if FORMULA_START.match(field)]


def test_signed_numbers_and_ordinary_text_are_left_alone() -> None:
    cells = ["Sumitomo Metal Mining Co., Ltd.", "range 1;-5", "x, +1.5%", "a - b", None]
    escaped = escape_spreadsheet_formulas(pl.DataFrame({"name": cells}), delimited=True)
    assert escaped["name"].to_list() == cells


def test_workbook_cells_are_not_split_so_their_text_is_kept() -> None:
    # An xlsx cell is never split at a delimiter; only its start is escaped there.
    frame = pl.DataFrame({"name": [PAYLOAD]})
    assert escape_spreadsheet_formulas(frame).item() == PAYLOAD


def test_column_names_are_escaped_too() -> None:
    frame = pl.DataFrame({"x;=HYPERLINK(1)": ["v"]})
    buffer = io.BytesIO()
    escape_spreadsheet_formulas(frame, delimited=True).write_csv(buffer)
    assert buffer.getvalue().startswith(b"x;'=HYPERLINK(1)\n")
