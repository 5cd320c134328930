"""Excel workbooks: a sheet read as text (choosing the sheet, error values, headers), one sheet
written byte for byte, and formula escaping in every spreadsheet-bound output: no part of a
delimited cell that another locale splits off at ``;`` ``,`` or TAB may start with ``=`` ``+``
``-`` ``@``."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

import riskengine.io as rio
from riskengine.errors import InputFileError, UserInputError
from riskengine.io import read_table, read_table_with_metadata, write_table
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


def test_a_column_whose_name_is_escaped_has_its_cells_escaped_too() -> None:
    # The name changes as it is escaped: its cells must still be found by the name they had.
    frame = pl.DataFrame({"Price, +VAT": ["1-2", "=1+2", "a;@cmd"], "=total": ["-5", "@x", "y"]})
    escaped = escape_spreadsheet_formulas(frame, delimited=True)
    assert escaped.columns == ["Price, '+VAT", "'=total"]
    assert escaped["Price, '+VAT"].to_list() == ["1-2", "'=1+2", "a;'@cmd"]
    assert escaped["'=total"].to_list() == ["-5", "'@x", "y"]


# -- reading sheets, writing workbooks, escaping formulas ------------------------------------


def temp_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob(".*.tmp"))


ID_FRAME = pl.DataFrame({"supplier_id": ["0000100001", None], "country": ["NA", "CN"]})


def make_workbook(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """Write ``sheets`` with explicit cell types: str cells stay text, numbers stay numbers."""
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for row_index, row in enumerate(rows):
            for column_index, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(row_index, column_index, value)
                elif value is not None:
                    sheet.write_number(row_index, column_index, value)
    workbook.close()


def worksheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


SOURCING_SHEET = [
    ["supplier_id", "supplier_country", "share"],
    ["0000100001", "NA", 0.5],
    [100002, "CN", 1],
]


def test_formula_error_cells_are_read_as_the_error_excel_shows_not_as_empty(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sourcing.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Sourcing")
    for column, title in enumerate(("material", "supplier", "supplier_country", "share")):
        sheet.write_string(2, column + 1, title)  # the table starts at B3
    for column, text in enumerate(("Dy2O3", None, "CN", None)):
        if text is not None:
            sheet.write_string(3, column + 1, text)
    sheet.write_formula(3, 2, "=NA()", None, "#N/A")
    sheet.write_formula(3, 4, "=1/0", None, "#DIV/0!")
    sheet.write_formula(4, 1, "=A1+", None, "#REF!")
    workbook.close()

    frame = read_table(str(path))

    assert frame.rows() == [("Dy2O3", "#N/A", "CN", "#DIV/0!"), ("#REF!", None, None, None)]


def test_workbook_cells_are_text_and_leading_zeros_survive(tmp_path: Path) -> None:
    path = tmp_path / "sourcing.xlsx"
    make_workbook(path, {"Sourcing": SOURCING_SHEET})

    frame, metadata = read_table_with_metadata(str(path))

    assert frame.schema == pl.Schema(
        {"supplier_id": pl.String, "supplier_country": pl.String, "share": pl.String}
    )
    assert frame.rows() == [("0000100001", "NA", "0.5"), ("100002", "CN", "1")]
    assert (metadata["format"], metadata["sheet"], metadata["rows"]) == ("xlsx", "Sourcing", 2)


def test_several_sheets_need_a_choice_and_the_error_lists_them(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"Notes": [["text"], ["hello"]], "Sourcing": SOURCING_SHEET})

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    message = str(caught.value)
    assert str(path) in message
    assert "1: 'Notes', 2: 'Sourcing'" in message
    assert "--sheet" in message


@pytest.mark.parametrize("sheet", ["Sourcing", "sourcing", 2, "2"])
def test_sheet_is_chosen_by_name_or_position(tmp_path: Path, sheet: str | int) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"Notes": [["text"], ["hello"]], "Sourcing": SOURCING_SHEET})

    frame, metadata = read_table_with_metadata(str(path), sheet=sheet)

    assert metadata["sheet"] == "Sourcing"
    assert frame["supplier_id"].to_list() == ["0000100001", "100002"]


@pytest.mark.parametrize("sheet", ["Missing", 3, 0])
def test_unknown_sheet_lists_the_sheets(tmp_path: Path, sheet: str | int) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"Notes": [["text"], ["hello"]], "Sourcing": SOURCING_SHEET})

    with pytest.raises(InputFileError, match=r"no sheet .*1: 'Notes', 2: 'Sourcing'"):
        read_table(str(path), sheet=sheet)


def test_empty_sheet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"Blank": []})

    with pytest.raises(InputFileError, match=r"book\.xlsx: sheet 'Blank' is empty"):
        read_table(str(path))


def test_header_only_sheet_gives_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"Sourcing": [["material", "supplier"]]})

    frame = read_table(str(path))

    assert (frame.height, frame.columns) == (0, ["material", "supplier"])


def test_sheet_blank_rows_are_skipped_and_empty_text_is_null(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"S": [["a", "b"], ["1", ""], [None, None], ["3", "4"]]})

    frame, metadata = read_table_with_metadata(str(path))

    assert frame.rows() == [("1", None), ("3", "4")]
    assert metadata["blank_rows_skipped"] == 1


def test_sheet_duplicate_headers_are_named_by_column_letter(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"S": [["id", "share", "id"], ["1", "2", "3"]]})

    with pytest.raises(InputFileError, match=r"duplicate column names: 'id' \(columns A, C\)"):
        read_table(str(path))


def test_sheet_unnamed_column_with_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    make_workbook(path, {"S": [["id", None, "share"], ["1", "x", "3"]]})

    with pytest.raises(InputFileError, match="column B has no name"):
        read_table(str(path))


DANGEROUS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("x")']


def test_csv_escapes_text_that_a_spreadsheet_would_run(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "supplier": [*DANGEROUS, "-5", "+1.5", "Acme", None],
            "quantity": [-1, -2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        }
    )
    path = tmp_path / "out.csv"

    write_table(frame, str(path))

    back = read_table(str(path))
    expected = [f"'{text}" for text in DANGEROUS] + ["-5", "+1.5", "Acme", None]
    assert back["supplier"].to_list() == expected
    assert back["quantity"].to_list() == [str(value) for value in frame["quantity"]]


def test_csv_escapes_dangerous_column_names(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    write_table(pl.DataFrame({"=cmd": ["x"]}), str(path))

    assert path.read_text(encoding="utf-8").splitlines()[0] == "'=cmd"


@pytest.mark.parametrize("suffix", ["json", "jsonl", "parquet"])
def test_json_and_parquet_keep_text_verbatim(tmp_path: Path, suffix: str) -> None:
    frame = pl.DataFrame({"supplier": DANGEROUS})
    path = tmp_path / f"out.{suffix}"

    write_table(frame, str(path))

    assert read_table(str(path))["supplier"].to_list() == DANGEROUS


def test_xlsx_writes_dangerous_text_as_escaped_strings_not_formulas(tmp_path: Path) -> None:
    frame = pl.DataFrame({"supplier": ["=1+1", "http://example.com", "-5"], "quantity": [-1, 2, 3]})
    path = tmp_path / "out.xlsx"

    write_table(frame, str(path))

    xml = worksheet_xml(path)
    assert "<f>" not in xml
    assert "<t>'=1+1</t>" in xml
    assert "hyperlink" not in xml.lower()
    assert '<c r="B2"><v>-1</v></c>' in xml  # a number, untouched
    back = read_table(str(path))
    assert back["supplier"].to_list() == ["'=1+1", "http://example.com", "-5"]
    assert back["quantity"].to_list() == ["-1", "2", "3"]
    assert temp_files(tmp_path) == []


def test_xlsx_round_trip_keeps_ids_as_text(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"

    write_table(ID_FRAME, str(path))

    assert read_table(str(path)).equals(ID_FRAME)


def test_xlsx_output_is_byte_identical_for_the_same_frame(tmp_path: Path) -> None:
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    frame = pl.DataFrame({"name": ["a", "b"], "score": [0.25, float("nan")]})

    write_table(frame, str(first))
    write_table(frame, str(second))

    assert first.read_bytes() == second.read_bytes()


def test_xlsx_row_limit_is_checked_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rio.workbook, "XLSX_MAX_ROWS", 3)
    path = tmp_path / "out.xlsx"

    write_table(pl.DataFrame({"a": [1, 2]}), str(path))  # header + 2 rows fit
    path.unlink()
    with pytest.raises(UserInputError, match=r"3 rows do not fit in an xlsx sheet.*csv or parquet"):
        write_table(pl.DataFrame({"a": [1, 2, 3]}), str(path))

    assert list(tmp_path.iterdir()) == []


def test_xlsx_refuses_text_longer_than_a_cell_holds(tmp_path: Path) -> None:
    frame = pl.DataFrame({"note": ["=" + "x" * (rio.XLSX_MAX_CELL_CHARACTERS - 1)]})

    # Escaping adds the one character too many.
    with pytest.raises(UserInputError, match="column 'note' holds text of 32,768 characters"):
        write_table(frame, str(tmp_path / "out.xlsx"))

    assert list(tmp_path.iterdir()) == []


def test_formula_free_columns_are_not_searched_but_their_names_are_escaped() -> None:
    # A caller vouches for the cells of such columns; a payload there shows they were skipped.
    frame = pl.DataFrame({"code": ["=1+2"], "=band": ["@x"], "name": ["=cmd"]})
    escaped = escape_spreadsheet_formulas(frame, delimited=True, formula_free=("code", "=band"))
    assert escaped.columns == ["code", "'=band", "name"]
    assert escaped.row(0) == ("=1+2", "@x", "'=cmd")
