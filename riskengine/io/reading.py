"""Reading a user's table whole (csv, tsv, xlsx, parquet, json, jsonl; ``-`` for stdin).

Reading keeps every CSV and spreadsheet cell as text, so identifiers keep their leading zeros
and "NA" stays Namibia; only empty cells become null.
"""

from __future__ import annotations

import codecs
import hashlib
import io
from typing import TypedDict

import polars as pl

from riskengine.errors import InputFileError, shorten
from riskengine.io.decoding import codec_name, decode_text
from riskengine.io.delimited import delimiter_option, read_delimited, read_plain_delimited
from riskengine.io.formats import (
    LIBRARY_READ_ERRORS,
    STDIO,
    check_content_matches_format,
    infer_format,
    library_read_error,
)
from riskengine.io.sources import read_input_bytes
from riskengine.io.workbook import read_workbook


class TableMetadata(TypedDict):
    """How a table was read: what :func:`read_table_with_metadata` detected or was told."""

    format: str
    encoding: str | None
    encoding_detected: bool
    delimiter: str | None
    sheet: str | None
    rows: int
    blank_rows_skipped: int
    sha256: str | None
    """Hex SHA-256 of the file's bytes, so an output can name the exact file it used (None
    when not asked for: hashing a 100 MB file takes 0.2 s)."""
    title: tuple[str, ...]
    """Title lines skipped above the header (a report's "Material 1000123 Motor" line), each
    as its non-empty cells joined by a space."""


def read_table(
    path: str,
    file_format: str | None = None,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
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
        path,
        file_format,
        encoding=encoding,
        sheet=sheet,
        delimiter=delimiter,
        header_row=header_row,
        digest=False,
    )
    return frame


def read_table_with_metadata(
    path: str,
    file_format: str | None = None,
    *,
    encoding: str | None = None,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
    digest: bool = True,
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
    header_row
        1-based row of the header in a CSV, TSV or workbook; when omitted, title rows above
        the header (rows with at most one non-empty cell) are skipped.
    digest
        Whether to work out the file's SHA-256 (``metadata["sha256"]``, else None).

    Returns
    -------
    frame, metadata
        The table, and the format, encoding (and whether it was detected), delimiter,
        sheet, number of rows and number of blank rows skipped.
    """
    kind = infer_format(path, file_format)
    label = "<stdin>" if path == STDIO else path
    data = _read_bytes(path, label)
    check_content_matches_format(data, kind, label)
    metadata = TableMetadata(
        format=kind,
        encoding=None,
        encoding_detected=False,
        delimiter=None,
        sheet=None,
        rows=0,
        blank_rows_skipped=0,
        sha256=hashlib.sha256(data).hexdigest() if digest else None,
        title=(),
    )
    try:
        if kind == "parquet":
            frame = pl.read_parquet(io.BytesIO(data))
            check_flat_columns(frame, label)
        elif kind == "xlsx":
            frame, metadata["sheet"], metadata["blank_rows_skipped"], metadata["title"] = (
                read_workbook(data, label, sheet, header_row)
            )
        elif (plain := _read_plain(data, label, kind, encoding, delimiter, header_row)) is not None:
            frame, metadata["delimiter"], metadata["blank_rows_skipped"] = plain
            metadata["encoding"] = "utf-8"
        else:
            text, metadata["encoding"], metadata["encoding_detected"] = decode_text(
                data, label, encoding
            )
            if kind in ("json", "jsonl"):
                frame = _read_json(text, kind)
            else:
                preferred = "\t" if kind == "tsv" else None
                (
                    frame,
                    metadata["delimiter"],
                    metadata["blank_rows_skipped"],
                    metadata["title"],
                ) = read_delimited(
                    text,
                    label,
                    delimiter_option(delimiter) or preferred,
                    delimiter is not None,
                    header_row,
                    # A UTF-8 file without a byte-order mark is its text's encoding already.
                    encoded=data
                    if metadata["encoding"] == "utf-8" and not data.startswith(codecs.BOM_UTF8)
                    else None,
                )
    except LIBRARY_READ_ERRORS as error:
        raise library_read_error(label, kind, error) from error
    metadata["rows"] = frame.height
    return frame, metadata


def _read_plain(
    data: bytes,
    label: str,
    kind: str,
    encoding: str | None,
    delimiter: str | None,
    header_row: int | None,
) -> tuple[pl.DataFrame, str, int] | None:
    """A plain UTF-8 CSV or TSV read from its bytes (:func:`read_plain_delimited`); None for
    the full reading, which also decodes, detects and finds titles."""
    if kind not in ("csv", "tsv") or header_row is not None:
        return None
    if encoding is not None and codec_name(encoding) != "utf-8":
        return None
    preferred = "\t" if kind == "tsv" else None
    return read_plain_delimited(
        data, label, delimiter_option(delimiter) or preferred, delimiter is not None
    )


def _read_bytes(path: str, label: str) -> bytes:
    data = read_input_bytes(path, label)
    if not data:
        raise InputFileError(f"{label}: file is empty")
    return data


_NESTED_KINDS = (
    (pl.List, "lists"),
    (pl.Array, "lists"),
    (pl.Struct, "structs (nested records)"),
    (pl.Binary, "binary data"),
    (pl.Object, "Python objects"),
)


def check_flat_columns(frame: pl.DataFrame, label: str) -> None:
    """Refuse columns of lists, structs or bytes (in a Parquet file, or a frame handed to the
    model's scorer): no cell of them is a name or number."""
    for name, dtype in frame.schema.items():
        for kind, words in _NESTED_KINDS:
            if isinstance(dtype, kind):
                raise InputFileError(
                    f"{label}: column {shorten(name)!r} holds {words} ({dtype}); riskengine "
                    "reads columns of text, numbers and dates only"
                )


def _read_json(text: str, kind: str) -> pl.DataFrame:
    if kind == "jsonl":
        frame = pl.read_ndjson(io.StringIO(text))
    else:
        frame = pl.read_json(io.StringIO(text))
    return frame.with_columns(pl.all().cast(pl.String))


def read_text(path: str, *, encoding: str | None = None) -> tuple[str, bytes]:
    """A user's text file (CSV, JSON lines...) decoded, and its bytes (to hash them).

    The encoding is detected as for tables (``encoding`` overrides it); an Excel workbook is
    refused with the message :func:`read_table` gives.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable or undecodable file, or a workbook.
    """
    label = "<stdin>" if path == STDIO else path
    data = _read_bytes(path, label)
    check_content_matches_format(data, "csv", label)
    text, _, _ = decode_text(data, label, encoding)
    return text, data
