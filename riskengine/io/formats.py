"""Which format a user's file is: from the option or the extension, checked against its first
bytes (an Excel workbook's magic number), and how a library's read error is reported."""

from __future__ import annotations

from pathlib import Path

import fastexcel
import polars as pl

from riskengine.errors import InputFileError, UserInputError

FORMATS = ("csv", "tsv", "parquet", "json", "jsonl", "xlsx")
STDIO = "-"

_EXTENSION_FORMATS = {"ndjson": "jsonl", "xls": "xlsx", "xlsm": "xlsx"}
LIBRARY_READ_ERRORS = (
    pl.exceptions.PolarsError,
    pl.exceptions.PanicException,
    fastexcel.FastExcelError,
    OSError,
)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


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
    if kind in ("csv", "tsv", "json", "jsonl") and is_workbook:
        raise InputFileError(
            f"{label}: looks like an Excel workbook, not {kind} text; "
            "name it .xlsx or pass --format xlsx"
        )
