"""The strict CSV/TSV reader for a whole decoded text.

CSV rules, in the order they apply:

* The delimiter is the caller's, or the one of ``,`` ``;`` TAB ``|`` that splits the header
  into the most columns while every sampled row has that same number of fields (ties go to
  the order above). When no candidate is consistent, the one giving the widest header is
  used, so the ragged line is reported instead of the file silently becoming one column. An
  explicit delimiter that yields a single column, where another candidate would split the
  header and the sampled rows evenly, is an error suggesting that candidate (not a silent
  re-read: the caller asked for that delimiter).
* A row with more or fewer fields than the header, or a quoted field that is never closed,
  is an error naming the file and line. Blank lines carry no data and are skipped (counted in
  the metadata); a header cell left empty is dropped when its whole column is empty (the
  trailing-delimiter habit of SAP exports) and is an error otherwise. Duplicate header names
  are an error.

Cells stay text; only empty cells become null.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import polars as pl

from riskengine.errors import InputFileError, UserInputError
from riskengine.io.columns import check_unique_names
from riskengine.io.decoding import DETECTION_SAMPLE_BYTES

#: Candidate CSV delimiters, in the order that breaks ties when sniffing.
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_RECORDS = 50


def _raw_lines(data: bytes) -> pl.DataFrame:
    """Each line of ``data`` as one text field named ``line`` (no quoting, nothing trimmed)."""
    return pl.read_csv(
        data,
        has_header=False,
        separator="\x00",  # NUL is refused earlier, so each line is one field
        quote_char=None,
        new_columns=["line"],
        infer_schema=False,
        empty_string_is_null=False,
        raise_if_empty=False,
    )


def delimiter_option(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    spelled = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if len(spelled) != 1 or spelled in ('"', "\n", "\r"):
        raise UserInputError(
            f"--delimiter must be a single character such as ',' ';' '|' or '\\t', "
            f"not {delimiter!r}"
        )
    return spelled


class _LongFields:
    """Who reads with long fields allowed, across threads: the csv module's limit is one for
    the whole process, so it is raised by the first reader in and put back by the last out
    (the reference data loads on a thread while the input's chunks are read)."""

    lock = threading.Lock()
    readers = 0
    previous = 0


@contextlib.contextmanager
def long_fields_allowed() -> Iterator[None]:
    """The csv module's field size limit raised while in the block, on every thread."""
    # The csv module refuses fields over 128 KiB by default; long notes are legitimate.
    with _LongFields.lock:
        if _LongFields.readers == 0:
            _LongFields.previous = csv.field_size_limit(2**31 - 1)
        _LongFields.readers += 1
    try:
        yield
    finally:
        with _LongFields.lock:
            _LongFields.readers -= 1
            if _LongFields.readers == 0:
                csv.field_size_limit(_LongFields.previous)


def read_delimited(
    text: str,
    label: str,
    delimiter: str | None,
    explicit: bool,
    header_row: int | None = None,
    encoded: bytes | None = None,
) -> tuple[pl.DataFrame, str, int, tuple[str, ...]]:
    """The frame, the delimiter used, the number of blank lines skipped and the title lines
    skipped above the header (each as its non-empty fields joined by a space). ``encoded``,
    when given, is ``text`` in UTF-8 already (the file's own bytes), which saves encoding it
    again.

    Lines above the header (``header_row``, 1-based) are blanked, so line numbers in messages
    still count from the top of the file. Without ``header_row``, a file that cannot be read
    as it stands (and was given no delimiter) is read again below its title lines
    (:func:`title_lines`): a report title above the header ("Bezugsquellen Werk 1000;;;")
    otherwise leaves columns without names.
    """
    with long_fields_allowed():
        if header_row is None:
            try:
                return (*read_delimited_text(text, label, delimiter, explicit, encoded), ())
            except InputFileError:
                # With a delimiter given, a failed reading is more likely a wrong delimiter
                # (the message suggests one) than a title; --header-row names the header then.
                if explicit or not title_lines(text):
                    raise
        frame, used, blank = read_delimited_text(
            blank_title_lines(text, header_row), label, delimiter, explicit
        )
        return frame, used, blank, _title_texts(text, title_lines(text, header_row), used)


def _title_texts(text: str, count: int, delimiter: str) -> tuple[str, ...]:
    """The first ``count`` lines of ``text``, each as its non-empty fields joined by a space
    ("Material;1000123;Motor;;" is "Material 1000123 Motor"); blank lines left out."""
    line_end = "\r" if "\n" not in text and "\r" in text else "\n"
    titles = []
    for line in itertools.islice(_lines(text, line_end), count):
        fields = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter), [])
        words = " ".join(field.strip() for field in fields if field.strip())
        if words:
            titles.append(words)
    return tuple(titles)


#: How many lines from the top may be a title above the header.
_TITLE_SEARCH_LINES = 10


def title_lines(text: str, header_row: int | None = None) -> int:
    """How many lines above the header are a title (a report name, a date, "Bezugsquellen
    Werk 1000;;;;"): ``header_row - 1`` when given, else the lines before the first one with
    two non-empty fields for some candidate delimiter, when each has text in its first field
    only (0 when there is no such line). When several delimiters find such a line, the one
    whose line has the most fields is the header: below a CS12 title, a decimal comma in
    "..2;Gallium;0,2" must not make a data line the header of a ``;`` file."""
    if header_row is not None:
        if header_row < 1:
            raise UserInputError(f"--header-row {header_row}: rows count from 1")
        return header_row - 1
    line_end = "\r" if "\n" not in text and "\r" in text else "\n"
    head = [
        line.rstrip("\r\n")
        for line in itertools.islice(_lines(text, line_end), _TITLE_SEARCH_LINES)
    ]
    found: list[tuple[int, int]] = []
    for candidate in DELIMITERS:
        for index, line in enumerate(head):
            filled = _filled_positions(line, candidate)
            if filled is None or (filled and filled != [0]):
                if index and filled is not None and len(filled) >= 2:
                    found.append((len(filled), index))
                break
    # Most fields first; among equals, the delimiter listed first (max keeps the first).
    return max(found, key=lambda header: header[0])[1] if found else 0


def _filled_positions(line: str, delimiter: str) -> list[int] | None:
    """Positions of the non-empty fields of ``line``; None when its quoting is broken."""
    try:
        fields = next(csv.reader([line], delimiter=delimiter, quotechar='"', strict=True), [])
    except csv.Error:
        return None
    return [index for index, field in enumerate(fields) if field != ""]


def blank_title_lines(text: str, header_row: int | None = None) -> str:
    """``text`` with its :func:`title_lines` emptied (their line ends kept)."""
    count = title_lines(text, header_row)
    if count == 0:
        return text
    line_end = "\r" if "\n" not in text and "\r" in text else "\n"
    lines = text.split(line_end, count)
    if len(lines) <= count:
        raise InputFileError(f"--header-row {count + 1}: the file has only {len(lines)} line(s)")
    return line_end * count + lines[count]


def read_delimited_text(
    text: str, label: str, delimiter: str | None, explicit: bool, encoded: bytes | None = None
) -> tuple[pl.DataFrame, str, int]:
    """Read delimited text (``encoded``: the same in UTF-8); see :func:`read_delimited`."""
    # Files from classic Mac OS end lines with a bare CR; polars needs to be told.
    line_end = "\r" if "\n" not in text and "\r" in text else "\n"
    if delimiter is None or not explicit:
        delimiter = sniff_delimiter(text, line_end, preferred=delimiter)
    if explicit:
        check_single_column_hint(text, label, delimiter, line_end)
    data = encoded if encoded is not None else text.encode("utf-8")
    layout = _fast_layout(data, label, delimiter, line_end) or scan_records(
        text, label, delimiter, line_end
    )
    frame = _polars_frame(data, layout, delimiter, line_end)
    del data
    if frame is None:
        # polars is stricter than the csv module about a quote inside an unquoted value
        # (x"y, read literally by Excel too); the csv module's reading, already checked
        # row by row, is the reference, so use it rather than lose or merge rows.
        return (
            _frame_from_records(text, delimiter, line_end, layout.header),
            delimiter,
            len(layout.blank_positions),
        )
    return frame, delimiter, len(layout.blank_positions)


#: The head of a file whose delimiter is sniffed without decoding the rest (as the head of a
#: file read in chunks is, :class:`~riskengine.io.chunks.ChunkedTable`).
PLAIN_SNIFF_BYTES = 2 * DETECTION_SAMPLE_BYTES


def read_plain_delimited(
    data: bytes, label: str, delimiter: str | None, explicit: bool
) -> tuple[pl.DataFrame, str, int] | None:
    """:func:`read_delimited_text` of UTF-8 ``data`` (no byte-order mark) without decoding all
    of it, when every line is plainly well formed (:func:`read_plain_records`).

    Only the head (:data:`PLAIN_SNIFF_BYTES`, cut after a line) is decoded, to sniff the
    delimiter: for a file of a million rows the whole text took 0.17-0.18 s and twice the
    file's size in memory (one character beyond Latin-1 makes every character two bytes).
    polars checks that the rest is UTF-8 as it reads it.

    Parameters
    ----------
    data : bytes
        The whole file.
    label : str
        The file as messages name it.
    delimiter : str or None
        The delimiter given or preferred (TAB for a ``.tsv``); sniffed when None or not
        ``explicit``.
    explicit : bool
        Whether the user gave ``delimiter``.

    Returns
    -------
    tuple of (polars.DataFrame, str, int) or None
        The frame, the delimiter used and the blank lines skipped; None for the full reading
        to read or refuse (it also finds title lines, line numbers and messages).
    """
    if b"\n" not in data or b"\x00" in data or data.startswith(b"\xef\xbb\xbf"):
        return None
    head = data
    if len(data) > PLAIN_SNIFF_BYTES:
        head = data[: data.rfind(b"\n", 0, PLAIN_SNIFF_BYTES) + 1]
        if not head:
            return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        with long_fields_allowed():
            if delimiter is None or not explicit:
                delimiter = sniff_delimiter(text, "\n", preferred=delimiter)
            if explicit:
                check_single_column_hint(text, label, delimiter, "\n")
            # A head that is not plain (a title above the header, a quoted line end) leaves
            # the file to the full reading before its every line is split.
            if head is not data and _fast_layout(head, label, delimiter, "\n") is None:
                return None
            layout = _fast_layout(data, label, delimiter, "\n")
    except InputFileError:
        return None
    if layout is None:
        return None
    frame = _polars_frame(data, layout, delimiter, "\n")
    if frame is None:
        return None
    return frame, delimiter, len(layout.blank_positions)


def read_plain_records(data: bytes, label: str, delimiter: str) -> pl.DataFrame | None:
    """The table in ``data`` (UTF-8, its header line first, lines ending in LF) as
    :func:`read_delimited_text` reads it, when every line is plainly well formed (see
    :func:`_fast_layout`); None otherwise, for the strict pass to read or refuse.

    A large file is streamed block by block through here: each block, with the header line
    put in front, is read by polars as a small file of its own is.
    """
    layout = _fast_layout(data, label, delimiter, "\n")
    if layout is None:
        return None
    return _polars_frame(data, layout, delimiter, "\n")


def _polars_frame(
    data: bytes, layout: _Layout, delimiter: str, line_end: str
) -> pl.DataFrame | None:
    """The records of ``data`` read by polars, blank lines dropped and unnamed columns left
    out; None when polars reads another number of records or columns than ``layout`` says."""
    header = layout.header
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            quote_char='"',
            eol_char=line_end,
            has_header=True,
            infer_schema=False,
            null_values=[""],
            truncate_ragged_lines=False,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != layout.records or frame.width != len(header):
        return None
    if layout.blank_positions:
        frame = (
            frame.with_row_index("__position")
            .filter(~pl.col("__position").is_in(layout.blank_positions))
            .drop("__position")
        )
    keep = [index for index, name in enumerate(header) if name != ""]
    frame = frame.select(pl.nth(keep))
    frame.columns = [header[index] for index in keep]
    return frame


def _fast_field_pattern(delimiter: str) -> str:
    """A regular expression for one CSV field on one line: quoted whole, or without quotes."""
    return f'(?:"(?:[^"]|"")*"|[^"{re.escape(delimiter)}]*)'


def _fast_layout(data: bytes, label: str, delimiter: str, line_end: str) -> _Layout | None:
    """The layout of a well-formed file found with vectorised string counts, or None.

    Only files whose quoted values hold no line end, no stray quote and no bare CR qualify,
    and every record must have the header's width; anything else returns None so that the
    csv module's strict pass finds and names the problem (or reads the unusual quoting).
    """
    if line_end != "\n" or delimiter == '"':
        return None
    try:
        lines = _raw_lines(data)
    except pl.exceptions.ComputeError:
        return None  # not UTF-8: the strict pass detects the encoding or names the line
    if lines.height == 0:
        return None
    # polars drops the CR of a CRLF line end; any CR left is a bare one inside a line.
    line = pl.col("line")
    field = _fast_field_pattern(delimiter)
    first = lines.item(0, "line")
    if first == "" or '"' in first or "\r" in first:
        return None  # blank lines before the header or a quoted header: the csv module's pass
    header = first.split(delimiter)
    if "" in header:
        return None
    width = len(header) - 1
    body = lines.slice(1).with_columns(
        line.str.contains('"', literal=True).alias("quoted"), (line == "").alias("blank")
    )
    plain = body.filter(~pl.col("quoted"))
    quoted = body.filter(pl.col("quoted"))
    plain_problem = plain.select(
        (
            line.str.contains("\r", literal=True)
            | (~pl.col("blank") & (line.str.count_matches(delimiter, literal=True) != width))
        ).any()
    ).item()
    if plain_problem:
        return None
    # One pass per quoted line checks both the quoting and the width.
    exact_width = f"^{field}(?:{re.escape(delimiter)}{field}){{{width}}}$"
    try:
        quoted_problem = quoted.select(
            (line.str.contains("\r", literal=True) | ~line.str.contains(exact_width)).any()
        ).item()
    except pl.exceptions.ComputeError:  # a pattern too large for very wide files
        return None
    if quoted_problem:
        return None
    check_header(label, header, {})
    blank_positions = body.with_row_index("position").filter(pl.col("blank"))["position"].to_list()
    return _Layout(header, body.height, blank_positions)


def _frame_from_records(
    text: str, delimiter: str, line_end: str, header: list[str]
) -> pl.DataFrame:
    """The table as the csv module reads it (slower than polars; the fallback only)."""
    records = [record for record in csv_reader(text, delimiter, line_end) if record][1:]
    keep = [index for index, name in enumerate(header) if name != ""]
    return pl.DataFrame(
        {
            header[index]: pl.Series([record[index] or None for record in records], dtype=pl.String)
            for index in keep
        }
    )


def check_single_column_hint(text: str, label: str, delimiter: str, line_end: str) -> None:
    """Refuse a one-column reading whose header looks split by another delimiter."""
    try:
        header: list[str] = next(
            (record for record in csv_reader(text, delimiter, line_end) if record), []
        )
    except csv.Error:
        return  # the full pass reports it with its line
    if len(header) != 1:
        return
    # Only a delimiter that splits the header and the sampled rows alike is worth suggesting.
    hinted = [
        other
        for other in DELIMITERS
        if other != delimiter and other in header[0] and _splits_evenly(text, other, line_end)
    ]
    if hinted:
        shown, used = (_shown(character) for character in (hinted[0], delimiter))
        raise InputFileError(
            f"{label}: --delimiter '{used}' gives a single column, but its name contains "
            f"'{shown}'; did you mean --delimiter '{shown}'? (leave --delimiter out to detect it)"
        )


def _splits_evenly(text: str, delimiter: str, line_end: str) -> bool:
    widths = _sample_widths(text, delimiter, line_end)
    return bool(widths) and widths[0] > 1 and all(width == widths[0] for width in widths)


def _shown(delimiter: str) -> str:
    return "\\t" if delimiter == "\t" else delimiter


class _Layout(NamedTuple):
    """What a strict pass of the csv module found below the header."""

    header: list[str]
    records: int
    """Records after the header, blank lines included (polars reads those as null rows)."""
    blank_positions: list[int]


def _lines(text: str, line_end: str) -> Iterator[str]:
    # A generator instead of io.StringIO avoids a second copy of a large file.
    start = 0
    while start < len(text):
        end = text.find(line_end, start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def csv_reader(text: str, delimiter: str, line_end: str) -> Any:
    return _strict_reader(_lines(text, line_end), delimiter)


def _strict_reader(lines: Iterable[str], delimiter: str) -> Any:
    return csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)


def sniff_delimiter(text: str, line_end: str, preferred: str | None) -> str:
    candidates = (preferred, *DELIMITERS) if preferred else DELIMITERS
    consistent, consistent_width = DELIMITERS[0], 1
    widest, widest_width = DELIMITERS[0], 1
    for candidate in candidates:
        widths = _sample_widths(text, candidate, line_end)
        if not widths:
            continue
        header_width = widths[0]
        if header_width > widest_width:
            widest, widest_width = candidate, header_width
        if header_width > consistent_width and all(width == header_width for width in widths):
            consistent, consistent_width = candidate, header_width
    return consistent if consistent_width > 1 else widest


def _sample_widths(text: str, delimiter: str, line_end: str) -> list[int]:
    widths: list[int] = []
    reader = csv_reader(text, delimiter, line_end)
    try:
        for record in reader:
            if record:
                widths.append(len(record))
            if len(widths) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        # A delimiter that breaks the quoting cannot be the right one.
        widths.append(-1)
    return widths


def scan_records(text: str, label: str, delimiter: str, line_end: str) -> _Layout:
    """Check every record with the csv module (strict), which knows the line numbers."""
    return scan_lines(lambda: _lines(text, line_end), label, delimiter, line_end)


def scan_lines(
    lines: Callable[[], Iterable[str]], label: str, delimiter: str, line_end: str = "\n"
) -> _Layout:
    """:func:`scan_records` over lines given by ``lines()`` (called again to locate an error),
    so a file too large to hold can be checked as it streams by."""
    reader = _strict_reader(lines(), delimiter)
    try:
        return _scan(reader, label, delimiter, line_end)
    except csv.Error as error:
        start_line = _start_of_failing_record(_strict_reader(lines(), delimiter))
        raise InputFileError(
            _csv_error_message(label, start_line, reader.line_num, error)
        ) from error


def _scan(reader: Any, label: str, delimiter: str, line_end: str) -> _Layout:
    # The hot loop of every CSV read: line numbers are worked out only for bad records.
    header: list[str] = []
    for record in reader:
        if record:  # polars skips blank lines before the header too
            header = record
            break
    if not header:
        raise InputFileError(f"{label}: has no header line (only blank lines)")
    header_line = reader.line_num - _line_ends_inside(header, line_end)
    width = len(header)
    unnamed = [index for index, name in enumerate(header) if name == ""]
    unnamed_with_values: dict[int, int] = {}
    blank_positions: list[int] = []
    ragged: list[tuple[int, int]] = []
    ragged_count = 0
    records = 0
    for records, record in enumerate(reader, start=1):
        if len(record) != width:
            if not record:
                blank_positions.append(records - 1)
                continue
            ragged_count += 1
            if len(ragged) < 3:
                start = reader.line_num - _line_ends_inside(record, line_end)
                ragged.append((start, len(record)))
        elif unnamed:
            for index in unnamed:
                if record[index] != "" and index not in unnamed_with_values:
                    start = reader.line_num - _line_ends_inside(record, line_end)
                    unnamed_with_values[index] = start
    if ragged:
        _raise_ragged(label, delimiter, header, header_line, ragged, ragged_count)
    check_header(label, header, unnamed_with_values)
    return _Layout(header, records, blank_positions)


def _line_ends_inside(record: list[str], line_end: str) -> int:
    """How many lines a record spans beyond its first (quoted fields may hold line ends)."""
    return sum(field.count(line_end) for field in record)


def _start_of_failing_record(reader: Any) -> int:
    # Slow path, only after a csv.Error: replay the file tracking where each record starts.
    start = 1
    try:
        for _ in reader:
            start = reader.line_num + 1
    except csv.Error:
        pass
    return start


def _csv_error_message(label: str, start_line: int, line: int, error: csv.Error) -> str:
    reason = str(error)
    if "unexpected end of data" in reason:
        return (
            f"{label}: line {start_line}: a quoted field starts here and is never closed "
            '(unbalanced ")'
        )
    if "expected after" in reason:
        return (
            f"{label}: line {line}: text follows a closing quote; a value containing a quote "
            'must be quoted whole, with the quote doubled ("")'
        )
    if "new-line character" in reason:
        return f"{label}: line {line}: a bare carriage return inside an unquoted value"
    return f"{label}: line {line}: {reason}"


def _raise_ragged(
    label: str,
    delimiter: str,
    header: list[str],
    header_line: int,
    ragged: list[tuple[int, int]],
    ragged_count: int,
) -> None:
    line, width = ragged[0]
    more = ""
    if ragged_count > 1:
        examples = ", ".join(str(other) for other, _ in ragged[1:])
        etc = ", ..." if ragged_count > len(ragged) else ""
        more = f" ({ragged_count - 1} more such: line {examples}{etc})"
    raise InputFileError(
        f"{label}: line {line} has {width} fields but the header (line {header_line}) has "
        f"{len(header)}{more}; quote values that contain '{_shown(delimiter)}', or pass the "
        "right --delimiter"
    )


def check_header(label: str, header: list[str], unnamed_with_values: dict[int, int]) -> None:
    if unnamed_with_values:
        index, line = min(unnamed_with_values.items())
        raise InputFileError(
            f"{label}: column {index + 1} has no name in the header but holds values "
            f"(first on line {line}); give it a name"
        )
    if not any(header):
        raise InputFileError(f"{label}: the header names no columns")
    check_unique_names(label, header, [f"{index}" for index in range(1, len(header) + 1)])


def quoting_is_regular(data: bytes, delimiter: str) -> bool:
    """Whether every line of ``data`` that holds a quote is a run of fields each quoted whole
    or free of quotes, and no line holds a bare CR.

    Then every line is a record (no quoted line break, no text after a closing quote), and a
    lenient parser such as pyarrow's reads it as the strict csv module does.
    """
    lines = _raw_lines(data)
    line = pl.col("line")
    field = _fast_field_pattern(delimiter)
    fields = f"^{field}(?:{re.escape(delimiter)}{field})*$"
    irregular = line.str.contains("\r", literal=True) | (
        line.str.contains('"', literal=True) & ~line.str.contains(fields)
    )
    return not lines.select(irregular.any()).item()
