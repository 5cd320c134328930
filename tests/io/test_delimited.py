"""The strict CSV/TSV reader: delimiters, quoting, blank lines, malformed rows and headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import riskengine.io as rio
from riskengine.errors import InputFileError, UserInputError
from riskengine.io import delimited, read_table, read_table_with_metadata, write_table


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


ID_FRAME = pl.DataFrame({"supplier_id": ["0000100001", None], "country": ["NA", "CN"]})


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


def test_header_only_csv_gives_no_rows_and_keeps_the_columns(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "header.csv", b"material,supplier,supplier_country\n")

    frame = read_table(str(path))

    assert frame.height == 0
    assert frame.columns == ["material", "supplier", "supplier_country"]


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

    write_table(ID_FRAME, str(path))

    assert path.read_text(encoding="utf-8").splitlines()[0] == "supplier_id\tcountry"
    assert read_table(str(path)).equals(ID_FRAME)


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


@pytest.mark.few_examples(60)
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


@pytest.mark.few_examples(40)
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


@pytest.mark.few_examples(100)
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


def test_long_fields_stay_allowed_until_the_last_thread_reading_with_them_is_done() -> None:
    """The csv module's limit is one for the process: a reader leaving must not put it back
    under another still reading (the reference data loads on a thread beside the input), and
    the last one out puts back the limit found before the first came in."""
    import csv
    import threading

    default = csv.field_size_limit()
    entered, leave = threading.Event(), threading.Event()

    def first_reader() -> None:
        with delimited.long_fields_allowed():
            entered.set()
            leave.wait(timeout=10)

    thread = threading.Thread(target=first_reader)
    thread.start()
    assert entered.wait(timeout=10)
    with delimited.long_fields_allowed():
        leave.set()  # the first reader leaves while this one still reads
        thread.join(timeout=10)
        assert csv.field_size_limit() == 2**31 - 1
    assert csv.field_size_limit() == default


def _full_reading(data: bytes, delimiter: str | None, explicit: bool) -> object:
    """What :func:`delimited.read_delimited_text` gives for ``data`` decoded whole, or the
    error it raises."""
    try:
        frame, used, blank = delimited.read_delimited_text(
            data.decode("utf-8"), "t.csv", delimiter, explicit, data
        )
    except (InputFileError, UserInputError) as error:
        return type(error)
    return frame.to_dicts(), frame.columns, used, blank


@pytest.mark.few_examples(100)
@settings(max_examples=300, deadline=None)
@given(
    table=well_formed_tables(),
    delimiter=st.sampled_from(rio.DELIMITERS),
    line_end=st.sampled_from(["\n", "\r\n"]),
    given_delimiter=st.booleans(),
)
def test_a_plain_file_read_from_its_bytes_reads_as_when_decoded_whole(
    table: tuple[list[str], list[list[str]]], delimiter: str, line_end: str, given_delimiter: bool
) -> None:
    header, rows = table
    data = render_csv(header, rows, delimiter, line_end).encode("utf-8")
    option = delimiter if given_delimiter else None

    plain = delimited.read_plain_delimited(data, "t.csv", option, given_delimiter)

    if plain is not None:
        frame, used, blank = plain
        assert (frame.to_dicts(), frame.columns, used, blank) == _full_reading(
            data, option, given_delimiter
        )


def test_a_file_longer_than_the_sniffed_head_reads_as_when_decoded_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = "".join(f"Acme {index};Dy2O3;0,{index % 10}\n" for index in range(200))
    data = ("supplier;material;share\n" + rows + "\nÅbo Metals;NdPr oxide;0,5\n").encode()
    monkeypatch.setattr(delimited, "PLAIN_SNIFF_BYTES", 300)

    plain = delimited.read_plain_delimited(data, "t.csv", None, False)

    assert plain is not None
    frame, used, blank = plain
    assert (used, blank, frame.height) == (";", 1, 201)
    assert (frame.to_dicts(), frame.columns, used, blank) == _full_reading(data, None, False)


@pytest.mark.parametrize(
    "data",
    [
        b"a,b\n1,\x002\n",  # NUL: refused by the full reading, naming the line
        b"a,b\n1,\xe92\n",  # cp1252: detected by the full reading
        b"\xef\xbb\xbfa,b\n1,2\n",  # byte-order mark
        b'a,b\n1,"2\n3"\n',  # a quoted line end
        b"a,b\n1,2,3\n",  # ragged
        b"a,b",  # no line end
    ],
)
def test_what_is_not_plain_is_left_to_the_full_reading(data: bytes) -> None:
    assert delimited.read_plain_delimited(data, "t.csv", None, False) is None


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(
        st.binary(max_size=12).map(lambda cell: cell.replace(b"\n", b"").replace(b",", b"")),
        min_size=2,
        max_size=8,
    )
)
def test_bytes_that_are_not_utf8_are_left_to_the_full_reading(body: list[bytes]) -> None:
    """polars' reading is what checks UTF-8 on the fast path: it must refuse all Python's
    decoder refuses (surrogates, overlong forms, truncated sequences), or such a file would
    be read with replaced characters instead of detected or refused naming its line."""
    data = b"a,b\n" + b"".join(
        cell + (b"," if index % 2 == 0 else b"\n") for index, cell in enumerate(body)
    )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert delimited.read_plain_delimited(data, "t.csv", None, False) is None
        assert delimited.read_plain_records(data, "t.csv", ",") is None


def test_a_head_that_is_not_plain_leaves_the_file_before_its_lines_are_split(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = "".join(f"Acme {index};Dy2O3;0,{index % 10}\n" for index in range(200))
    data = ("Bezugsquellen Werk 1000;;\nsupplier;material;share\n" + rows).encode()
    monkeypatch.setattr(delimited, "PLAIN_SNIFF_BYTES", 300)
    split: list[int] = []
    raw_lines = delimited._raw_lines
    monkeypatch.setattr(
        delimited, "_raw_lines", lambda part: split.append(len(part)) or raw_lines(part)
    )

    assert delimited.read_plain_delimited(data, "t.csv", None, False) is None
    assert split and max(split) <= 300
