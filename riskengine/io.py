"""The only place that reads and writes user files (csv, tsv, xlsx, parquet, json, jsonl; ``-``).

Reading keeps every CSV and spreadsheet cell as text, so identifiers keep their leading zeros
and "NA" stays Namibia; only empty cells become null. Nothing is decoded lossily: a file is
UTF-8 (with or without a byte-order mark), UTF-16/32 with a byte-order mark, the encoding the
caller names, or a single-byte Western or Central European code page that charset-normalizer
detects with confidence; anything else is refused with the line that could not be decoded.

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

Writing goes to a temporary file in the target directory that is renamed into place only when
complete, so a failed or interrupted run never leaves a partial output. Text cells written to
CSV or XLSX that start with ``=`` ``+`` ``-`` ``@`` TAB, CR or NUL get a leading ``'`` (OWASP
ASVS 1.2.10) unless they are plain signed numbers; JSON and Parquet keep text verbatim.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, TypedDict

import charset_normalizer
import fastexcel
import polars as pl
import xlsxwriter

from riskengine.errors import InputFileError, UserInputError

FORMATS = ("csv", "tsv", "parquet", "json", "jsonl", "xlsx")
STDIO = "-"

#: Candidate CSV delimiters, in the order that breaks ties when sniffing.
DELIMITERS = (",", ";", "\t", "|")
#: Encodings accepted from detection, in the order used to name a match that several share.
DETECTABLE_ENCODINGS = ("cp1252", "iso8859-1", "iso8859-15", "cp1250", "iso8859-2")
#: Excel's hard limits per sheet (rows include the header row).
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLUMNS = 16_384
XLSX_MAX_CELL_CHARACTERS = 32_767
XLSX_SHEET_NAME = "data"

_EXTENSION_FORMATS = {"ndjson": "jsonl", "xls": "xlsx", "xlsm": "xlsx"}
_BYTE_ORDER_MARKS = (
    # UTF-32 first: its little-endian mark starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_RECORDS = 50
# A UTF-8 lead byte and a continuation byte: every non-ASCII UTF-8 character starts so.
_UTF8_PAIR = re.compile(rb"[\xc2-\xf4][\x80-\xbf]")
_DETECTION_SAMPLE_BYTES = 1 << 20
_FORMULA_START = r"^[=+\-@\t\r\x00]"
# A signed plain number cannot call a function or reach another application, and escaping it
# would turn "-5" into text a spreadsheet no longer sums.
_SIGNED_NUMBER = r"^[+-][0-9][0-9.,]*(?:[eE][+-]?[0-9]+)?%?$"
# What polars and calamine raise for malformed files; a Rust panic is a BaseException.
_LIBRARY_READ_ERRORS = (
    pl.exceptions.PolarsError,
    pl.exceptions.PanicException,
    fastexcel.FastExcelError,
    OSError,
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Fixed so the same frame always gives byte-identical workbooks.
_WORKBOOK_CREATED = dt.datetime(2000, 1, 1)


class TableMetadata(TypedDict):
    """How a table was read: what :func:`read_table_with_metadata` detected or was told."""

    format: str
    encoding: str | None
    encoding_detected: bool
    delimiter: str | None
    sheet: str | None
    rows: int
    blank_rows_skipped: int


def infer_format(path: str, explicit: str | None = None) -> str:
    """The file format from ``explicit`` or the path's extension."""
    if explicit:
        if explicit not in FORMATS:
            raise UserInputError(f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}")
        return explicit
    if path == STDIO:
        return "csv"
    suffix = Path(path).suffix.lower().lstrip(".")
    suffix = _EXTENSION_FORMATS.get(suffix, suffix)
    if suffix not in FORMATS:
        raise UserInputError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use .csv, .tsv, .xlsx, .parquet, .json or .jsonl, or --format"
        )
    return suffix


# --- reading -------------------------------------------------------------------------------------


def read_table(
    path: str,
    file_format: str | None = None,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
) -> pl.DataFrame:
    """Read a user's table; CSV, JSON and spreadsheet cells come back as text.

    See :func:`read_table_with_metadata` for the parameters.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable, undecodable or malformed file; the message names the
        file and, when known, the line.
    UserInputError
        An unknown format, encoding or delimiter option.
    """
    frame, _ = read_table_with_metadata(
        path, file_format, encoding=encoding, sheet=sheet, delimiter=delimiter
    )
    return frame


def read_table_with_metadata(
    path: str,
    file_format: str | None = None,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
) -> tuple[pl.DataFrame, TableMetadata]:
    """Read a user's table and report how it was read.

    Parameters
    ----------
    path
        File path, or ``-`` for standard input.
    file_format
        One of :data:`FORMATS`; inferred from the extension when omitted.
    encoding
        Text encoding of a CSV, TSV or JSON file; detected when omitted. Ignored for
        binary formats.
    sheet
        Workbook sheet, by name or 1-based position (a digit string that is not a sheet
        name counts as a position); required when the workbook has several sheets.
    delimiter
        CSV field delimiter (``\\t`` or ``tab`` for TAB); sniffed when omitted.

    Returns
    -------
    frame, metadata
        The table, and the format, encoding (and whether it was detected), delimiter,
        sheet, number of rows and number of blank rows skipped.
    """
    kind = infer_format(path, file_format)
    label = "<stdin>" if path == STDIO else path
    data = _read_bytes(path, label)
    _check_content_matches_format(data, kind, label)
    metadata = TableMetadata(
        format=kind,
        encoding=None,
        encoding_detected=False,
        delimiter=None,
        sheet=None,
        rows=0,
        blank_rows_skipped=0,
    )
    try:
        if kind == "parquet":
            frame = pl.read_parquet(io.BytesIO(data))
        elif kind == "xlsx":
            frame, metadata["sheet"], metadata["blank_rows_skipped"] = _read_workbook(
                data, label, sheet
            )
        else:
            text, metadata["encoding"], metadata["encoding_detected"] = _decode_text(
                data, label, encoding
            )
            if kind in ("json", "jsonl"):
                frame = _read_json(text, kind)
            else:
                preferred = "\t" if kind == "tsv" else None
                frame, metadata["delimiter"], metadata["blank_rows_skipped"] = _read_delimited(
                    text, label, _delimiter_option(delimiter) or preferred, delimiter is not None
                )
    except _LIBRARY_READ_ERRORS as error:
        raise _library_read_error(label, kind, error) from error
    metadata["rows"] = frame.height
    return frame, metadata


def _library_read_error(label: str, kind: str, error: Exception) -> InputFileError:
    detail = str(error).strip()
    first_line = detail.splitlines()[0] if detail else type(error).__name__
    return InputFileError(f"{label}: cannot read as {kind}: {first_line}")


def _read_bytes(path: str, label: str) -> bytes:
    if path == STDIO:
        data = sys.stdin.buffer.read()
    else:
        file = Path(path)
        if not file.exists():
            raise InputFileError(f"{label}: no such file")
        if file.is_dir():
            raise InputFileError(f"{label}: is a directory, not a file")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise InputFileError(f"{label}: cannot read: {error.strerror}") from error
    if not data:
        raise InputFileError(f"{label}: file is empty")
    return data


def _check_content_matches_format(data: bytes, kind: str, label: str) -> None:
    is_workbook = data.startswith(_WORKBOOK_MAGIC)
    if kind == "xlsx" and not is_workbook:
        raise InputFileError(
            f"{label}: is not an Excel workbook (SAP 'spreadsheet' exports are often tab-separated "
            "text with an .xls name); read it with --format csv"
        )
    if kind in ("csv", "tsv", "json", "jsonl") and is_workbook:
        raise InputFileError(
            f"{label}: looks like an Excel workbook, not {kind} text; "
            "name it .xlsx or pass --format xlsx"
        )


def _delimiter_option(delimiter: str | None) -> str | None:
    if delimiter is None:
        return None
    spelled = {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(delimiter, delimiter)
    if len(spelled) != 1 or spelled in ('"', "\n", "\r"):
        raise UserInputError(
            f"--delimiter must be a single character such as ',' ';' '|' or '\\t', "
            f"not {delimiter!r}"
        )
    return spelled


# --- text decoding -------------------------------------------------------------------------------


def _decode_text(data: bytes, label: str, encoding: str | None) -> tuple[str, str, bool]:
    """The text of ``data``, the codec used and whether it was detected."""
    if encoding is not None:
        codec = _codec_name(encoding)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        text = _decode_strictly(data, codec, label)
        return text.removeprefix("\ufeff"), codec, False
    for mark, codec in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            text = _decode_strictly(data[len(mark) :], codec, label)
            return text, "utf-8-sig" if codec == "utf-8" else codec, False
    try:
        return _refuse_nul(data.decode("utf-8"), label), "utf-8", False
    except UnicodeDecodeError as error:
        not_utf8 = error
    codec, guess = _detect_single_byte_encoding(data, not_utf8.start)
    line = _line_of(data, not_utf8.start, "utf-8")
    if codec is None:
        raise _undetectable_error(label, line, data[not_utf8.start], guess) from not_utf8
    mixed_line = _first_utf8_line(data)
    if mixed_line is not None:
        raise InputFileError(
            f"{label}: line {line} is not valid UTF-8 but line {mixed_line} is, so the file mixes "
            "encodings and cannot be read without changing characters; save it as UTF-8, or "
            "pass --encoding to read all of it in one encoding"
        ) from not_utf8
    return _decode_strictly(data, codec, label), codec, True


def _undetectable_error(label: str, line: int, byte: int, guess: str | None) -> InputFileError:
    return InputFileError(
        f"{label}: line {line} is not valid UTF-8 (byte {byte:#04x}) and its encoding could not "
        f"be detected with confidence (best guess: {guess or 'none'}); pass --encoding, e.g. "
        "cp1252 (Western Europe), cp1250 (Central Europe) or utf-16"
    )


def _codec_name(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError as error:
        raise UserInputError(
            f"unknown encoding {encoding!r}; use a name such as utf-8, cp1252, cp1250 or utf-16"
        ) from error


def _decode_strictly(data: bytes, codec: str, label: str, lines_before: int = 0) -> str:
    """``data`` decoded, or an error naming the line (``lines_before`` lines precede it)."""
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        line = lines_before + _line_of(data, error.start, codec)
        raise InputFileError(
            f"{label}: line {line} is not valid {codec} (byte {data[error.start]:#04x}); pass the "
            "right --encoding or save the file as UTF-8"
        ) from error
    return _refuse_nul(text, label, lines_before)


def _refuse_nul(text: str, label: str, lines_before: int = 0) -> str:
    position = text.find("\x00")
    if position >= 0:
        line = lines_before + text.count("\n", 0, position) + 1
        raise InputFileError(
            f"{label}: line {line} contains a NUL character; if the file is UTF-16 without a "
            "byte-order mark pass --encoding utf-16-le (or utf-16-be)"
        )
    return text


def _line_of(data: bytes, position: int, codec: str) -> int:
    # Everything before the first bad byte decodes, so counting newlines there is exact.
    return data[:position].decode(codec, errors="ignore").count("\n") + 1


def _detect_single_byte_encoding(data: bytes, first_bad: int) -> tuple[str | None, str | None]:
    """The accepted codec charset-normalizer is sure of, and its best guess for messages."""
    if len(data) > 2 * _DETECTION_SAMPLE_BYTES:
        # Detection is slow on large files; the head plus the first undecodable stretch suffice.
        start = data.rfind(b"\n", 0, first_bad) + 1
        sample = data[:_DETECTION_SAMPLE_BYTES] + data[start : start + _DETECTION_SAMPLE_BYTES]
    else:
        sample = data
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return None, None
    # could_be_from_charset lists codecs giving exactly the same text, so any of them is safe.
    same_text = {_codec_name(name) for name in (best.encoding, *best.could_be_from_charset)}
    for codec in DETECTABLE_ENCODINGS:
        if codec in same_text:
            return codec, best.encoding
    return None, best.encoding


def _first_utf8_line(data: bytes) -> int | None:
    """The first line that is valid UTF-8 and not plain ASCII, if any."""
    checked_until = -1
    for match in _UTF8_PAIR.finditer(data):
        # Only lines holding such a pair can be non-ASCII UTF-8; a cp1252 file rarely has
        # one, so this stays fast on large files.
        if match.start() < checked_until:
            continue
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        checked_until = len(data) if end < 0 else end
        try:
            data[start:checked_until].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return data.count(b"\n", 0, start) + 1
    return None


# --- CSV -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _long_fields_allowed() -> Iterator[None]:
    # The csv module refuses fields over 128 KiB by default; long notes are legitimate.
    previous = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_delimited(
    text: str, label: str, delimiter: str | None, explicit: bool
) -> tuple[pl.DataFrame, str, int]:
    """The frame, the delimiter used and the number of blank lines skipped."""
    with _long_fields_allowed():
        return _read_delimited_text(text, label, delimiter, explicit)


def _read_delimited_text(
    text: str,
    label: str,
    delimiter: str | None,
    explicit: bool,
    line_offset: int = 0,
    sniff: bool = True,
    chunked: bool = False,
) -> tuple[pl.DataFrame, str, int]:
    """Read delimited text; see :func:`_read_delimited`.

    For a chunk of a larger file (read with the file's header in front of it),
    ``line_offset`` is added to the line numbers of rows below the header, ``sniff=False``
    keeps the file's delimiter and ``chunked`` refuses quoting that chunks cannot follow
    (:class:`ChunksUnsafe`).
    """
    # Files from classic Mac OS end lines with a bare CR; polars needs to be told.
    line_end = "\r" if "\n" not in text and "\r" in text else "\n"
    if sniff and (delimiter is None or not explicit):
        delimiter = _sniff_delimiter(text, line_end, preferred=delimiter)
    if explicit:
        _check_single_column_hint(text, label, delimiter, line_end)
    data = text.encode("utf-8")
    layout = _fast_layout(data, label, delimiter, line_end)
    if layout is None and chunked and '"' in text:
        # Quote counting cut this chunk; only regular quoting guarantees it cut it right.
        raise ChunksUnsafe(label)
    layout = layout or _scan_records(text, label, delimiter, line_end, line_offset)
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
        frame = None
    del data
    if frame is None or frame.height != layout.records or frame.width != len(header):
        # polars is stricter than the csv module about a quote inside an unquoted value
        # (x"y, read literally by Excel too); the csv module's reading, already checked
        # row by row, is the reference, so use it rather than lose or merge rows.
        return (
            _frame_from_records(text, delimiter, line_end, header),
            delimiter,
            len(layout.blank_positions),
        )
    if layout.blank_positions:
        frame = (
            frame.with_row_index("__position")
            .filter(~pl.col("__position").is_in(layout.blank_positions))
            .drop("__position")
        )
    keep = [index for index, name in enumerate(header) if name != ""]
    frame = frame.select(pl.nth(keep))
    frame.columns = [header[index] for index in keep]
    return frame, delimiter, len(layout.blank_positions)


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
    lines = pl.read_csv(
        data,
        has_header=False,
        separator="\x00",  # NUL is refused earlier, so each line is one field
        quote_char=None,
        new_columns=["line"],
        infer_schema=False,
        empty_string_is_null=False,
        raise_if_empty=False,
    )
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
    _check_header(label, header, {})
    blank_positions = body.with_row_index("position").filter(pl.col("blank"))["position"].to_list()
    return _Layout(header, body.height, blank_positions)


def _frame_from_records(
    text: str, delimiter: str, line_end: str, header: list[str]
) -> pl.DataFrame:
    """The table as the csv module reads it (slower than polars; the fallback only)."""
    records = [record for record in _csv_reader(text, delimiter, line_end) if record][1:]
    keep = [index for index, name in enumerate(header) if name != ""]
    return pl.DataFrame(
        {
            header[index]: pl.Series([record[index] or None for record in records], dtype=pl.String)
            for index in keep
        }
    )


def _check_single_column_hint(text: str, label: str, delimiter: str, line_end: str) -> None:
    """Refuse a one-column reading whose header looks split by another delimiter."""
    try:
        header = next((record for record in _csv_reader(text, delimiter, line_end) if record), [])
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


def _csv_reader(text: str, delimiter: str, line_end: str) -> Any:
    return csv.reader(
        _lines(text, line_end), delimiter=delimiter, quotechar='"', doublequote=True, strict=True
    )


def _sniff_delimiter(text: str, line_end: str, preferred: str | None) -> str:
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
    reader = _csv_reader(text, delimiter, line_end)
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


def _scan_records(
    text: str, label: str, delimiter: str, line_end: str, line_offset: int = 0
) -> _Layout:
    """Check every record with the csv module (strict), which knows the line numbers."""
    reader = _csv_reader(text, delimiter, line_end)
    try:
        return _scan(reader, label, delimiter, line_end, line_offset)
    except csv.Error as error:
        start_line = _start_of_failing_record(text, delimiter, line_end)
        raise InputFileError(
            _csv_error_message(
                label, start_line + line_offset, reader.line_num + line_offset, error
            )
        ) from error


def _scan(reader: Any, label: str, delimiter: str, line_end: str, line_offset: int = 0) -> _Layout:
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
                ragged.append((start + line_offset, len(record)))
        elif unnamed:
            for index in unnamed:
                if record[index] != "" and index not in unnamed_with_values:
                    start = reader.line_num - _line_ends_inside(record, line_end)
                    unnamed_with_values[index] = start + line_offset
    if ragged:
        _raise_ragged(label, delimiter, header, header_line, ragged, ragged_count)
    _check_header(label, header, unnamed_with_values)
    return _Layout(header, records, blank_positions)


def _line_ends_inside(record: list[str], line_end: str) -> int:
    """How many lines a record spans beyond its first (quoted fields may hold line ends)."""
    return sum(field.count(line_end) for field in record)


def _start_of_failing_record(text: str, delimiter: str, line_end: str) -> int:
    # Slow path, only after a csv.Error: replay the file tracking where each record starts.
    reader = _csv_reader(text, delimiter, line_end)
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


def _check_header(label: str, header: list[str], unnamed_with_values: dict[int, int]) -> None:
    if unnamed_with_values:
        index, line = min(unnamed_with_values.items())
        raise InputFileError(
            f"{label}: column {index + 1} has no name in the header but holds values "
            f"(first on line {line}); give it a name"
        )
    if not any(header):
        raise InputFileError(f"{label}: the header names no columns")
    _check_unique(label, header, [f"{index}" for index in range(1, len(header) + 1)])


def _check_unique(label: str, names: list[str], positions: list[str]) -> None:
    where: dict[str, list[str]] = {}
    for name, position in zip(names, positions, strict=True):
        if name:
            where.setdefault(name, []).append(position)
    duplicates = {name: found for name, found in where.items() if len(found) > 1}
    if duplicates:
        described = "; ".join(
            f"{name!r} (columns {', '.join(found)})" for name, found in duplicates.items()
        )
        raise InputFileError(f"{label}: duplicate column names: {described}")


# --- JSON and workbooks --------------------------------------------------------------------------


def _read_json(text: str, kind: str) -> pl.DataFrame:
    if kind == "jsonl":
        frame = pl.read_ndjson(io.StringIO(text))
    else:
        frame = pl.read_json(io.StringIO(text))
    return frame.with_columns(pl.all().cast(pl.String))


def _read_workbook(
    data: bytes, label: str, sheet: str | int | None
) -> tuple[pl.DataFrame, str, int]:
    """The sheet's cells as text, the sheet's name and the number of blank rows skipped."""
    reader = fastexcel.read_excel(data)
    name = _choose_sheet(label, list(reader.sheet_names), sheet)
    # Reading the header as a data row keeps its names verbatim (fastexcel renames duplicates).
    loaded = reader.load_sheet(name, header_row=None, dtypes="string")
    letters = [_column_letters(info.absolute_index) for info in loaded.available_columns()]
    cells = loaded.to_polars()
    if cells.height == 0 or cells.width == 0:
        raise InputFileError(f"{label}: sheet {name!r} is empty")
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
    _check_unique(label, header, letters)
    keep = [index for index, title in enumerate(header) if title]
    body = body.select(pl.nth(keep))
    body.columns = [header[index] for index in keep]
    return body, name, blank_rows


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


# --- chunks: large delimited files read and written in pieces -----------------------------------

#: Bytes of a delimited file read per chunk; each chunk ends on a record boundary.
DEFAULT_CHUNK_BYTES = 128 << 20
_STREAMABLE_CODECS = ("utf-8", "utf-8-sig", *DETECTABLE_ENCODINGS)
_CHUNK_SAMPLE_BYTES = 2 * _DETECTION_SAMPLE_BYTES


class ChunksUnsafe(Exception):
    """A file cannot be cut into chunks safely: a quote inside an unquoted value, or a line
    break inside a quoted one, so quote counting cannot find record boundaries. The consumer
    should call :meth:`ChunkedTable.read_whole` and start its pass again; nothing it got so
    far is valid."""


class ChunkedTable:
    """A user's table read as a sequence of frames, each a run of whole records in file order.

    CSV and TSV files larger than ``chunk_bytes`` are read one chunk at a time, so memory
    follows the chunk size and not the file size; every other input (other formats, standard
    input, small files, UTF-16/32 text) is one chunk holding the whole table. Iterating again
    reads the file again, except for a single chunk, which is kept.

    Each chunk is read with the same rules as :func:`read_table` (the delimiter sniffed once,
    line numbers in messages counted from the top of the file). Two documented differences:
    a file whose first chunk is plain UTF-8 and whose later bytes are not is re-read whole
    (to detect its encoding as :func:`read_table` would); and a quote inside an unquoted value
    (``x"y``) can hide a record boundary, making a chunk longer than asked.
    """

    def __init__(
        self,
        path: str,
        file_format: str | None = None,
        *,
        encoding: str | None = None,
        sheet: str | int | None = None,
        delimiter: str | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        self.path = path
        self.label = "<stdin>" if path == STDIO else path
        self.kind = infer_format(path, file_format)
        self._options: dict[str, Any] = {
            "encoding": encoding,
            "sheet": sheet,
            "delimiter": delimiter,
        }
        self.chunk_bytes = max(1, chunk_bytes)
        self._whole: pl.DataFrame | None = None

    def _streams(self) -> bool:
        if self.path == STDIO or self.kind not in ("csv", "tsv"):
            return False
        file = Path(self.path)
        return file.is_file() and file.stat().st_size > self.chunk_bytes

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self._whole is not None:
            yield self._whole
            return
        if not self._streams():
            self._whole = read_table(self.path, self.kind, **self._options)
            yield self._whole
            return
        yield from self._chunks()

    def read_whole(self) -> None:
        """From now on, iterate as one chunk holding the whole table (see :class:`ChunksUnsafe`)."""
        self._whole = read_table(self.path, self.kind, **self._options)

    def _chunks(self) -> Iterator[pl.DataFrame]:
        encoding = self._options["encoding"]
        delimiter_option = self._options["delimiter"]
        explicit = delimiter_option is not None
        preferred = _delimiter_option(delimiter_option) or ("\t" if self.kind == "tsv" else None)
        try:
            # The encoding and the delimiter come from the head of the file, as when it is
            # read whole, never from a chunk that may be only a few lines long.
            with open(self.path, "rb") as head:
                sample = head.read(_CHUNK_SAMPLE_BYTES + 1)
            _check_content_matches_format(sample, self.kind, self.label)
            named = _codec_name(encoding) if encoding is not None else None
            wide_mark = any(
                sample.startswith(mark) for mark, codec in _BYTE_ORDER_MARKS if codec != "utf-8"
            )
            if wide_mark or (named is not None and named not in _STREAMABLE_CODECS):
                # UTF-16 and UTF-32 cannot be cut at a newline byte; such files are read whole.
                yield read_table(self.path, self.kind, **self._options)
                return
            if len(sample) > _CHUNK_SAMPLE_BYTES:
                # Cut after a newline byte: never inside a character of these codecs.
                sample = sample[: sample.rfind(b"\n", 0, _CHUNK_SAMPLE_BYTES) + 1 or None]
            sample_text, codec, detected = _decode_text(sample, self.label, encoding)
            with _long_fields_allowed():
                line_end = "\r" if "\n" not in sample_text and "\r" in sample_text else "\n"
                delimiter = preferred
                if delimiter is None or not explicit:
                    delimiter = _sniff_delimiter(sample_text, line_end, preferred=delimiter)
                if explicit:
                    _check_single_column_hint(sample_text, self.label, delimiter, line_end)
            del sample, sample_text
            with open(self.path, "rb") as file:
                yield from self._read_blocks(file, codec, delimiter, detected)
        except OSError as error:
            raise InputFileError(f"{self.label}: cannot read: {error.strerror}") from error
        except _LIBRARY_READ_ERRORS as error:
            raise _library_read_error(self.label, self.kind, error) from error

    def _read_blocks(
        self, file: BinaryIO, codec: str, delimiter: str, detected: bool
    ) -> Iterator[pl.DataFrame]:
        header_text = ""
        header_lines = 0
        pending = ""  # leading chunks that hold only blank lines
        lines_before = 0
        ascii_so_far = True
        for block in _record_blocks(file, self.chunk_bytes):
            lines_seen = lines_before + pending.count("\n")
            text, codec, detected = self._decode_later(
                block, codec, ascii_so_far, lines_seen, detected
            )
            ascii_so_far = ascii_so_far and text.isascii()
            if not header_text:
                text = (pending + text).removeprefix("\ufeff")
                if not text.strip():
                    pending = text
                    continue
                pending = ""
                header_text = _header_text(text, delimiter)
                header_lines = header_text.count("\n")
                chunk_text, offset = text, 0
            else:
                chunk_text, offset = header_text + text, lines_before - header_lines
            lines_before += text.count("\n")
            del block, text
            with _long_fields_allowed():
                frame, _, _ = _read_delimited_text(
                    chunk_text,
                    self.label,
                    delimiter,
                    False,
                    line_offset=offset,
                    sniff=False,
                    chunked=True,
                )
            # The chunk's text is let go before the caller works on the frame.
            del chunk_text
            yield frame
        if not header_text:
            raise InputFileError(f"{self.label}: has no header line (only blank lines)")

    def _decode_later(
        self, block: bytes, codec: str, ascii_so_far: bool, lines_before: int, detected: bool
    ) -> tuple[str, str, bool]:
        """Decode a chunk with the file's codec, which may still be detected (see the class).

        Returns the text, the codec and whether the codec was detected.
        """
        label = self.label
        if codec == "utf-8-sig":
            codec = "utf-8"
        detectable = codec == "utf-8" and self._options["encoding"] is None and ascii_so_far
        try:
            text = block.decode(codec)
        except UnicodeDecodeError as error:
            if not detectable:
                return _decode_strictly(block, codec, label, lines_before), codec, detected
            # The lines so far were plain ASCII, which every detectable code page reads alike.
            found, guess = _detect_single_byte_encoding(block, error.start)
            if found is None or _first_utf8_line(block) is not None:
                line = lines_before + _line_of(block, error.start, codec)
                raise _undetectable_error(label, line, block[error.start], guess) from error
            return _decode_strictly(block, found, label, lines_before), found, True
        if detected:
            # A detected code page must not hide UTF-8 lines further down.
            mixed_line = _first_utf8_line(block)
            if mixed_line is not None:
                raise InputFileError(
                    f"{label}: line {lines_before + mixed_line} is valid UTF-8 but the file was "
                    f"read as {codec}, so it mixes encodings and cannot be read without changing "
                    "characters; save it as UTF-8, or pass --encoding"
                )
        return _refuse_nul(text, label, lines_before), codec, detected


def _record_blocks(file: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    """Blocks of about ``chunk_bytes`` that end after a line end outside quotes."""
    carry = b""
    while True:
        data = file.read(chunk_bytes)
        if not data:
            if carry:
                yield carry
            return
        block = carry + data if carry else data
        del data, carry
        cut = _last_record_end(block)
        if cut <= 0:
            carry = block  # one record longer than a chunk: read on
            continue
        carry = block[cut:]
        handed = [block[:cut] if cut < len(block) else block]
        del block
        # Popped as it is yielded, so this frame keeps no reference while the caller works.
        yield handed.pop()


def _last_record_end(block: bytes) -> int:
    """Position after the last line end at which the quotes before it are balanced, or 0."""
    end = block.rfind(b"\n")
    quotes = block.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0:
        if quotes % 2 == 0:
            return end + 1
        previous = block.rfind(b"\n", 0, end)
        quotes -= block.count(b'"', previous + 1, end)
        end = previous
    return 0


def _header_text(text: str, delimiter: str) -> str:
    """The lines up to and including the header record (blank lines before it included)."""
    reader = _csv_reader(text, delimiter, "\n")
    try:
        for record in reader:
            if record:
                break
    except csv.Error:
        pass  # the chunk's own read reports it with its line
    end = -1
    for _ in range(reader.line_num):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]


# --- writing -------------------------------------------------------------------------------------


def escape_spreadsheet_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix ``'`` to text cells and column names a spreadsheet would run as a formula.

    Only text (string, categorical, enum) columns change; numbers stay numbers. Text that is
    a plain signed number such as ``-5`` or ``+1.5`` is left alone because it cannot run
    anything.
    """
    text_columns = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum))
    ]
    # Rewriting a column copies it; most columns hold no formula-like text, so look first.
    flagged = (
        frame.select(
            pl.col(name).cast(pl.String).str.contains(_FORMULA_START).any() for name in text_columns
        ).row(0)
        if text_columns and frame.height
        else ()
    )
    escaped = frame.with_columns(
        _escape_text(pl.col(name).cast(pl.String)).alias(name)
        for name, has_formula_start in zip(text_columns, flagged, strict=False)
        if has_formula_start
    )
    names = pl.Series(escaped.columns, dtype=pl.String)
    escaped.columns = pl.select(_escape_text(pl.lit(names))).to_series().to_list()
    return escaped


def _escape_text(text: pl.Expr) -> pl.Expr:
    dangerous = text.str.contains(_FORMULA_START) & ~text.str.contains(_SIGNED_NUMBER)
    return pl.when(dangerous).then(pl.lit("'") + text).otherwise(text)


def _check_fits_workbook(frame: pl.DataFrame) -> None:
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


def _write_workbook(frame: pl.DataFrame, target: BinaryIO) -> None:
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


def _serialise(frame: pl.DataFrame, kind: str, target: BinaryIO) -> None:
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "json":
        target.write(frame.write_json().encode("utf-8"))
    elif kind == "jsonl":
        target.write(frame.write_ndjson().encode("utf-8"))
    elif kind == "xlsx":
        _write_workbook(frame, target)
    else:
        escape_spreadsheet_formulas(frame).write_csv(
            target, separator="\t" if kind == "tsv" else ","
        )


def _output_mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_table(frame: pl.DataFrame, path: str, file_format: str | None = None) -> None:
    """Write ``frame`` atomically (temporary file, fsync, rename) or to stdout for ``-``.

    Raises
    ------
    UserInputError
        Unknown format, missing output directory, a frame too large for xlsx (checked before
        anything is written), a binary format to a terminal, or the file cannot be written.
    """
    kind = infer_format(path, file_format)
    if kind == "xlsx" and Path(path).suffix.lower() in (".xls", ".xlsm"):
        raise UserInputError(f"{path}: xlsx output needs an .xlsx name (Excel refuses others)")
    if kind == "xlsx":
        _check_fits_workbook(frame)
    if path == STDIO and kind in ("parquet", "xlsx") and sys.stdout.isatty():
        raise UserInputError(f"refusing to write {kind} to a terminal; use -o FILE")
    # Looked up at call time so tests can replace _serialise.
    _write_atomically(path, lambda stream: _serialise(frame, kind, stream))


def write_table_chunks(
    chunks: Iterable[pl.DataFrame], path: str, file_format: str | None = None
) -> int:
    """Write frames of one table as they come, atomically as :func:`write_table` does.

    CSV, TSV, JSON Lines and Parquet are written chunk by chunk, so memory follows the chunk;
    CSV, TSV and JSON Lines come out byte-identical to writing the whole table at once. JSON
    and XLSX need the whole table, so their chunks are gathered first. Computing a chunk may
    raise: nothing is then left at ``path``. Returns the number of rows written.
    """
    kind = infer_format(path, file_format)
    if kind in ("json", "xlsx"):
        frames = list(chunks)
        whole = pl.concat(frames) if frames else pl.DataFrame()
        write_table(whole, path, kind)
        return whole.height
    if path == STDIO and kind == "parquet" and sys.stdout.isatty():
        raise UserInputError(f"refusing to write {kind} to a terminal; use -o FILE")
    written = 0

    def write(stream: BinaryIO) -> None:
        nonlocal written
        parquet_writer = None
        try:
            for index, frame in enumerate(chunks):
                if kind == "parquet":
                    table = frame.to_arrow()
                    if parquet_writer is None:
                        import pyarrow.parquet as parquet

                        parquet_writer = parquet.ParquetWriter(stream, table.schema)
                    parquet_writer.write_table(table)
                elif kind == "jsonl":
                    stream.write(frame.write_ndjson().encode("utf-8"))
                else:
                    escape_spreadsheet_formulas(frame).write_csv(
                        stream,
                        separator="\t" if kind == "tsv" else ",",
                        include_header=index == 0,
                    )
                written += frame.height
        finally:
            if parquet_writer is not None:
                parquet_writer.close()

    _write_atomically(path, write)
    return written


def write_text(text: str, path: str) -> None:
    """Write ``text`` as UTF-8, atomically like :func:`write_table`, or to stdout for ``-``."""
    _write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


def _write_atomically(path: str, write: Callable[[BinaryIO], Any]) -> None:
    """Run ``write`` on a temporary file renamed to ``path`` only once complete and synced."""
    if path == STDIO:
        buffer = io.BytesIO()
        write(buffer)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserInputError(f"{path}: output directory {directory} does not exist")
    if target.is_dir():
        raise UserInputError(f"{path}: is a directory, not a file")
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=directory
        )
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserInputError(f"{path}: cannot create a file in {directory}: {reason}") from error
    try:
        # mkstemp creates 0600; the output should look like any other file the user writes.
        os.fchmod(handle, _output_mode(target))
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise UserInputError(f"{path}: cannot write: {error.strerror or error}") from error
        raise
    _sync_directory(directory)


def _sync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk (POSIX).
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class ReadOptions:
    """How to read a user's file when its form cannot be inferred (all optional)."""

    file_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None

    def read(self, path: str) -> pl.DataFrame:
        sheet: str | int | None = self.sheet
        return read_table(
            path, self.file_format, encoding=self.encoding, sheet=sheet, delimiter=self.delimiter
        )

    def chunks(self, path: str, chunk_bytes: int | None = None) -> ChunkedTable:
        """The table as chunks of about ``chunk_bytes`` (a large CSV or TSV only)."""
        return ChunkedTable(
            path,
            self.file_format,
            encoding=self.encoding,
            sheet=self.sheet,
            delimiter=self.delimiter,
            chunk_bytes=chunk_bytes or DEFAULT_CHUNK_BYTES,
        )
