"""Writing tables and text atomically, to regular files or standard output only.

Writing goes to a temporary file in the target directory that is renamed into place only when
complete, so a failed or interrupted run never leaves a partial output; the cleanup holds
SIGINT and SIGTERM back, and temporary files of killed runs are removed by the next write.
Several outputs of one command are written all or nothing (:func:`write_tables`). CSV and
XLSX text is formula-escaped (:func:`riskengine.io.workbook.escape_spreadsheet_formulas`);
JSON and Parquet keep text verbatim.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import errno
import glob
import io
import os
import re
import secrets
import shutil
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import polars as pl

from riskengine.errors import UserInputError, raise_if_interrupted
from riskengine.io.background import WritingBehind
from riskengine.io.formats import COMPRESSION_SUFFIXES, STDOUT_NAMES, infer_format
from riskengine.io.workbook import check_fits_workbook, escape_spreadsheet_formulas, write_workbook

# Other names in these directories are the process's other streams, never files to replace.
_STREAM_DIRECTORIES = frozenset({Path("/dev/fd"), Path("/proc/self/fd")})
#: A temporary file this old whose process is gone is a leftover of a killed run.
STALE_AFTER_SECONDS = 10 * 60
_CLEANUP_SIGNALS = {signal.SIGINT, signal.SIGTERM}

#: Where this process creates temporary files: (directory, name prefix). Registered before a
#: file is created, so no interrupt can fall between its creation and its registration.
_TEMPORARY_PLACES: set[tuple[Path, str]] = set()


@atexit.register
def _remove_pending_temporaries() -> None:
    """On the way out, remove what an interrupted write left behind: whatever path an interrupt
    took (a finaliser, a library callback), this process's own temporaries do not outlive it.
    A temporary renamed into place no longer carries the prefix, so only unfinished ones match.
    The CLI runs the exit handlers before it exits on a signal; signals that keep coming
    restart the removal instead of cutting it short."""

    def remove_all() -> None:
        for directory, prefix in list(_TEMPORARY_PLACES):
            for leftover in directory.glob(f"{glob.escape(prefix)}*.tmp"):
                leftover.unlink(missing_ok=True)

    _clean_up(remove_all)


def _remove_temporary(temporary: str) -> None:
    Path(temporary).unlink(missing_ok=True)


@dataclass(frozen=True)
class CsvStyle:
    """How a CSV output is written: its field separator and text encoding (a codec name;
    ``utf-8-sig`` writes a byte-order mark)."""

    separator: str = ","
    encoding: str = "utf-8"

    @classmethod
    def mirroring(cls, delimiter: str | None, encoding: str | None) -> CsvStyle | None:
        """The style of a delimited input (its delimiter and codec), or None (plain UTF-8
        with commas, written as before) for other inputs and for plain ones."""
        if delimiter is None:
            return None
        style = cls(delimiter, encoding or "utf-8")
        return None if style == cls() else style


#: ``--excel``: UTF-8 with a byte-order mark, so Excel reads the text as UTF-8 in any locale,
#: and TAB-separated, which Excel splits in any locale (a comma or semicolon is split only
#: where it is the locale's list separator). Not a ``sep=`` first line: with one, Excel
#: ignores the byte-order mark and garbles every non-ASCII letter.
EXCEL_CSV = CsvStyle("\t", "utf-8-sig")
# Codecs that do not write their own byte-order mark; an input read in them had one.
_MARKED_CODECS = {
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}


def _encoded(text: str, style: CsvStyle, notes: list[str] | None) -> bytes:
    """``text`` in the style's encoding; when a character has no place in it (a Korean
    supplier in a cp1252 file), UTF-8 with a byte-order mark instead, with a note."""
    try:
        return _MARKED_CODECS.get(style.encoding, b"") + text.encode(style.encoding)
    except UnicodeEncodeError as error:
        if notes is not None:
            notes.append(
                f"output: {error.object[error.start]!r} cannot be written in "
                f"{style.encoding} (the input's encoding); written as UTF-8 with a "
                "byte-order mark instead"
            )
        return codecs.BOM_UTF8 + text.encode("utf-8")


def _serialise_styled(
    frame: pl.DataFrame, kind: str, target: BinaryIO, style: CsvStyle, notes: list[str] | None
) -> None:
    """A CSV or TSV in ``style`` (a TSV keeps its TAB)."""
    separator = "\t" if kind == "tsv" else style.separator
    text = escape_spreadsheet_formulas(frame, delimited=True).write_csv(separator=separator)
    target.write(_encoded(text, style, notes))


def _serialise(
    frame: pl.DataFrame,
    kind: str,
    target: BinaryIO,
    style: CsvStyle | None = None,
    notes: list[str] | None = None,
) -> None:
    if style is not None and kind in ("csv", "tsv"):
        _serialise_styled(frame, kind, target, style, notes)
    elif kind == "parquet":
        frame.write_parquet(target)
    elif kind == "json":
        target.write(frame.write_json().encode("utf-8"))
    elif kind == "jsonl":
        target.write(frame.write_ndjson().encode("utf-8"))
    elif kind == "xlsx":
        write_workbook(frame, target)
    else:
        escape_spreadsheet_formulas(frame, delimited=True).write_csv(
            target, separator="\t" if kind == "tsv" else ","
        )


def _serialise_chunk(
    frame: pl.DataFrame,
    kind: str,
    target: BinaryIO,
    first: bool,
    formula_free: Collection[str] = (),
) -> None:
    """One chunk of a CSV, TSV or JSON Lines table (the header only with the first)."""
    if kind == "jsonl":
        frame.write_ndjson(target)  # into the file: no whole chunk as one Python string
    else:
        escape_spreadsheet_formulas(frame, delimited=True, formula_free=formula_free).write_csv(
            target, separator="\t" if kind == "tsv" else ",", include_header=first
        )


def _chunk_serialiser(
    frame: pl.DataFrame, kind: str, first: bool, formula_free: Collection[str]
) -> Callable[[BinaryIO], None]:
    """:func:`_serialise_chunk` of ``frame``, to run later on a target."""
    return lambda target: _serialise_chunk(frame, kind, target, first, formula_free)


def _output_mode(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_table(
    frame: pl.DataFrame,
    path: str,
    file_format: str | None = None,
    *,
    style: CsvStyle | None = None,
    notes: list[str] | None = None,
) -> None:
    """Write ``frame`` atomically (temporary file, fsync, rename) or to stdout for ``-``.

    A symlink is written through and a device refused (see :func:`resolve_output`). A CSV
    or TSV is written in ``style`` when given (plain UTF-8 with commas otherwise); a note is
    appended to ``notes`` when the style's encoding had to give way to UTF-8.

    Raises
    ------
    UserInputError
        Unknown format, missing output directory, a target that is not a regular file, a
        frame too large for xlsx (checked before anything is written), a binary format to a
        terminal, or the file cannot be written.
    """
    kind = infer_format(path, file_format)
    _check_table_target(frame, path, kind)
    _write_atomically(path, _table_writer(frame, kind, style, notes))


def write_table_chunks(
    chunks: Iterable[pl.DataFrame],
    path: str,
    file_format: str | None = None,
    *,
    style: CsvStyle | None = None,
    notes: list[str] | None = None,
    formula_free: Collection[str] = (),
) -> int:
    """Write frames of one table as they come, atomically as :func:`write_table` does.

    CSV, TSV, JSON Lines and Parquet are written chunk by chunk, so memory follows the chunk;
    CSV, TSV and JSON Lines come out byte-identical to writing the whole table at once. JSON
    and XLSX need the whole table, so their chunks are gathered first. Computing a chunk may
    raise: nothing is then left at ``path``. Returns the number of rows written. A CSV in
    another ``style`` than plain UTF-8 with commas is gathered too: whether its encoding can
    hold every character is known only at the end (see :func:`write_table`). The cells of
    the ``formula_free`` columns (values the caller made from a closed set) are not searched
    for formulas when CSV or TSV is written chunk by chunk.
    """
    kind = infer_format(path, file_format)
    resolve_output(path)  # a refused target fails before any chunk is computed
    if kind in ("json", "xlsx") or (style is not None and kind in ("csv", "tsv")):
        frames = list(chunks)
        whole = pl.concat(frames) if frames else pl.DataFrame()
        write_table(whole, path, kind, style=style, notes=notes)
        return whole.height
    if path in STDOUT_NAMES and kind == "parquet" and _stdout_is_terminal():
        raise UserInputError(f"refusing to write {kind} to a terminal; use -o FILE")
    written = 0

    def write_parquet(stream: BinaryIO) -> None:
        nonlocal written
        parquet_writer = None
        try:
            for frame in chunks:
                raise_if_interrupted()
                table = frame.to_arrow()
                if parquet_writer is None:
                    import pyarrow.parquet as parquet

                    parquet_writer = parquet.ParquetWriter(stream, table.schema)
                parquet_writer.write_table(table)
                written += frame.height
        finally:
            if parquet_writer is not None:
                parquet_writer.close()

    def write_text(stream: BinaryIO) -> None:
        nonlocal written
        # Each chunk is serialised on a thread while the next is computed: the two overlap on
        # two cores (bench/README.md, sixth session).
        behind = WritingBehind(stream, "riskengine-write")
        first = True
        finished = False
        try:
            for frame in chunks:  # no enumerate: its tuple would hold the last chunk
                raise_if_interrupted()
                behind.write(_chunk_serialiser(frame, kind, first, formula_free))
                written += frame.height
                first = False
                del frame  # held by the write alone, and freed once written
            finished = True
        finally:
            behind.close(finished=finished)

    _write_atomically(path, write_parquet if kind == "parquet" else write_text)
    return written


def write_text(text: str, path: str) -> None:
    """Write ``text`` as UTF-8, atomically like :func:`write_table`, or to stdout for ``-``."""
    _write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


@dataclass(frozen=True)
class OutputTarget:
    """Where an ``-o`` path really writes: standard output, or a regular file.

    ``path`` is the name the user gave (used in messages); ``file`` is the file that is
    replaced, with every symlink resolved (None for standard output).
    """

    path: str
    file: Path | None

    @property
    def is_stdout(self) -> bool:
        """True when the output streams to standard output."""
        return self.file is None


def resolve_output(path: str) -> OutputTarget:
    """Decide where ``path`` writes, without writing anything.

    ``-``, ``/dev/stdout``, ``/dev/fd/1`` and ``/proc/self/fd/1`` stream to standard output. A
    symlink is written through: its final target is replaced atomically (the temporary file goes
    in the target's own directory, so the link itself stays). Devices, FIFOs, sockets, other
    standard streams and directories are refused, so a run as root can never replace
    ``/dev/null`` with a regular file.

    Raises
    ------
    UserInputError
        A target that is not, and cannot become, a regular file; the message names the path.
    """
    if path in STDOUT_NAMES:
        return OutputTarget(path, None)
    if Path(path).suffix.lower() in COMPRESSION_SUFFIXES:
        raise UserInputError(
            f"{path}: riskengine writes uncompressed files; use -o - and pipe it to gzip or zstd"
        )
    stream_directories = {directory.resolve() for directory in _STREAM_DIRECTORIES}
    if Path(path).parent.resolve() in stream_directories or path.startswith("/dev/std"):
        raise UserInputError(f"{path}: only standard output (- or /dev/stdout) can be written")
    try:
        file = Path(path).resolve(strict=False)
    except RuntimeError as error:  # how Python before 3.13 reports a symlink loop
        raise UserInputError(f"{path}: symlink loop") from error
    except OSError as error:  # Python 3.13 raises ELOOP itself
        reason = "symlink loop" if error.errno == errno.ELOOP else f"cannot write: {error.strerror}"
        raise UserInputError(f"{path}: {reason}") from error
    try:
        status = os.stat(file)
    except FileNotFoundError:
        status = None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UserInputError(f"{path}: symlink loop") from error
        raise UserInputError(f"{path}: cannot write: {error.strerror or error}") from error
    if status is not None:
        if stat.S_ISDIR(status.st_mode):
            raise UserInputError(f"{path}: is a directory, not a file")
        if not stat.S_ISREG(status.st_mode):
            raise UserInputError(
                f"{path}: is a {file_kind(status.st_mode)}, not a regular file; riskengine writes "
                "only regular files (use -o - for standard output)"
            )
    directory = file.parent
    if not directory.is_dir():
        shown = Path(path).parent if str(Path(path).parent) else Path(".")
        raise UserInputError(f"{path}: output directory {shown} does not exist")
    return OutputTarget(path, file)


def check_outputs(paths: Sequence[str]) -> list[OutputTarget]:
    """Resolve every output of one command and refuse two that are the same file.

    Called before anything is computed or written, so a bad second target leaves the first
    untouched.

    Raises
    ------
    UserInputError
        A target :func:`resolve_output` refuses, or two targets that resolve to the same file
        (or both to standard output).
    """
    targets = [resolve_output(path) for path in paths]
    seen: dict[Path | None, str] = {}
    for target in targets:
        if target.file in seen:
            raise UserInputError(
                f"{target.path} and {seen[target.file]} are the same output; give each its own file"
            )
        seen[target.file] = target.path
    return targets


def file_kind(mode: int) -> str:
    """A word for what a file of ``mode`` is, for messages."""
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "directory"
    return "special file"


def write_tables(
    outputs: Sequence[tuple[pl.DataFrame, str, str | None]],
    *,
    style: CsvStyle | None = None,
    notes: list[str] | None = None,
) -> None:
    """Write several tables of one command all or nothing.

    ``outputs`` holds (frame, path, format) triples. Every target is checked first
    (:func:`check_outputs`); every file is then written to a temporary file next to its target,
    and only when all are complete are they renamed into place. If a rename fails, the files
    already renamed are put back as they were (previous versions are kept as hard links until
    the end), so either every target changes or none does.
    """
    targets = check_outputs([path for _, path, _ in outputs])
    writers = []
    for (frame, path, file_format), target in zip(outputs, targets, strict=True):
        kind = infer_format(path, file_format)
        _check_table_target(frame, path, kind)
        writers.append((target, _table_writer(frame, kind, style, notes)))
    temporaries: list[tuple[OutputTarget, str]] = []
    try:
        for target, write in writers:
            if target.file is not None:
                temporaries.append((target, _write_temporary(target, write)))
        _replace_all(temporaries)
    except BaseException:

        def remove_temporaries() -> None:
            for _, temporary in temporaries:
                _remove_temporary(temporary)

        _clean_up(remove_temporaries)
        raise
    for target, write in writers:
        if target.is_stdout:
            _write_stdout(write)


def _table_writer(
    frame: pl.DataFrame,
    kind: str,
    style: CsvStyle | None = None,
    notes: list[str] | None = None,
) -> Callable[[BinaryIO], Any]:
    # Looked up at call time so tests can replace _serialise.
    if style is None:
        return lambda stream: _serialise(frame, kind, stream)
    return lambda stream: _serialise(frame, kind, stream, style, notes)


def _check_table_target(frame: pl.DataFrame, path: str, kind: str) -> None:
    if kind == "xlsx" and Path(path).suffix.lower() in (".xls", ".xlsm"):
        raise UserInputError(f"{path}: xlsx output needs an .xlsx name (Excel refuses others)")
    if kind == "xlsx":
        check_fits_workbook(frame)
    if path in STDOUT_NAMES and kind in ("parquet", "xlsx") and _stdout_is_terminal():
        raise UserInputError(f"refusing to write {kind} to a terminal; use -o FILE")


def _stdout_is_terminal() -> bool:
    return sys.stdout is not None and sys.stdout.isatty()


def _replace_all(temporaries: list[tuple[OutputTarget, str]]) -> None:
    """Rename each temporary file onto its target; on failure restore every target."""
    kept: list[tuple[Path, str | None]] = []  # (target, hard link to its previous version)
    try:
        for target, temporary in temporaries:
            assert target.file is not None
            kept.append((target.file, _keep_previous(target.file)))
            os.replace(temporary, target.file)
    except BaseException as error:

        def restore() -> None:
            for file, previous in kept:
                if previous is None:
                    file.unlink(missing_ok=True)
                elif os.path.lexists(previous):  # not yet put back by an interrupted try
                    os.replace(previous, file)

        _clean_up(restore)
        if isinstance(error, OSError):
            raise UserInputError(f"cannot write: {error.strerror or error}") from error
        raise
    for _, previous in kept:
        if previous is not None:
            Path(previous).unlink(missing_ok=True)
    for directory in {file.parent for file, _ in kept}:
        _sync_directory(directory)


def _keep_previous(file: Path) -> str | None:
    """A hard link to ``file``'s current version (None when there is none to keep)."""
    if not file.exists():
        return None
    keep = file.parent / f".{file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        os.link(file, keep)
    except OSError:
        return None  # a file system without hard links: the rename still is atomic per file
    return str(keep)


def _write_atomically(path: str, write: Callable[[BinaryIO], Any]) -> None:
    """Run ``write`` on a temporary file renamed to ``path`` only once complete and synced."""
    target = resolve_output(path)
    if target.is_stdout:
        _write_stdout(write)
        return
    temporary = _write_temporary(target, write)
    assert target.file is not None
    try:
        os.replace(temporary, target.file)
    except BaseException as error:
        _clean_up(lambda: _remove_temporary(temporary))
        if isinstance(error, OSError):
            raise UserInputError(f"{path}: cannot write: {error.strerror or error}") from error
        raise
    _sync_directory(target.file.parent)


def _write_stdout(write: Callable[[BinaryIO], Any]) -> None:
    # Buffered whole so that a failure half-way leaves nothing on standard output either.
    if sys.stdout is None:
        raise UserInputError("standard output is closed; use -o FILE")
    buffer = io.BytesIO()
    write(buffer)
    sys.stdout.buffer.write(buffer.getvalue())
    sys.stdout.buffer.flush()


def _write_temporary(target: OutputTarget, write: Callable[[BinaryIO], Any]) -> str:
    """Write a complete, synced temporary file next to ``target`` and return its path.

    The name holds the process id (``.NAME.PID.RANDOM.tmp``) so that a later run can tell the
    leftovers of a killed run (whose process is gone) from a run still writing.
    """
    assert target.file is not None
    directory = target.file.parent
    remove_stale_temporaries(target.file)
    temporary: str | None = None
    try:
        # Created with signals held back, so the file never exists without this function
        # knowing its name: a signal arriving as mkstemp returns would otherwise leave it.
        with signals_deferred():
            handle, temporary = _create_temporary(target, directory)
        # mkstemp creates 0600; the output should look like any other file the user writes.
        os.fchmod(handle, _output_mode(target.file))
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as error:
        if temporary is not None:
            created = temporary
            _clean_up(lambda: _remove_temporary(created))
        if isinstance(error, OSError):
            raise UserInputError(
                f"{target.path}: cannot write: {error.strerror or error}"
            ) from error
        raise
    return temporary


def _create_temporary(target: OutputTarget, directory: Path) -> tuple[int, str]:
    assert target.file is not None
    prefix = f".{target.file.name}.{os.getpid()}."
    _TEMPORARY_PLACES.add((directory, prefix))
    try:
        return tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserInputError(
            f"{target.path}: cannot create a file in {directory}: {reason}"
        ) from error


def remove_stale_temporaries(target: Path, minimum_age_seconds: float = STALE_AFTER_SECONDS) -> int:
    """Remove temporary files that killed runs left next to ``target``; return how many.

    Only files named as :func:`_write_temporary` names them (``.NAME.PID.RANDOM.tmp``), older
    than ``minimum_age_seconds`` and whose process no longer exists are removed: a run still
    writing keeps its file, and so does anything else in the directory.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.([0-9]+)\.[A-Za-z0-9_]+\.tmp")
    return remove_left_by_killed_runs(
        target.parent, pattern, minimum_age_seconds=minimum_age_seconds
    )


def remove_left_by_killed_runs(
    directory: Path | str,
    pattern: re.Pattern[str],
    *,
    directories: bool = False,
    minimum_age_seconds: float = STALE_AFTER_SECONDS,
) -> int:
    """Remove what killed runs left in ``directory``; return how many entries went.

    An entry goes when ``pattern`` matches its whole name with the process id of the run that
    made it as its first group, that process is gone, and nothing changed it for
    ``minimum_age_seconds`` (a run in another process namespace, whose process this one cannot
    see, keeps what it is still writing). Files only, or with ``directories`` directories and
    all they hold; this process's own entries and anything else are left alone.
    """
    removed = 0
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            kind_matches = (
                entry.is_dir(follow_symlinks=False)
                if directories
                else entry.is_file(follow_symlinks=False)
            )
            if (
                not kind_matches
                or now - entry.stat(follow_symlinks=False).st_mtime < minimum_age_seconds
                or _process_exists(int(match.group(1)))
            ):
                continue
            if directories:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue  # another run removed it first, or it is not ours to remove
        removed += 1
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process: alive
    return True


def _clean_up(action: Callable[[], object]) -> None:
    """Run an idempotent cleanup to its end.

    OS signals are held back meanwhile (:func:`signals_deferred`), but a Python-level handler
    can still raise inside: a signal already pending when the block began, or an interrupt the
    CLI delivers again. That restarts the cleanup instead of cutting it short; the caller
    re-raises the exception it is handling, and the CLI keeps the first signal for the exit
    code, so no interrupt is lost.
    """
    while True:
        try:
            with signals_deferred():
                action()
            return
        except KeyboardInterrupt:
            continue


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while cleaning up, so a second signal cannot cut a cleanup
    short; a signal that arrives meanwhile is delivered as soon as the block ends."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not on Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _CLEANUP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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
