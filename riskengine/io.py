"""The only place that reads and writes user files (csv, parquet, json; ``-`` for stdin/stdout).

Reads keep every CSV cell as text, so identifiers keep their leading zeros and "NA" stays
Namibia. Writes go to a temporary file in the target directory and are renamed into place only
when complete, so a failed run never leaves a partial output.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import polars as pl

from riskengine.errors import InputFileError, UserInputError

FORMATS = ("csv", "parquet", "json")
STDIO = "-"


def infer_format(path: str, explicit: str | None = None) -> str:
    """The file format from ``explicit`` or the path's extension."""
    if explicit:
        if explicit not in FORMATS:
            raise UserInputError(f"unknown format {explicit!r}; use one of {', '.join(FORMATS)}")
        return explicit
    if path == STDIO:
        return "csv"
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UserInputError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"use .csv, .parquet or .json, or --format"
        )
    return suffix


def _decode_text(data: bytes, label: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputFileError(
            f"{label}: line {line} is not valid UTF-8 (byte {data[error.start]:#04x}); "
            "save the file as UTF-8"
        ) from error


def read_table(path: str, file_format: str | None = None) -> pl.DataFrame:
    """Read a user's table; CSV and JSON cells come back as text.

    Raises
    ------
    InputFileError
        Missing, empty, unreadable or malformed file; the message names the file.
    """
    label = "<stdin>" if path == STDIO else path
    kind = infer_format(path, file_format)
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
    try:
        if kind == "parquet":
            return pl.read_parquet(io.BytesIO(data))
        text = _decode_text(data, label)
        if kind == "json":
            frame = pl.read_json(io.StringIO(text))
            return frame.with_columns(pl.all().cast(pl.String))
        return pl.read_csv(io.StringIO(text), infer_schema=False, null_values=[""])
    except InputFileError:
        raise
    except Exception as error:  # polars raises several types for malformed files
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise InputFileError(f"{label}: cannot read as {kind}: {first_line}") from error


def _serialise(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "json":
        target.write(frame.write_json().encode("utf-8"))
    else:
        frame.write_csv(target)


def _output_mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_table(frame: pl.DataFrame, path: str, file_format: str | None = None) -> None:
    """Write ``frame`` atomically (temporary file, then rename) or to stdout for ``-``."""
    kind = infer_format(path, file_format)
    if path == STDIO:
        if kind == "parquet" and sys.stdout.isatty():
            raise UserInputError("refusing to write parquet to a terminal; use -o FILE")
        buffer = io.BytesIO()
        _serialise(frame, kind, buffer)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UserInputError(f"{path}: output directory {directory} does not exist")
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        # mkstemp creates 0600; the output should look like any other file the user writes.
        os.fchmod(handle, _output_mode(target))
        with os.fdopen(handle, "wb") as stream:
            _serialise(frame, kind, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
