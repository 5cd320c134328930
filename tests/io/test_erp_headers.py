"""ERP exports as delivered (issue 13 items 3 and 6): header names in the teams' languages, a
title row above the header, ``--header-row``, a part number beside its description, and CSV
written in the input's encoding."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from riskengine.errors import UserInputError
from riskengine.io import CsvStyle, read_table, read_table_with_metadata, write_table
from riskengine.io.columns import (
    column_choice_notes,
    named_columns,
    parse_named_columns,
    resolve_columns,
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            # Oracle Purchasing approved supplier list.
            ["Item", "Item Description", "Supplier", "Supplier Site", "Allocation %",
             "Ship-To Org", "ASL Status", "Country"],
            {"material": "Item Description", "supplier": "Supplier", "share": "Allocation %",
             "plant": "Ship-To Org", "source_status": "ASL Status"},
        ),
        (
            # SAP GUI in German: field labels instead of technical names.
            ["Material", "Materialkurztext", "Lieferant", "Land", "Werk", "Anteil %"],
            # "Material" is the label of the material number (MATNR) here, not a text.
            {"material": "Materialkurztext", "supplier": "Lieferant", "supplier_country": "Land",
             "plant": "Werk", "share": "Anteil %"},
        ),
        (
            ["MATNR", "MAKTX", "LIFNR", "NAME1", "LAND1", "WERKS", "NOTKZ"],
            {"material": "MAKTX", "supplier": "NAME1", "supplier_id": "LIFNR",
             "plant": "WERKS", "source_status": "NOTKZ"},
        ),
        (
            ["자재", "자재내역", "공급업체", "국가", "비율", "플랜트"],
            {"material": "자재내역", "supplier": "공급업체", "supplier_country": "국가",
             "share": "비율", "plant": "플랜트"},
        ),
        (
            # Korean SAP download: 공급업체 is LIFNR's label (the vendor number) beside its name.
            ["자재", "자재내역", "플랜트", "플랜트 국가", "공급업체", "공급업체명", "국가",
             "비율(%)"],
            {"material": "자재내역", "supplier": "공급업체명", "supplier_country": "국가",
             "share": "비율(%)", "plant": "플랜트", "buyer_country": "플랜트 국가"},
        ),
        (
            ["品目", "品目テキスト", "仕入先", "国", "比率", "プラント"],
            {"material": "品目テキスト", "supplier": "仕入先", "supplier_country": "国",
             "share": "比率", "plant": "プラント"},
        ),
        (
            ["物料", "物料描述", "供应商", "国家", "比例", "工厂"],
            {"material": "物料描述", "supplier": "供应商", "supplier_country": "国家",
             "share": "比例", "plant": "工厂"},
        ),
    ],
)  # fmt: skip
def test_erp_headers_in_several_languages_are_recognised(
    headers: list[str], expected: dict[str, str]
) -> None:
    mapping = resolve_columns(headers, source="export.csv")

    assert {name: mapping[name] for name in expected} == expected


def test_a_part_number_beside_its_description_is_the_key_not_a_second_material() -> None:
    mapping = resolve_columns(["Item", "Item Description", "Supplier", "Country"], source="asl.csv")

    assert mapping["material"] == "Item Description"


def test_the_exact_canonical_name_wins_over_an_alias_and_a_note_says_so() -> None:
    headers = ["MATNR", "MAKTX", "material", "NAME1", "LAND1"]

    mapping = resolve_columns(headers, source="eord.csv")

    assert mapping["material"] == "material"
    (note,) = column_choice_notes(headers, source="eord.csv")
    assert "'material' is read as 'material'" in note
    assert "'MAKTX'" in note


def test_two_aliases_without_the_canonical_name_are_still_refused() -> None:
    with pytest.raises(UserInputError, match="'MAKTX', 'TXZ01' all mean 'material'"):
        resolve_columns(["MAKTX", "TXZ01", "NAME1", "LAND1"], source="eord.csv")


def test_named_columns_win_over_the_aliases() -> None:
    headers = ["Item", "Item Description", "Long Description", "Supplier", "Country"]
    named = parse_named_columns(
        ['material="Long Description",share=Country'], ["material", "share"]
    )

    with named_columns({"material": named["material"]}):
        mapping = resolve_columns(headers, source="asl.csv")

    assert named == {"material": "Long Description", "share": "Country"}
    assert mapping["material"] == "Long Description"


def test_a_named_column_that_is_absent_or_an_unknown_name_is_a_user_error() -> None:
    with pytest.raises(UserInputError, match="unknown column name 'materail'"):
        parse_named_columns(["materail=Item"], ["material"])
    with (
        named_columns({"material": "Beschreibung"}),
        pytest.raises(UserInputError, match="no such column"),
    ):
        resolve_columns(["MAKTX", "NAME1", "LAND1"], source="eord.csv")


def test_a_csv_title_line_above_the_header_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "eord.csv"
    path.write_bytes(
        b"Bezugsquellenliste Werk 1000;;;\nMATNR;MAKTX;NAME1;LAND1\n4711;Dy2O3;Baotou;CN\n"
    )

    frame = read_table(str(path))

    assert frame.columns == ["MATNR", "MAKTX", "NAME1", "LAND1"]
    assert frame.rows() == [("4711", "Dy2O3", "Baotou", "CN")]


def test_title_lines_are_kept_and_a_decimal_comma_below_them_is_no_header(
    tmp_path: Path,
) -> None:
    # A CS12 list: ";"-separated, German decimal commas. Read as ",", the "0,2" line would
    # have two fields and be taken for the header.
    path = tmp_path / "cs12.csv"
    path.write_bytes(
        b"Material 000000000020000001 Elektromotor;;;\nWerk 1000;;;\n;;;\n"
        b"Stufe;Komponente;Objektkurztext;Menge\n.1;4711;Rotor;1\n..2;4712;Gallium;0,2\n"
    )

    frame, metadata = read_table_with_metadata(str(path))

    assert frame.columns == ["Stufe", "Komponente", "Objektkurztext", "Menge"]
    assert frame.height == 2
    assert metadata["title"] == ("Material 000000000020000001 Elektromotor", "Werk 1000")
    named, named_metadata = read_table_with_metadata(str(path), header_row=4)
    assert named.equals(frame)
    assert named_metadata["title"] == metadata["title"]


def test_an_xlsx_title_row_is_kept_in_the_metadata(tmp_path: Path) -> None:
    path = tmp_path / "cs12.xlsx"
    _workbook(path, [["Material", "4711", "Motor"], ["Stufe", "Komponente"], ["1", "Rotor"]])

    _, metadata = read_table_with_metadata(str(path), header_row=2)

    assert metadata["title"] == ("Material 4711 Motor",)


def test_header_row_names_the_header_line(tmp_path: Path) -> None:
    path = tmp_path / "eord.csv"
    # Two full lines above the header: no detection could tell them from a header.
    path.write_bytes(b"Report;ME03\nDate;2026-03-01\nMATNR;NAME1\n4711;Baotou\n")

    frame = read_table(str(path), header_row=3)

    assert frame.rows() == [("4711", "Baotou")]


def _workbook(path: Path, rows: list[list[str | None]]) -> None:
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Sheet1")
    for row_index, row in enumerate(rows):
        for column_index, value in enumerate(row):
            if value is not None:
                sheet.write_string(row_index, column_index, value)
    workbook.close()


def test_an_xlsx_title_row_above_the_header_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "source_list.xlsx"
    _workbook(
        path,
        [
            ["공급처 목록 (2026-03)", None, None],
            ["자재내역", "공급업체", "국가"],
            ["산화디스프로슘 Dy2O3", "POSCO Future M", "KR"],
        ],
    )

    frame = read_table(str(path))

    assert frame.columns == ["자재내역", "공급업체", "국가"]
    assert frame.height == 1


def test_xlsx_header_row_option(tmp_path: Path) -> None:
    path = tmp_path / "asl.xlsx"
    _workbook(path, [["Run", "ASL"], ["Item", "Supplier"], ["RM-1", "Acme"]])

    assert read_table(str(path), header_row=2).rows() == [("RM-1", "Acme")]


def test_a_character_the_code_page_lacks_falls_back_to_utf8_with_a_note(tmp_path: Path) -> None:
    frame = pl.DataFrame({"supplier": ["Lübeck GmbH", "포스코"]})
    notes: list[str] = []

    write_table(frame, str(tmp_path / "out.csv"), style=CsvStyle(";", "cp1252"), notes=notes)

    assert (tmp_path / "out.csv").read_bytes() == (
        b"\xef\xbb\xbf" + "supplier\nLübeck GmbH\n포스코\n".encode()
    )
    (note,) = notes
    assert "cannot be written in cp1252" in note and "UTF-8 with a byte-order mark" in note


def test_the_style_of_a_plain_input_is_the_plain_writer() -> None:
    assert CsvStyle.mirroring(",", "utf-8") is None
    assert CsvStyle.mirroring(None, None) is None
    assert CsvStyle.mirroring(";", "cp1252") == CsvStyle(";", "cp1252")
