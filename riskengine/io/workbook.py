"""Excel workbooks: reading one sheet as text (choosing the sheet), writing one sheet, and the
formula escaping every spreadsheet-bound text gets (OWASP ASVS 1.2.10): text cells that start
with ``=`` ``+`` ``-`` ``@`` TAB, CR or NUL get a leading ``'`` unless they are plain signed
numbers. In delimited text a cell may be split again where it is opened (a ``;`` locale splits
a comma CSV at semicolons), so there every part after a ``;`` ``,`` or TAB that starts with
``=`` ``+`` ``-`` ``@`` gets the ``'`` too."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Collection
from typing import Any, BinaryIO

import fastexcel
import polars as pl

from riskengine.errors import InputFileError, UserInputError
from riskengine.io.columns import check_unique_names

#: Excel's hard limits per sheet (rows include the header row).
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_CELL_CHARACTERS = 32_767
XLSX_SHEET_NAME = "data"

_FORMULA_START = r"^[=+\-@\t\r\x00]"
# A formula character after a delimiter another locale may split on (spaces allowed between).
_FORMULA_AFTER_DELIMITER = r"[;,\t] *[=+\-@]"
# A character either of the above needs: a column without any holds nothing to escape, and
# one scan for a character class costs half the scan for the pattern after a delimiter.
_FORMULA_OR_DELIMITER_CHARACTER = r"[=+\-@\t\r\x00;,]"
_FORMULA_SEGMENT = re.compile(r"([;,\t] *)([=+\-@][^;,\t]*)")
# A signed plain number cannot call a function or reach another application, and escaping it
# would turn "-5" into text a spreadsheet no longer sums.
_SIGNED_NUMBER = r"^[+-][0-9][0-9.,]*(?:[eE][+-]?[0-9]+)?%?$"
# What polars and calamine raise for malformed files; a Rust panic is a BaseException.
# Fixed so the same frame always gives byte-identical workbooks.
_WORKBOOK_CREATED = dt.datetime(2000, 1, 1)


def read_workbook(
    data: bytes, label: str, sheet: str | int | None, header_row: int | None = None
) -> tuple[pl.DataFrame, str, int, tuple[str, ...]]:
    """The sheet's cells as text, the sheet's name, the number of blank rows skipped and the
    title rows skipped above the header (each as its non-empty cells joined by a space).

    The header is row ``header_row`` (1-based) when given. Otherwise it is the first row, or,
    when that leaves a column with values but no name, the first row with two non-empty cells:
    a title row above the header ("Lieferantenliste 2026") is skipped.
    """
    reader = fastexcel.read_excel(data)
    name = _choose_sheet(label, list(reader.sheet_names), sheet)
    # Reading the header as a data row keeps its names verbatim (fastexcel renames duplicates).
    loaded = reader.load_sheet(name, header_row=None, dtypes="string")
    letters = [_column_letters(info.absolute_index) for info in loaded.available_columns()]
    batch, errors = loaded.to_arrow_with_errors()
    cells = _with_error_values(pl.DataFrame(pl.from_arrow(batch)), errors)
    if cells.height == 0 or cells.width == 0:
        raise InputFileError(f"{label}: sheet {name!r} is empty")
    if header_row is not None:
        if header_row < 1:
            raise InputFileError(f"{label}: --header-row {header_row}: rows count from 1")
        if header_row > cells.height:
            raise InputFileError(
                f"{label}: sheet {name!r}: --header-row {header_row} is below the last row"
            )
        title_rows = header_row - 1
    else:
        try:
            return (*_with_header(cells, label, name, letters), ())
        except InputFileError:
            # A title row above the header leaves columns without names; read below it.
            title_rows = _title_rows(cells)
            if not title_rows:
                raise
    titles = tuple(
        " ".join(cell.strip() for cell in row if cell is not None and cell.strip())
        for row in cells.head(title_rows).iter_rows()
    )
    return (
        *_with_header(cells.slice(title_rows), label, name, letters),
        tuple(title for title in titles if title),
    )


def _with_header(
    cells: pl.DataFrame, label: str, name: str, letters: list[str]
) -> tuple[pl.DataFrame, str, int]:
    """The cells below the first row, named by it."""
    header = ["" if title is None else title for title in cells.row(0)]
    body = cells.slice(1).with_columns(
        # An empty text cell is as empty as a missing one, as in CSV.
        pl.when(pl.col(column).str.len_bytes() > 0).then(pl.col(column)).alias(column)
        for column in cells.columns
    )
    blank = pl.all_horizontal(pl.all().is_null())
    blank_rows = body.select(blank.sum()).item()
    body = body.filter(~blank)
    for index, column in enumerate(body.columns):
        if header[index] == "" and body[column].null_count() < body.height:
            raise InputFileError(
                f"{label}: sheet {name!r}: column {letters[index]} has no name in the header row "
                "but holds values; give it a name"
            )
    if not any(header):
        raise InputFileError(f"{label}: sheet {name!r}: the header row names no columns")
    check_unique_names(label, header, letters)
    keep = [index for index, title in enumerate(header) if title]
    body = body.select(pl.nth(keep))
    body.columns = [header[index] for index in keep]
    return body, name, blank_rows


#: How many rows from the top may be a title above the header.
_TITLE_SEARCH_ROWS = 10


def _title_rows(cells: pl.DataFrame) -> int:
    """Rows above the first one with two non-empty cells (0 when none in the first rows)."""
    filled = cells.head(_TITLE_SEARCH_ROWS).select(
        pl.sum_horizontal(
            (pl.col(column).is_not_null() & (pl.col(column) != "")).cast(pl.UInt32)
            for column in cells.columns
        )
    )
    for index, count in enumerate(filled.to_series().to_list()):
        if count >= 2:
            return index
    return 0


# calamine's names for the error values a failed formula leaves in a cell, as Excel shows them.
_ERROR_VALUES = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
    "GettingData": "#GETTING_DATA",
}
_ERROR_DETAIL = re.compile(r"Error\((\w+)\)")


def _with_error_values(cells: pl.DataFrame, errors: Any) -> pl.DataFrame:
    """The sheet with each formula error cell as the text Excel shows ("#N/A"), which fastexcel
    would leave empty: an empty cell is read as missing, an error must be reported as one."""
    found: dict[int, tuple[list[int], list[str]]] = {}
    for error in getattr(errors, "errors", None) or ():
        kind = _ERROR_DETAIL.search(error.detail)
        if kind is None:
            continue
        row, column = error.offset_position
        rows, values = found.setdefault(column, ([], []))
        rows.append(row)
        values.append(_ERROR_VALUES.get(kind.group(1), f"#{kind.group(1).upper()}!"))
    if not found:
        return cells
    return cells.with_columns(
        cells[:, column].scatter(rows, values) for column, (rows, values) in found.items()
    )


def _column_letters(index: int) -> str:
    """Excel's name for the 0-based column ``index`` (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _choose_sheet(label: str, names: list[str], sheet: str | int | None) -> str:
    listing = ", ".join(f"{position}: {name!r}" for position, name in enumerate(names, start=1))
    if sheet is None:
        if len(names) == 1:
            return names[0]
        raise InputFileError(
            f"{label}: the workbook has {len(names)} sheets ({listing}); choose one with --sheet "
            "NAME or --sheet NUMBER"
        )
    if isinstance(sheet, str):
        if sheet in names:
            return sheet
        folded = [name for name in names if name.casefold() == sheet.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        if sheet.strip().isdigit():
            sheet = int(sheet)
    if isinstance(sheet, int) and 1 <= sheet <= len(names):
        return names[sheet - 1]
    raise InputFileError(f"{label}: no sheet {sheet!r}; the workbook has {listing}")


def escape_spreadsheet_formulas(
    frame: pl.DataFrame, *, delimited: bool = False, formula_free: Collection[str] = ()
) -> pl.DataFrame:
    """Prefix ``'`` to text cells and column names a spreadsheet would run as a formula.

    Only text (string, categorical, enum) columns change; numbers stay numbers. Text that is
    a plain signed number such as ``-5`` or ``+1.5`` is left alone because it cannot run
    anything. With ``delimited`` (CSV and TSV output) every part after a ``;`` ``,`` or TAB
    that starts with a formula character is escaped as well, so that no field of the cell split
    on any of them starts with one: ``a;=cmd`` is written ``a;'=cmd``. The cells of the
    ``formula_free`` columns, which the caller made from a closed set of values (codes,
    bands, dates), are not looked at; their names are escaped as every name is.
    """
    text_columns = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)) and name not in formula_free
    ]
    # Rewriting a column copies it, and most columns hold nothing formula-like: one cheap scan
    # of each column finds the few to look at again.
    if delimited:
        suspect = _columns_matching(frame, text_columns, _FORMULA_OR_DELIMITER_CHARACTER)
        frame = _escape_formula_segments(frame, suspect)
        starting = _columns_matching(frame, suspect, _FORMULA_START)
    else:
        starting = _columns_matching(frame, text_columns, _FORMULA_START)
    escaped = frame.with_columns(
        _escape_text(pl.col(name).cast(pl.String)).alias(name) for name in starting
    )
    # Names last: the cells above were found by the names they had.
    names = [_escape_segments(name) for name in escaped.columns] if delimited else escaped.columns
    escaped.columns = (
        pl.select(_escape_text(pl.lit(pl.Series(names, dtype=pl.String)))).to_series().to_list()
    )
    return escaped


def _columns_matching(frame: pl.DataFrame, columns: list[str], pattern: str) -> list[str]:
    """Those of the text ``columns`` in which some cell matches ``pattern``."""
    if not columns or not frame.height:
        return []
    found = frame.select(
        pl.col(name).cast(pl.String).str.contains(pattern).any() for name in columns
    ).row(0)
    return [name for name, matched in zip(columns, found, strict=True) if matched]


def _escape_formula_segments(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Escape the parts of text cells that follow a delimiter (see above), looking only at
    ``columns``; the names are escaped by the caller."""
    # Such cells are rare, so only they go through Python; the rest of the column is kept.
    return frame.with_columns(
        _escape_segments_of(frame[name].cast(pl.String))
        for name in _columns_matching(frame, columns, _FORMULA_AFTER_DELIMITER)
    )


def _escape_segments_of(column: pl.Series) -> pl.Series:
    positions = column.str.contains(_FORMULA_AFTER_DELIMITER).fill_null(False).arg_true()
    escaped = [_escape_segments(text) for text in column.gather(positions).to_list()]
    return column.scatter(positions, pl.Series(escaped, dtype=pl.String))


def _escape_segments(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        delimiter, segment = match.groups()
        if re.match(_SIGNED_NUMBER, segment):
            return match.group(0)
        return f"{delimiter}'{segment}"

    return _FORMULA_SEGMENT.sub(escape, text)


def _escape_text(text: pl.Expr) -> pl.Expr:
    dangerous = text.str.contains(_FORMULA_START) & ~text.str.contains(_SIGNED_NUMBER)
    return pl.when(dangerous).then(pl.lit("'") + text).otherwise(text)


def check_fits_workbook(frame: pl.DataFrame) -> None:
    if frame.height + 1 > XLSX_MAX_ROWS:
        raise UserInputError(
            f"{frame.height:,} rows do not fit in an xlsx sheet (at most {XLSX_MAX_ROWS - 1:,} "
            "rows below the header); write csv or parquet instead"
        )
    if frame.width > XLSX_MAX_COLUMNS:
        raise UserInputError(
            f"{frame.width:,} columns do not fit in an xlsx sheet (at most {XLSX_MAX_COLUMNS:,}); "
            "write csv or parquet instead"
        )
    text_columns = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum))
    ]
    if text_columns:
        # Measured as written, with the quote formula escaping may add; XlsxWriter would
        # otherwise cut longer text short without failing.
        escaped = escape_spreadsheet_formulas(frame.select(text_columns))
        longest = escaped.select(pl.all().str.len_chars().max()).row(0)
        for name, length in zip(text_columns, longest, strict=True):
            if length is not None and length > XLSX_MAX_CELL_CHARACTERS:
                raise UserInputError(
                    f"column {name!r} holds text of {length:,} characters; an xlsx cell holds at "
                    f"most {XLSX_MAX_CELL_CHARACTERS:,}; write csv or parquet instead"
                )


def write_workbook(frame: pl.DataFrame, target: BinaryIO) -> None:
    # Here rather than at the top: only xlsx output needs it (0.07 s of every start-up).
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        target,
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
            "constant_memory": True,
        },
    )
    workbook.set_properties({"created": _WORKBOOK_CREATED})
    sheet = workbook.add_worksheet(XLSX_SHEET_NAME)
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    frame = escape_spreadsheet_formulas(frame)
    for column, name in enumerate(frame.columns):
        sheet.write_string(0, column, name)
    writers = [_cell_writer(sheet, dtype, date_format, datetime_format) for dtype in frame.dtypes]
    for row, values in enumerate(frame.iter_rows(), start=1):
        for column, (write, value) in enumerate(zip(writers, values, strict=True)):
            if value is not None:
                write(row, column, value)
    sheet.freeze_panes(1, 0)
    workbook.close()


def _cell_writer(
    sheet: Any, dtype: pl.DataType, date_format: Any, datetime_format: Any
) -> Callable[[int, int, Any], Any]:
    if dtype == pl.String:
        return sheet.write_string
    if dtype == pl.Boolean:
        return sheet.write_boolean
    if dtype.is_integer():

        def write_integer(row: int, column: int, value: int) -> Any:
            # Excel stores doubles; larger integers would silently lose digits.
            if abs(value) > 2**53:
                return sheet.write_string(row, column, str(value))
            return sheet.write_number(row, column, value)

        return write_integer
    if dtype.is_float() or dtype.is_decimal():

        def write_float(row: int, column: int, value: float) -> Any:
            value = float(value)
            if math.isfinite(value):
                return sheet.write_number(row, column, value)
            # Excel has no NaN or infinity; the text matches what the CSV writer gives.
            return sheet.write_string(row, column, str(value).replace("nan", "NaN"))

        return write_float
    if dtype == pl.Date:
        return lambda row, column, value: sheet.write_datetime(row, column, value, date_format)
    if dtype == pl.Datetime:
        return lambda row, column, value: sheet.write_datetime(row, column, value, datetime_format)

    def write_as_text(row: int, column: int, value: Any) -> Any:
        text = str(value)
        if re.match(_FORMULA_START, text) and not re.match(_SIGNED_NUMBER, text):
            text = "'" + text
        return sheet.write_string(row, column, text)

    return write_as_text
