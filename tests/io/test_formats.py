"""Which format a file is: the extension, checked against the file's first bytes."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from riskengine.errors import InputFileError, UserInputError
from riskengine.io import read_table


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


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


def test_unknown_extension_is_a_user_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "pairs.txt", b"material\nDy2O3\n")

    with pytest.raises(UserInputError, match=r"pairs\.txt"):
        read_table(str(path))


def test_workbook_named_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "actually.csv"
    make_workbook(path, {"Sheet1": [["a"], ["1"]]})

    with pytest.raises(InputFileError, match=r"actually\.csv: looks like an Excel workbook"):
        read_table(str(path))


def test_text_named_xlsx_is_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "export.xlsx", b"a\tb\n1\t2\n")

    with pytest.raises(
        InputFileError, match=r"export\.xlsx: is not an Excel workbook.*--format csv"
    ):
        read_table(str(path))
