"""Reading and writing user files: text cells, encodings, clear errors, atomic writes."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import polars as pl
import pytest

import riskengine.io as rio
from riskengine.errors import InputFileError, UserInputError
from riskengine.io import read_table, write_table


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


def test_invalid_utf8_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path,
        "latin1.csv",
        b"material,supplier\nDy2O3,Acme\nNdPr oxide,Soci\xe9t\xe9 G\xe9n\xe9rale\n",
    )

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message


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

    monkeypatch.setattr(rio, "_serialise", half_written)

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

    monkeypatch.setattr(rio, "_serialise", half_written)

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
