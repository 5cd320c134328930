"""Large CSV and TSV files streamed in chunks: every chunking gives the file read whole, with
the same messages and line numbers."""

from __future__ import annotations

import codecs
import io
import re
import signal
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import riskengine.io as rio
from riskengine import errors
from riskengine.errors import InputFileError, Interrupted, UserInputError
from riskengine.io import chunks as io_chunks
from riskengine.io import read_table


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


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


def read_chunks(path: Path, chunk_bytes: int, **options: str) -> list[pl.DataFrame]:
    """Every chunk; iterating twice gives the same chunks (the object is re-iterable)."""
    table = rio.ChunkedTable(str(path), chunk_bytes=chunk_bytes, **options)
    first = list(table)
    again = list(table)
    assert len(first) == len(again)
    assert all(one.equals(other) for one, other in zip(first, again, strict=True))
    return first


@pytest.mark.few_examples(30)
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


def test_a_title_above_the_header_is_read_whole_as_the_whole_file_reads(tmp_path: Path) -> None:
    # The property above reaches this only with some of its random tables: a header below a
    # title line is not streamed; the file is read whole and its header found there.
    text = (
        "Supplier list March 2026\n\nmaterial,supplier,country\n"
        "Dy2O3,Acme,CN\ngallium,Yunnan Co,CN\nNdPr oxide,Kuantan,MY\n"
    )
    path = write_bytes(tmp_path, "titled.csv", text.encode("utf-8"))
    whole = read_table(str(path))
    assert whole.columns == ["material", "supplier", "country"] and whole.height == 3
    for chunk_bytes in (5, 40):
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


def test_an_interrupt_lost_inside_a_library_stops_the_read_at_the_next_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signal arrived and its exception was cleared by pyarrow's reader: only the record is left.
    monkeypatch.setattr(errors, "RECEIVED_SIGNALS", [])
    lines = "".join(f"Dy2O3,Supplier {index},CN\n" for index in range(2_000))
    path = write_bytes(tmp_path, "in.csv", f"material,supplier,country\n{lines}".encode())
    frames = iter(rio.ReadOptions().chunks(str(path), chunk_bytes=4_000))
    assert next(frames).height > 0
    errors.RECEIVED_SIGNALS.append(signal.SIGINT)

    with pytest.raises(Interrupted):
        next(frames)


@pytest.mark.parametrize(("line_end", "mark"), [("\n", b""), ("\r\n", b"\xef\xbb\xbf")])
def test_a_plain_utf8_file_streams_through_polars_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line_end: str, mark: bytes
) -> None:
    def refused(*arguments: object) -> None:
        raise AssertionError("a plain file needs no checked reader")

    monkeypatch.setattr(io_chunks.ChunkedTable, "_stream_checked", refused)
    rows = [[f"Dy2O3 {index}", f"Zhōng {index}", "" if index % 7 else "CN"] for index in range(300)]
    text = render_csv(["material", "supplier", "country"], rows, ",", line_end)
    text = text.replace(line_end, line_end * 2, 3)  # blank lines, as exports have
    path = write_bytes(tmp_path, "plain.csv", mark + text.encode("utf-8"))

    chunks = read_chunks(path, 500)

    assert len(chunks) > 5
    assert pl.concat(chunks).equals(read_table(str(path)))


def test_a_file_that_stops_being_plain_is_read_on_by_the_checked_reader_from_that_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_over: list[int] = []
    checked = io_chunks.ChunkedTable._stream_checked

    def recording(table: io_chunks.ChunkedTable, plan: object, already: int) -> object:
        handed_over.append(already)
        return checked(table, plan, already)  # type: ignore[arg-type]

    monkeypatch.setattr(io_chunks.ChunkedTable, "_stream_checked", recording)
    plain = "".join(f"{index},plain\n" for index in range(200))
    text = f'id,note\n{plain}200,"two\nlines"\n201,end\n'
    path = write_bytes(tmp_path, "turns.csv", text.encode("utf-8"))

    whole = pl.concat(rio.ChunkedTable(str(path), chunk_bytes=400))

    assert handed_over and handed_over[0] > 0  # the plain blocks were read by polars first
    assert whole.equals(read_table(str(path)))


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=200),
    size=st.integers(min_value=1, max_value=40),
    prefix=st.binary(min_size=1, max_size=5),
)
def test_line_blocks_cut_after_line_ends_and_carry_the_prefix(
    content: bytes, size: int, prefix: bytes
) -> None:
    """Blocks end after a LF (but the last), each after the first starts with the prefix set
    after it, and without their prefixes they are the file."""
    blocks = io_chunks._LineBlocks(io.BytesIO(content), size)
    seen = []
    for block in blocks:
        seen.append(block)
        blocks.prefix = prefix

    later = seen[1:]
    assert all(block.startswith(prefix) for block in later)
    unprefixed = [seen[0], *(block[len(prefix) :] for block in later)] if seen else []
    assert b"".join(unprefixed) == content
    assert all(block.endswith(b"\n") for block in unprefixed[:-1])
    assert all(block for block in unprefixed)


@pytest.mark.parametrize("chunk_bytes", [30, 200, io_chunks.DEFAULT_CHUNK_BYTES])
def test_a_first_chunk_read_ahead_gives_the_chunks_a_plain_iteration_gives(
    tmp_path: Path, chunk_bytes: int
) -> None:
    rows = "".join(f'{index},"name, {index}"\n' for index in range(1, 40))
    path = write_bytes(tmp_path, "list.csv", f"id,name\n{rows}".encode())
    expected = read_chunks(path, chunk_bytes)
    table = rio.ChunkedTable(str(path), chunk_bytes=chunk_bytes)
    table.read_first_ahead()
    got = list(table)
    again = list(table)  # read again from the file, as any second iteration is
    for chunks in (got, again):
        assert len(chunks) == len(expected)
        assert all(one.equals(other) for one, other in zip(chunks, expected, strict=True))


def test_a_first_chunk_read_ahead_reads_on_its_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bytes(tmp_path, "list.csv", b"id,name\n1,a\n2,b\n")
    readers: list[str] = []
    read_whole = io_chunks.read_table_with_metadata

    def recorded(*arguments: object, **options: object) -> object:
        readers.append(threading.current_thread().name)
        return read_whole(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(io_chunks, "read_table_with_metadata", recorded)
    table = rio.ChunkedTable(str(path))
    table.read_first_ahead()
    (chunk,) = list(table)
    assert readers == ["riskengine-read-first"]
    assert chunk["name"].to_list() == ["a", "b"]


def test_an_error_of_a_first_chunk_read_ahead_is_raised_where_the_chunk_is_taken(
    tmp_path: Path,
) -> None:
    path = write_bytes(tmp_path, "ragged.csv", b"id,name\n1,a\n2,b,extra\n")
    with pytest.raises(InputFileError) as whole:
        read_table(str(path))
    table = rio.ChunkedTable(str(path))
    table.read_first_ahead()  # nothing raised here: the caller goes on with its own work
    with pytest.raises(InputFileError, match=re.escape(str(whole.value))):
        list(table)


def test_a_first_chunk_read_ahead_and_never_taken_is_waited_for_and_let_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_bytes(tmp_path, "list.csv", b"id,name\n1,a\n2,b\n")
    release = threading.Event()
    read_whole = io_chunks.read_table_with_metadata

    def slow(*arguments: object, **options: object) -> object:
        release.wait(timeout=10)
        return read_whole(*arguments, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(io_chunks, "read_table_with_metadata", slow)
    table = rio.ChunkedTable(str(path))
    table.read_first_ahead()
    closing = threading.Thread(target=table.close)
    closing.start()
    closing.join(timeout=0.3)
    assert closing.is_alive()  # the read under way is waited for
    release.set()
    closing.join(timeout=10)
    assert not closing.is_alive()
    table.close()  # once is enough
    (chunk,) = list(table)  # an input read whole keeps its one chunk, as after any read
    assert chunk["name"].to_list() == ["a", "b"]
