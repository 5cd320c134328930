"""Decoding inputs: byte-order marks, UTF-16, detected and named code pages, and undecodable
or mixed bytes refused naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine.errors import InputFileError, UserInputError
from riskengine.io import read_table, read_table_with_metadata


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def codecs_bom_utf16le() -> bytes:
    return b"\xff\xfe"


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
