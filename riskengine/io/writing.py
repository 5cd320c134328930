"""Writing tables and text atomically.

Writing goes to a temporary file in the target directory that is renamed into place only when
complete, so a failed or interrupted run never leaves a partial output. CSV and XLSX text is
formula-escaped (:func:`riskengine.io.workbook.escape_spreadsheet_formulas`); JSON and Parquet
keep text verbatim.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from riskengine.errors import UserInputError
from riskengine.io.formats import STDIO, infer_format
from riskengine.io.workbook import check_fits_workbook, escape_spreadsheet_formulas, write_workbook


def _serialise(frame: pl.DataFrame, kind: str, target: BinaryIO) -> None:
    if kind == "parquet":
        frame.write_parquet(target)
    elif kind == "json":
        target.write(frame.write_json().encode("utf-8"))
    elif kind == "jsonl":
        target.write(frame.write_ndjson().encode("utf-8"))
    elif kind == "xlsx":
        write_workbook(frame, target)
    else:
        escape_spreadsheet_formulas(frame).write_csv(
            target, separator="\t" if kind == "tsv" else ","
        )


def _serialise_chunk(frame: pl.DataFrame, kind: str, target: BinaryIO, first: bool) -> None:
    """One chunk of a CSV, TSV or JSON Lines table (the header only with the first)."""
    if kind == "jsonl":
        target.write(frame.write_ndjson().encode("utf-8"))
    else:
        escape_spreadsheet_formulas(frame).write_csv(
            target, separator="\t" if kind == "tsv" else ",", include_header=first
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
        check_fits_workbook(frame)
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
                else:
                    _serialise_chunk(frame, kind, stream, index == 0)
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
