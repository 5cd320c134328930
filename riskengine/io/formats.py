"""Which format a user's file is: from the option or the extension, checked against its first
bytes (an Excel workbook's magic number), and how a library's read error is reported."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from riskengine.errors import InputFileError, UserInputError

FORMATS = ("csv", "tsv", "parquet", "json", "jsonl", "xlsx")
STDIO = "-"
#: Output names that stream to standard output.
STDOUT_NAMES = frozenset({STDIO, "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"})
#: Suffixes of compressed files, read through: ``sourcing.csv.gz`` is a CSV.
COMPRESSION_SUFFIXES = (".gz", ".gzip", ".zst", ".zstd")

_EXTENSION_FORMATS = {"ndjson": "jsonl", "xls": "xlsx", "xlsm": "xlsx"}
LIBRARY_READ_ERRORS = (
    pl.exceptions.PolarsError,
    pl.exceptions.PanicException,
    fastexcel.FastExcelError,
    OSError,
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
# Binary files that are not text in any encoding: naming them beats suggesting --encoding.
_OTHER_BINARY_MAGIC = (
    (b"BZh", "a bzip2-compressed file; decompress it first (riskengine reads gzip and zstd)"),
    (
        b"\xfd7zXZ\x00",
        "an xz-compressed file; decompress it first (riskengine reads gzip and zstd)",
    ),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive; extract the table first"),
    (b"%PDF-", "a PDF document, not a table"),
    (b"PAR1", "a Parquet file; name it .parquet or pass --format parquet"),
)


def infer_format(path: str, explicit: str | None = None) -> str:
    """The file format from ``explicit`` or the path's extension."""
    if explicit:
        if explicit not in FORMATS:
            raise UserInputError(f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}")
        return explicit
    if path in STDOUT_NAMES:
        return "csv"
    name = Path(path)
    if name.suffix.lower() in COMPRESSION_SUFFIXES:
        name = name.with_suffix("")
    suffix = name.suffix.lower().lstrip(".")
    suffix = _EXTENSION_FORMATS.get(suffix, suffix)
    if suffix not in FORMATS:
        raise UserInputError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use .csv, .tsv, .xlsx, .parquet, .json or .jsonl, or --format"
        )
    return suffix


def library_read_error(label: str, kind: str, error: Exception) -> InputFileError:
    detail = str(error).strip()
    first_line = detail.splitlines()[0] if detail else type(error).__name__
    return InputFileError(f"{label}: cannot read as {kind}: {first_line}")


def check_content_matches_format(data: bytes, kind: str, label: str) -> None:
    is_workbook = data.startswith(_WORKBOOK_MAGIC)
    if kind == "xlsx" and not is_workbook:
        raise InputFileError(
            f"{label}: is not an Excel workbook (SAP 'spreadsheet' exports are often tab-separated "
            "text with an .xls name); read it with --format csv"
        )
    if kind in ("csv", "tsv", "json", "jsonl"):
        for magic, what in _OTHER_BINARY_MAGIC:
            if data.startswith(magic):
                raise InputFileError(f"{label}: is {what}")
    if kind in ("csv", "tsv", "json", "jsonl") and is_workbook:
        raise InputFileError(
            f"{label}: looks like an Excel workbook, not {kind} text; "
            "name it .xlsx or pass --format xlsx"
        )
