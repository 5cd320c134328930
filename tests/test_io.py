"""Reading and writing user files: text cells, encodings, clear errors, atomic writes."""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import riskengine.io as rio
from riskengine.errors import InputFileError, UserInputError
from riskengine.io import chunks as io_chunks
from riskengine.io import (
    delimited,
    read_table,
    read_table_with_metadata,
    write_table,
    write_text,
    writing,
)


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def temp_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob(".*.tmp"))


# --- read_table: CSV cells ---------------------------------------------------------------------


def test_csv_cells_are_text_and_only_empty_cells_are_null(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path,
        "sourcing.csv",
        b"supplier_id,supplier_country,share\n0000100001,NA,0.5\n0000100002,,1\n",
    )

    frame = read_table(str(path))

    assert frame.schema == pl.Schema(
        {"supplier_id": pl.String, "supplier_country": pl.String, "share": pl.String}
    )
    assert frame["supplier_id"].to_list() == ["0000100001", "0000100002"]
    assert frame["supplier_country"].to_list() == ["NA", None]
    assert frame["share"].to_list() == ["0.5", "1"]


def test_utf8_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "bom.csv", b"\xef\xbb\xbfmaterial,supplier\nDy2O3,Acme\n")

    frame = read_table(str(path))

    assert frame.columns == ["material", "supplier"]
    assert frame.row(0) == ("Dy2O3", "Acme")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_utf16_with_bom_is_read(tmp_path: Path, encoding: str) -> None:
    text = "material,supplier\nDy2O3,Société Générale\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    elif encoding == "utf-16-le":
        data = b"\xff\xfe" + data

    frame = read_table(str(write_bytes(tmp_path, "wide.csv", data)))

    assert frame.columns == ["material", "supplier"]
    assert frame.row(0) == ("Dy2O3", "Société Générale")


def test_undecodable_bytes_name_the_file_and_the_line(tmp_path: Path) -> None:
    # Shift-JIS is neither UTF-8 nor a code page detection may accept (cp1252 now is).
    path = write_bytes(
        tmp_path,
        "shift_jis.csv",
        "material,supplier\nDy2O3,Acme\nNdPr oxide,東京製作所\n".encode("shift_jis"),
    )

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message
    assert "--encoding" in message


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    assert str(path) in str(caught.value)


def test_directory_names_the_path(tmp_path: Path) -> None:
    directory = tmp_path / "looks_like.csv"
    directory.mkdir()

    with pytest.raises(InputFileError) as caught:
        read_table(str(directory))

    assert str(directory) in str(caught.value)


def test_empty_file_names_the_path(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "empty.csv", b"")

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    assert str(path) in str(caught.value)


def test_header_only_csv_gives_no_rows_and_keeps_the_columns(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "header.csv", b"material,supplier,supplier_country\n")

    frame = read_table(str(path))

    assert frame.height == 0
    assert frame.columns == ["material", "supplier", "supplier_country"]


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pl.DataFrame({"supplier_id": ["0001", None], "country": ["NA", "CN"]})
    path = tmp_path / "pairs.parquet"

    write_table(frame, str(path))

    assert read_table(str(path)).equals(frame)


def test_json_is_read_as_text(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path,
        "pairs.json",
        b'[{"supplier_id": "0007", "share": 0.5}, {"supplier_id": null, "share": 1}]',
    )

    frame = read_table(str(path))

    assert frame.columns == ["supplier_id", "share"]
    assert frame.schema["share"] == pl.String
    assert frame["supplier_id"].to_list() == ["0007", None]
    assert frame["share"][0] == "0.5"


def test_unknown_extension_is_a_user_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "pairs.txt", b"material\nDy2O3\n")

    with pytest.raises(UserInputError, match=r"pairs\.txt"):
        read_table(str(path))


# --- write_table -------------------------------------------------------------------------------

FRAME = pl.DataFrame({"supplier_id": ["0000100001", None], "country": ["NA", "CN"]})


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_write_then_read_gives_the_frame_back(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out.{suffix}"

    write_table(FRAME, str(path))

    assert read_table(str(path)).equals(FRAME)
    assert temp_files(tmp_path) == []


def test_write_csv_content(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    write_table(FRAME, str(path))

    assert path.read_text(encoding="utf-8") == "supplier_id,country\n0000100001,NA\n,CN\n"


def test_replacing_an_existing_file_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old,content\n1,2\n", encoding="utf-8")

    write_table(FRAME, str(path))

    assert path.read_text(encoding="utf-8").startswith("supplier_id,country\n")
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_missing_output_directory_is_a_user_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.csv"

    with pytest.raises(UserInputError, match="does not exist"):
        write_table(FRAME, str(path))

    assert list(tmp_path.iterdir()) == []


def test_failed_serialisation_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous,content\n", encoding="utf-8")

    def half_written(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"supplier_id,country\n00001")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writing, "_serialise", half_written)

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_table(FRAME, str(path))

    assert path.read_text(encoding="utf-8") == "previous,content\n"
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_failed_serialisation_of_a_new_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"PAR1")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(writing, "_serialise", half_written)

    with pytest.raises(RuntimeError):
        write_table(FRAME, str(tmp_path / "out.parquet"))

    assert list(tmp_path.iterdir()) == []


def test_written_file_has_the_usual_permissions(tmp_path: Path) -> None:
    previous_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        write_table(FRAME, str(fresh))
        existing = tmp_path / "existing.csv"
        existing.write_text("old\n", encoding="utf-8")
        existing.chmod(0o644)
        write_table(FRAME, str(existing))
    finally:
        os.umask(previous_umask)

    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644


# --- read_table: encodings ---------------------------------------------------------------------

POLISH_SUPPLIERS = (
    "material;supplier;city\n"
    "Dy2O3;Zakłady Chemiczne Łódź S.A.;Łódź\n"
    "NdPr oxide;Huta Śląsk sp. z o.o.;Katowice\n"
    "Tb4O7;Żółw Metale;Gdańsk\n"
)


def test_cp1252_is_detected_and_recorded(tmp_path: Path) -> None:
    text = "material;supplier;country\nDy2O3;Société Générale;FR\nNdPr;Müller Gießerei;DE\n"
    path = write_bytes(tmp_path, "western.csv", text.encode("cp1252"))

    frame, metadata = read_table_with_metadata(str(path))

    assert frame["supplier"].to_list() == ["Société Générale", "Müller Gießerei"]
    assert metadata["encoding"] == "cp1252"
    assert metadata["encoding_detected"] is True


def test_cp1250_is_detected_and_keeps_polish_letters(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "central.csv", POLISH_SUPPLIERS.encode("cp1250"))

    frame, metadata = read_table_with_metadata(str(path))

    assert frame["city"].to_list() == ["Łódź", "Katowice", "Gdańsk"]
    assert frame["supplier"][2] == "Żółw Metale"
    assert metadata["encoding"] == "cp1250"


@pytest.mark.parametrize("encoding", ["cp1250", "iso8859-2", "utf-16"])
def test_named_encoding_is_used_as_given(tmp_path: Path, encoding: str) -> None:
    path = write_bytes(tmp_path, "named.csv", "material,city\nDy2O3,Łódź\n".encode(encoding))

    frame, metadata = read_table_with_metadata(str(path), encoding=encoding)

    assert frame["city"].to_list() == ["Łódź"]
    assert metadata["encoding_detected"] is False


def test_wrong_named_encoding_names_the_line(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "western.csv", "a\nx\nSociété\n".encode("cp1252"))

    with pytest.raises(InputFileError, match=r"western\.csv: line 3 is not valid utf-8"):
        read_table(str(path), encoding="utf-8")


def test_unknown_encoding_name_is_a_user_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "plain.csv", b"a\n1\n")

    with pytest.raises(UserInputError, match="unknown encoding 'klingon'"):
        read_table(str(path), encoding="klingon")


def test_mixed_encodings_are_refused_rather_than_garbled(tmp_path: Path) -> None:
    data = "material;supplier\nA;Müller GmbH\n".encode() + "B;Société\n".encode("cp1252")
    path = write_bytes(tmp_path, "mixed.csv", data)

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    message = str(caught.value)
    assert str(path) in message
    assert "line 3 is not valid UTF-8 but line 2 is" in message


def test_utf16_without_byte_order_mark_suggests_the_encoding(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "wide.csv", "a,b\n1,2\n".encode("utf-16-le"))

    with pytest.raises(InputFileError, match=r"wide\.csv: line 1 contains a NUL.*utf-16-le"):
        read_table(str(path))


def test_tab_delimited_utf16_sap_export(tmp_path: Path) -> None:
    # SAP's advice for Excel: UTF-16LE with a byte-order mark, TAB-separated.
    text = "LIFNR\tNAME1\tMENGE\n0000100001\tZakłady Łódź\t1.234,500\n0000100002\tAcme\t100-\n"
    path = write_bytes(tmp_path, "EXPORT.XLS", codecs_bom_utf16le() + text.encode("utf-16-le"))

    frame, metadata = read_table_with_metadata(str(path), "csv")

    assert frame.columns == ["LIFNR", "NAME1", "MENGE"]
    assert frame.row(0) == ("0000100001", "Zakłady Łódź", "1.234,500")
    assert frame["MENGE"][1] == "100-"
    assert (metadata["encoding"], metadata["delimiter"]) == ("utf-16-le", "\t")


def codecs_bom_utf16le() -> bytes:
    return b"\xff\xfe"


# --- read_table: delimiters, quoting, structure ------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    text = delimiter.join(["material", "supplier", "share"]) + "\n"
    text += delimiter.join(["Dy2O3", '"Acme, Inc; Ltd | Co"', '"0,5"']) + "\n"
    path = write_bytes(tmp_path, "sniffed.csv", text.encode())

    frame, metadata = read_table_with_metadata(str(path))

    assert metadata["delimiter"] == delimiter
    assert frame.row(0) == ("Dy2O3", "Acme, Inc; Ltd | Co", "0,5")


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path, "eu.csv", b"material;share;quantity\nDy2O3;0,5;1.234,5\nNd;0,25;7\n"
    )

    frame = read_table(str(path))

    assert frame.columns == ["material", "share", "quantity"]
    assert frame["share"].to_list() == ["0,5", "0,25"]
    assert frame["quantity"].to_list() == ["1.234,5", "7"]


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "both.csv", b"a;b,c\n1;2,3\n")

    assert read_table(str(path)).columns == ["a;b", "c"]
    assert read_table(str(path), delimiter=";").columns == ["a", "b,c"]


@pytest.mark.parametrize("spelled", ["\\t", "tab", "\t"])
def test_tab_delimiter_can_be_spelled_out(tmp_path: Path, spelled: str) -> None:
    path = write_bytes(tmp_path, "tabs.csv", b"a\tb\n1\t2\n")

    assert read_table(str(path), delimiter=spelled).columns == ["a", "b"]


def test_tsv_extension_is_read_and_written_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "out.tsv"

    write_table(FRAME, str(path))

    assert path.read_text(encoding="utf-8").splitlines()[0] == "supplier_id\tcountry"
    assert read_table(str(path)).equals(FRAME)


def test_invalid_delimiter_option_is_a_user_error(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "a.csv", b"a\n1\n")

    with pytest.raises(UserInputError, match="single character"):
        read_table(str(path), delimiter=";;")


def test_single_column_from_the_wrong_delimiter_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "eu.csv", b"material;share\nDy2O3;0,5\n")

    with pytest.raises(InputFileError) as caught:
        read_table(str(path), delimiter=",")

    message = str(caught.value)
    assert str(path) in message
    assert "did you mean --delimiter ';'" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a,b,c\n1,2,3\n4,5\n", r"line 3 has 2 fields but the header \(line 1\) has 3"),
        (b"a,b\n1,2\n3,4,5\n6,7,8\n", r"line 3 has 3 fields .*1 more such: line 4"),
        (b'a,b\n1,2\n"open,3\n4,5\n', r"line 3: a quoted field starts here and is never closed"),
        (b'a,b\n"x"y,2\n', r"line 2: text follows a closing quote"),
    ],
)
def test_malformed_rows_name_the_file_and_the_line(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    path = write_bytes(tmp_path, "bad.csv", data)

    with pytest.raises(InputFileError, match=expected) as caught:
        read_table(str(path))

    assert str(caught.value).startswith(f"{path}: ")


def test_quoted_newlines_and_quotes_are_kept(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "quoted.csv", b'name,note\n"Acme ""Best""","two\nlines"\n')

    frame = read_table(str(path))

    assert frame.row(0) == ('Acme "Best"', "two\nlines")


def test_quote_inside_an_unquoted_value_is_read_literally(tmp_path: Path) -> None:
    # polars refuses this; the csv module and Excel read the quote as text.
    path = write_bytes(tmp_path, "inch.csv", b'part,size\nbolt 1/2",M12\nnut,M8\n')

    assert read_table(str(path)).rows() == [('bolt 1/2"', "M12"), ("nut", "M8")]


def test_fields_longer_than_the_csv_module_default_are_read(tmp_path: Path) -> None:
    long_note = "x" * 300_000
    path = write_bytes(tmp_path, "long.csv", f"id;note\n1;{long_note}\n".encode())

    frame, metadata = read_table_with_metadata(str(path))

    assert frame["note"].to_list() == [long_note]
    assert metadata["delimiter"] == ";"


def test_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "gaps.csv", b"a,b\r\n1,2\r\n\r\n3,4\r\n\r\n")

    frame, metadata = read_table_with_metadata(str(path))

    assert frame.rows() == [("1", "2"), ("3", "4")]
    assert (metadata["rows"], metadata["blank_rows_skipped"]) == (2, 2)


def test_rows_of_empty_cells_are_kept_as_nulls(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "empty_cells.csv", b"a,b\n,\n1,2\n")

    assert read_table(str(path)).rows() == [(None, None), ("1", "2")]


def test_bare_carriage_return_line_ends_are_read(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "mac.csv", b"a,b\r1,2\r3,4\r")

    assert read_table(str(path)).rows() == [("1", "2"), ("3", "4")]


def test_trailing_delimiter_column_without_values_is_dropped(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "sap.csv", b"a;b;\n1;2;\n3;4;\n")

    assert read_table(str(path)).rows() == [("1", "2"), ("3", "4")]


def test_unnamed_column_with_values_is_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "unnamed.csv", b"a,,b\n1,,3\n4,5,6\n")

    with pytest.raises(InputFileError, match=r"column 2 has no name .*first on line 3"):
        read_table(str(path))


def test_duplicate_headers_are_refused_with_their_positions(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "dup.csv", b"supplier_id,share,supplier_id\n1,0.5,2\n")

    with pytest.raises(
        InputFileError, match=r"duplicate column names: 'supplier_id' \(columns 1, 3\)"
    ):
        read_table(str(path))


def test_only_blank_lines_is_refused(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "blank.csv", b"\n\n\n")

    with pytest.raises(InputFileError, match=r"blank\.csv: has no header line"):
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


# --- read_table: workbooks ---------------------------------------------------------------------


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


# --- write_table: formats and formula injection ------------------------------------------------

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


def worksheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


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

    write_table(FRAME, str(path))

    assert read_table(str(path)).equals(FRAME)


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


def test_writing_onto_a_directory_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()

    with pytest.raises(UserInputError, match="is a directory"):
        write_table(FRAME, str(tmp_path / "out.csv"))


def test_os_error_while_writing_is_a_user_error_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing, "_serialise", disk_full)

    with pytest.raises(UserInputError, match=r"out\.xlsx: cannot write: No space left on device"):
        write_table(FRAME, str(tmp_path / "out.xlsx"))

    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_serialise", interrupted)

    with pytest.raises(KeyboardInterrupt):
        write_table(FRAME, str(tmp_path / "out.csv"))

    assert list(tmp_path.iterdir()) == []


# --- property tests: any input gives a frame or a clean error ----------------------------------

READABLE_FORMATS = ["csv", "tsv", "json", "jsonl", "xlsx", "parquet"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=1, max_size=400), kind=st.sampled_from(READABLE_FORMATS))
def test_random_bytes_give_a_frame_or_a_clean_error(tmp_path: Path, data: bytes, kind: str) -> None:
    path = write_bytes(tmp_path, f"random.{kind}", data)

    try:
        frame = read_table(str(path))
    except UserInputError as error:
        assert str(error)
    else:
        assert isinstance(frame, pl.DataFrame)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=1, max_size=400).map(lambda tail: b"a,b\n" + tail))
def test_random_bytes_after_a_header_give_a_frame_or_a_clean_error(
    tmp_path: Path, data: bytes
) -> None:
    path = write_bytes(tmp_path, "random.csv", data)

    try:
        frame = read_table(str(path))
    except UserInputError as error:
        assert str(error)
    else:
        assert isinstance(frame, pl.DataFrame)


# No NUL (refused on purpose) and no U+FEFF (a leading one is a byte-order mark).
CELL_TEXT = st.text(st.characters(exclude_characters="\x00\ufeff", exclude_categories=["Cs"]))


@st.composite
def well_formed_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(CELL_TEXT.filter(bool), min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(CELL_TEXT, min_size=len(header), max_size=len(header))))
    return header, rows


def render_csv(header: list[str], rows: list[list[str]], delimiter: str, line_end: str) -> str:
    """RFC 4180 text: a field holding the delimiter, a quote, CR or LF is quoted.

    (Python's csv.writer leaves a lone CR unquoted when the line end is LF.)
    """

    def field(cell: str) -> str:
        if any(special in cell for special in (delimiter, '"', "\r", "\n")):
            return '"' + cell.replace('"', '""') + '"'
        return cell

    def line(cells: list[str]) -> str:
        # A lone empty field is written quoted so the row is not a blank line.
        return '""' if cells == [""] else delimiter.join(field(cell) for cell in cells)

    return "".join(line(cells) + line_end for cells in [header, *rows])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=well_formed_tables(),
    delimiter=st.sampled_from(rio.DELIMITERS),
    line_end=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_well_formed_csv_reads_back_exactly_with_its_delimiter(
    tmp_path: Path,
    table: tuple[list[str], list[list[str]]],
    delimiter: str,
    line_end: str,
    encoding: str,
) -> None:
    header, rows = table
    path = write_bytes(
        tmp_path, "table.csv", render_csv(header, rows, delimiter, line_end).encode(encoding)
    )

    try:
        frame = read_table(str(path), delimiter=delimiter)
    except UserInputError as error:
        # The one refusal a well-formed table can meet: a single column whose header and
        # rows another delimiter splits evenly.
        assert "did you mean --delimiter" in str(error)
        return
    expected = [tuple(cell or None for cell in row) for row in rows]
    assert frame.columns == header
    assert frame.rows() == expected


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(table=well_formed_tables(), delimiter=st.sampled_from(rio.DELIMITERS))
def test_well_formed_csv_with_a_sniffed_delimiter_gives_a_frame_or_a_clean_error(
    tmp_path: Path, table: tuple[list[str], list[list[str]]], delimiter: str
) -> None:
    header, rows = table
    path = write_bytes(tmp_path, "table.csv", render_csv(header, rows, delimiter, "\n").encode())

    try:
        frame = read_table(str(path))
    except UserInputError as error:
        assert str(path) in str(error)
    else:
        assert frame.height <= len(rows)


def test_write_text_is_atomic_and_utf8(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")

    write_text("<p>Łódź =1+1</p>", str(path))

    assert path.read_text(encoding="utf-8") == "<p>Łódź =1+1</p>"
    assert temp_files(tmp_path) == []


def test_write_text_to_a_missing_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        write_text("x", str(tmp_path / "missing" / "report.html"))


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.text(alphabet=st.sampled_from(["a", ",", ";", '"', " ", "\r", "é"]), max_size=8),
        min_size=1,
        max_size=6,
    ),
    delimiter=st.sampled_from([",", ";"]),
)
def test_the_vectorised_layout_agrees_with_the_csv_module_whenever_it_answers(
    lines: list[str], delimiter: str
) -> None:
    # The fast check may decline (None) but must never accept what the strict pass refuses,
    # nor count records or blank lines differently.
    text = "\n".join(lines) + "\n"

    def outcome(read: Callable[[], object]) -> object:
        try:
            return read()
        except InputFileError as error:
            return str(error)

    fast = outcome(lambda: delimited._fast_layout(text.encode("utf-8"), "x.csv", delimiter, "\n"))
    if fast is None:
        return
    with delimited.long_fields_allowed():
        strict = outcome(lambda: delimited.scan_records(text, "x.csv", delimiter, "\n"))
    assert fast == strict


def test_the_vectorised_layout_answers_for_ordinary_quoted_files_with_blank_lines() -> None:
    text = 'id,name,country\n1,"Foo, Ltd.",CN\n\n2,"Say ""hi""",VN\r\n'
    fast = delimited._fast_layout(text.encode("utf-8"), "x.csv", ",", "\n")
    assert fast == delimited._Layout(["id", "name", "country"], 3, [1])
    ragged = delimited._fast_layout(b"id,name\n1\n", "x.csv", ",", "\n")
    assert ragged is None  # left to the strict pass, which names the line


# --- chunks ------------------------------------------------------------------------------------


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    table=well_formed_tables(),
    line_end=st.sampled_from(["\n", "\r\n"]),
    blank_every=st.integers(min_value=0, max_value=4),
    chunk_bytes=st.integers(min_value=1, max_value=64),
)
# Found by CI-like runs: a header starting with U+F000 (EF 80 80) in one-byte blocks looked to
# pyarrow like a truncated byte order mark (EF BB BF).
@example(table=(["\uf000"], []), line_end="\n", blank_every=0, chunk_bytes=1)
def test_a_file_read_in_chunks_of_any_size_is_the_file_read_whole(
    tmp_path: Path,
    table: tuple[list[str], list[list[str]]],
    line_end: str,
    blank_every: int,
    chunk_bytes: int,
) -> None:
    header, rows = table
    text = render_csv(header, rows, ",", line_end)
    if blank_every:  # blank lines between records, as exports have
        lines = text.split(line_end)
        text = line_end.join(
            line + (line_end if index % blank_every == blank_every - 1 else "")
            for index, line in enumerate(lines)
        )
    path = write_bytes(tmp_path, "table.csv", text.encode("utf-8"))
    try:
        whole = read_table(str(path), delimiter=",")
    except (InputFileError, UserInputError) as error:
        with pytest.raises(type(error), match=re.escape(str(error))):
            list(rio.ChunkedTable(str(path), delimiter=",", chunk_bytes=chunk_bytes))
        return
    assert pl.concat(read_chunks(path, chunk_bytes, delimiter=",")).equals(whole)


def read_chunks(path: Path, chunk_bytes: int, **options: str) -> list[pl.DataFrame]:
    """Every chunk; iterating twice gives the same chunks (the object is re-iterable)."""
    table = rio.ChunkedTable(str(path), chunk_bytes=chunk_bytes, **options)
    first = list(table)
    again = list(table)
    assert len(first) == len(again)
    assert all(one.equals(other) for one, other in zip(first, again, strict=True))
    return first


@pytest.mark.parametrize(
    "text",
    [
        'a,b"c\n1,2\n3,4"\n5,6\n7,8\n9,10\n11,12\n',  # quotes inside unquoted values
        'x,y\n1,x"y\n"multi\nline",2\n3,4\n5,6\n7,8\n',
        'id,note\n1,"two\nlines"\n2,plain\n3,"more\nlines"\n4,end\n',  # line breaks in quotes
        "   \n1\n2\n3\n4\n5\n",  # a whitespace-only header is a column name
    ],
)
def test_line_breaks_in_quotes_and_stray_quotes_stream_as_the_file_reads_whole(
    tmp_path: Path, text: str
) -> None:
    path = write_bytes(tmp_path, "odd.csv", text.encode("utf-8"))
    whole = read_table(str(path))
    for chunk_bytes in (1, 5, 9, 20):
        assert pl.concat(read_chunks(path, chunk_bytes)).equals(whole)


def test_chunks_name_lines_counted_from_the_top_of_the_file(tmp_path: Path) -> None:
    rows = "".join(f"{index},name {index}\n" for index in range(1, 40))
    path = write_bytes(tmp_path, "long.csv", f"id,name\n{rows}40\n41,ok\n".encode())
    with pytest.raises(InputFileError, match=r"long\.csv: line 41 has 1 fields"):
        list(rio.ChunkedTable(str(path), chunk_bytes=50))
    with pytest.raises(InputFileError, match=r"long\.csv: line 41 has 1 fields"):
        read_table(str(path))


def test_a_later_chunk_in_a_single_byte_code_page_is_detected_as_the_whole_file_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The head read for the encoding holds only ASCII, so a later chunk must detect cp1252.
    monkeypatch.setattr(io_chunks, "_CHUNK_SAMPLE_BYTES", 600)
    ascii_rows = "".join(f"{index},Plain Name {index}\n" for index in range(200))
    text = f"id,name\n{ascii_rows}" + "".join(
        f"{index},Société Générale Müller {index}\n" for index in range(200, 230)
    )
    path = write_bytes(tmp_path, "mixed.csv", text.encode("cp1252"))
    chunks = list(rio.ChunkedTable(str(path), chunk_bytes=500))
    assert len(chunks) > 3
    assert pl.concat(chunks).equals(read_table(str(path)))
    assert pl.concat(chunks)["name"][-1] == "Société Générale Müller 229"


def test_large_utf16_files_are_read_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(io_chunks, "_CHUNK_SAMPLE_BYTES", 64)
    rows = "".join(f"{index}\tŁódź {index}\n" for index in range(40))
    path = write_bytes(
        tmp_path, "sap.txt", codecs.BOM_UTF16_LE + f"id\tname\n{rows}".encode("utf-16-le")
    )
    chunks = list(rio.ChunkedTable(str(path), "tsv", chunk_bytes=50))
    assert len(chunks) == 1
    assert chunks[0].equals(read_table(str(path), "tsv"))


def test_later_chunks_are_checked_for_mixed_and_undefined_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(io_chunks, "_CHUNK_SAMPLE_BYTES", 600)
    head = "id,name\n" + "".join(f"{index},Société Générale {index}\n" for index in range(40))
    mixed = head.encode("cp1252") + "40,Café Crème\n".encode()
    path = write_bytes(tmp_path, "mixed.csv", mixed)
    with pytest.raises(InputFileError, match=r"mixed\.csv: line 42 is valid UTF-8 .* mixes"):
        list(rio.ChunkedTable(str(path), chunk_bytes=300))
    undefined = head.encode("cp1252") + b"40,Bad \x81 byte\n"
    path = write_bytes(tmp_path, "undefined.csv", undefined)
    with pytest.raises(InputFileError, match=r"undefined\.csv: line 42 is not valid cp1252"):
        list(rio.ChunkedTable(str(path), chunk_bytes=300))


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "parquet", "xlsx", "json"])
def test_writing_chunks_gives_the_table_written_whole(tmp_path: Path, kind: str) -> None:
    frame = pl.DataFrame({"name": ["=cmd", "plain", "-5", "@x"], "score": [0.1, None, 2.5, 1e-9]})
    whole, pieces = tmp_path / f"whole.{kind}", tmp_path / f"pieces.{kind}"
    write_table(frame, str(whole))
    written = rio.write_table_chunks(
        [frame.slice(0, 1), frame.slice(1, 0), frame.slice(1)], str(pieces)
    )
    assert written == frame.height
    if kind in ("csv", "tsv", "jsonl"):
        assert pieces.read_bytes() == whole.read_bytes()
    else:
        assert read_table(str(pieces)).equals(read_table(str(whole)))


def test_a_failing_chunk_leaves_no_output(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    target.write_text("previous run\n")

    def chunks():
        yield pl.DataFrame({"a": [1]})
        raise UserInputError("chunk 2 is bad")

    with pytest.raises(UserInputError, match="chunk 2"):
        rio.write_table_chunks(chunks(), str(target))
    assert target.read_text() == "previous run\n"
    assert [path.name for path in tmp_path.iterdir()] == ["scores.csv"]


@pytest.mark.parametrize(
    "tail",
    [
        '41,"ab"c\n42,ok\n',  # text after a closing quote (pyarrow would read "abc")
        '41,"never closed\n42,ok\n',  # pyarrow would swallow the rest of the file
        "41,bare\rcarriage\n42,ok\n",  # pyarrow would end the record at the CR
        "41,ok,extra\n42,ok\n",  # ragged: pyarrow names no line
    ],
)
def test_streamed_chunks_refuse_what_the_whole_file_read_refuses_with_its_message(
    tmp_path: Path, tail: str
) -> None:
    rows = "".join(f'{index},"name, {index}"\n' for index in range(1, 40))
    path = write_bytes(tmp_path, "late.csv", f"id,name\n{rows}{tail}".encode())
    with pytest.raises(InputFileError) as whole:
        read_table(str(path))
    assert "line 4" in str(whole.value)
    for chunk_bytes in (30, 200):
        with pytest.raises(InputFileError, match=re.escape(str(whole.value))):
            list(rio.ChunkedTable(str(path), chunk_bytes=chunk_bytes))


def test_streamed_chunks_keep_whitespace_and_read_empty_cells_as_null(tmp_path: Path) -> None:
    text = 'id,name,note,\n1,  padded  ,"",\n2,,"x\ny",\n\n3," ","quoted",\n'
    path = write_bytes(tmp_path, "cells.csv", text.encode())
    streamed = pl.concat(list(rio.ChunkedTable(str(path), chunk_bytes=8)))
    assert streamed.equals(read_table(str(path)))
    assert streamed["name"].to_list() == ["  padded  ", None, " "]
    assert streamed["note"].to_list() == [None, "x\ny", "quoted"]


def test_a_quoted_crlf_split_by_a_block_boundary_keeps_both_characters(tmp_path: Path) -> None:
    # pyarrow dropped the LF when a block ended between the CR and LF of a quoted value; every
    # block size puts the boundary somewhere, so try them all.
    text = 'name,note\nfirst,"two\r\nlines"\n\nsecond,"again\r\nhere"\nthird,plain\n'
    path = write_bytes(tmp_path, "crlf.csv", text.encode("utf-8"))
    whole = read_table(str(path), delimiter=",")
    assert whole["note"].to_list() == ["two\r\nlines", "again\r\nhere", "plain"]
    for chunk_bytes in range(2, len(text) + 1):
        chunks = list(rio.ChunkedTable(str(path), delimiter=",", chunk_bytes=chunk_bytes))
        assert pl.concat(chunks).equals(whole), chunk_bytes
