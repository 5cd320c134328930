"""Large CSV and TSV files read as a stream of frames: through polars while the file is plain,
through pyarrow's streaming reader from the first block that is not.

The encoding and the delimiter come from the head of the file, as when it is read whole. A
plain UTF-8 file (every line one well-formed record, as exports are) is read by polars block by
block, each block passing the vectorised check :func:`~riskengine.io.reading.read_table` makes
before it trusts polars (:func:`~riskengine.io.delimited.read_plain_records`). At the first
block that fails it, the checked reader below takes over from the next row. Its bytes pass
through :class:`_CheckedStream`, which decodes them strictly block by block
(detecting a single-byte code page that appears only further down, refusing NUL and mixed
encodings with the line) and hands pyarrow UTF-8. pyarrow parses with quoted line breaks
allowed, so any record boundary is found, and reads every cell as text (empty cells as null).

pyarrow is more lenient than the csv module (text after a closing quote, an unclosed quote, a
bare CR) and names no line when it fails. So blocks whose quoting is not plain are checked once
by the strict csv-module pass over the whole file, and every failure (a ragged row, a bad
header, an unnamed column with values) is located by that pass, which gives the same message
:func:`~riskengine.io.reading.read_table` gives.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import polars as pl

from riskengine.errors import InputFileError, interrupted, raise_if_interrupted
from riskengine.io.background import Pending, SerialThread
from riskengine.io.decoding import (
    BYTE_ORDER_MARKS,
    DETECTABLE_ENCODINGS,
    codec_name,
    decode_strictly,
    decode_text,
    detect_single_byte_encoding,
    first_utf8_line,
    line_of,
    refuse_nul,
    undetectable_error,
)
from riskengine.io.delimited import (
    PLAIN_SNIFF_BYTES,
    check_single_column_hint,
    csv_reader,
    delimiter_option,
    long_fields_allowed,
    quoting_is_regular,
    read_plain_records,
    scan_lines,
    sniff_delimiter,
    title_lines,
)
from riskengine.io.formats import (
    LIBRARY_READ_ERRORS,
    STDIO,
    check_content_matches_format,
    infer_format,
    library_read_error,
)
from riskengine.io.reading import TableMetadata, read_table_with_metadata
from riskengine.io.sources import ZSTD_MAGIC, check_input_file, compression_of

#: Bytes of a delimited file read per chunk.
DEFAULT_CHUNK_BYTES = 128 << 20
_STREAMABLE_CODECS = ("utf-8", "utf-8-sig", *DETECTABLE_ENCODINGS)
_CHUNK_SAMPLE_BYTES = PLAIN_SNIFF_BYTES
_BARE_CR = re.compile(rb"\r(?!\n)")
_NO_CHUNK = object()


@dataclass(frozen=True)
class _Plan:
    """What the head of a file says about all of it."""

    codec: str
    detected: bool
    delimiter: str
    header: list[str]


class ChunkedTable:
    """A user's table read as a sequence of frames, each a run of whole records in file order.

    CSV and TSV files larger than ``chunk_bytes`` are streamed in blocks of about a third of that
    many bytes (half, through the checked reader), so memory follows the chunk size and not the
    file size; every other input (other formats, standard input, small files, UTF-16/32 text,
    files with bare-CR line ends) is one chunk holding the whole table. The object is
    re-iterable: iterating again reads the file again, except for a single chunk, which is kept.

    The chunks together are the table :func:`read_table` reads, and a file it refuses is
    refused with the same message (the line counted from the top of the file). A file whose
    first chunk is plain ASCII and whose later bytes are a single-byte code page is detected
    as :func:`read_table` would.
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
        header_row: int | None = None,
    ) -> None:
        self.path = path
        self.label = "<stdin>" if path == STDIO else path
        self.kind = infer_format(path, file_format)
        self._options: dict[str, Any] = {
            "encoding": encoding,
            "sheet": sheet,
            "delimiter": delimiter,
            "header_row": header_row,
        }
        self.chunk_bytes = max(1, chunk_bytes)
        self.encoding = encoding
        self._whole: pl.DataFrame | None = None
        self.read_delimiter: str | None = None
        """The delimiter of a CSV or TSV input, known once it has been read (None for other
        formats)."""
        self.read_encoding: str | None = None
        """The codec the text was read in, known once it has been read."""
        self._first_ahead: tuple[Generator[pl.DataFrame, None, None], Pending[object]] | None = None

    def read_first_ahead(self) -> None:
        """Start reading the first chunk on a thread of its own; the next iteration takes it
        from there, then reads on as usual.

        For a caller with other work before it iterates: the command line imports the scoring
        modules meanwhile, which holds the interpreter lock while the reading spends its time
        in polars, outside it. An error of the reading is raised where the chunk is taken, as
        it would have been there. The thread is a daemon: an interrupted command does not wait
        for it.
        """
        if self._first_ahead is not None or self._whole is not None:
            return
        chunks = self._chunks()
        reader = SerialThread("riskengine-read-first")
        self._first_ahead = (chunks, reader.submit(lambda: next(chunks, _NO_CHUNK)))
        reader.stop()

    def close(self) -> None:
        """End a first chunk's read ahead that was never taken (the caller stopped on an error
        first): the reading is waited for and the file it holds closed, as an abandoned read
        ahead is elsewhere, unless the command is being interrupted. An input read whole keeps
        its one chunk, as it does after any read. Closing twice, or after the chunk was taken,
        does nothing."""
        ahead, self._first_ahead = self._first_ahead, None
        if ahead is None:
            return
        chunks, first = ahead
        if interrupted():
            return  # the daemon thread is not waited for
        first.wait()
        del first
        chunks.close()

    def _streams(self) -> bool:
        if self.path == STDIO or self.kind not in ("csv", "tsv"):
            return False
        if check_input_file(self.path, self.label).st_size <= self.chunk_bytes:
            return False
        with open(self.path, "rb") as head:
            # A compressed file is decompressed whole by read_table (no streaming decompressor
            # feeds pyarrow yet).
            return compression_of(head.read(len(ZSTD_MAGIC))) is None

    def __iter__(self) -> Iterator[pl.DataFrame]:
        if self._first_ahead is None:
            yield from self._chunks()
            return
        (chunks, first), self._first_ahead = self._first_ahead, None
        chunk = first.result()
        del first  # the consumer decides how long the first chunk lives
        try:
            if chunk is not _NO_CHUNK:
                yield cast(pl.DataFrame, chunk)
                del chunk
                yield from chunks
        finally:
            chunks.close()  # not running elsewhere now: its first step has returned

    def _chunks(self) -> Generator[pl.DataFrame, None, None]:
        if self._whole is not None:
            yield self._whole
            return
        if not self._streams():
            yield self._read_whole()
            return
        try:
            plan = self._plan()
            if plan is None:
                yield self._read_whole()
                return
            self.read_delimiter, self.read_encoding = plan.delimiter, plan.codec
            yield from self._stream(plan)
        except OSError as error:
            raise InputFileError(f"{self.label}: cannot read: {error.strerror}") from error
        except LIBRARY_READ_ERRORS as error:
            raise library_read_error(self.label, self.kind, error) from error

    def _read_whole(self) -> pl.DataFrame:
        self._whole, metadata = read_table_with_metadata(
            self.path, self.kind, **self._options, digest=False
        )
        self.read_delimiter, self.read_encoding = metadata["delimiter"], metadata["encoding"]
        return self._whole

    def _plan(self) -> _Plan | None:
        """The codec, delimiter and header from the head of the file; None to read it whole."""
        encoding = self._options["encoding"]
        option = self._options["delimiter"]
        explicit = option is not None
        preferred = delimiter_option(option) or ("\t" if self.kind == "tsv" else None)
        with open(self.path, "rb") as head:
            sample = head.read(_CHUNK_SAMPLE_BYTES + 1)
        check_content_matches_format(sample, self.kind, self.label)
        named = codec_name(encoding) if encoding is not None else None
        wide_mark = any(
            sample.startswith(mark) for mark, codec in BYTE_ORDER_MARKS if codec != "utf-8"
        )
        if wide_mark or (named is not None and named not in _STREAMABLE_CODECS):
            # UTF-16 and UTF-32 cannot be cut at a newline byte; such files are read whole.
            return None
        if len(sample) > _CHUNK_SAMPLE_BYTES:
            # Cut after a newline byte: never inside a character of these codecs.
            sample = sample[: sample.rfind(b"\n", 0, _CHUNK_SAMPLE_BYTES) + 1 or None]
        text, codec, detected = decode_text(sample, self.label, encoding)
        if "\n" not in text and "\r" in text:
            return None  # classic Mac line ends: rare, and read whole
        if self._options["header_row"] is not None or title_lines(text):
            # A header below the first line (named, or perhaps under a title): rare in large
            # files, and read whole, where the title is found as for a small file.
            return None
        with long_fields_allowed():
            delimiter = preferred
            if delimiter is None or not explicit:
                delimiter = sniff_delimiter(text, "\n", preferred=delimiter)
            if explicit:
                check_single_column_hint(text, self.label, delimiter, "\n")
            header = _first_record(text, delimiter)
        return _Plan(codec, detected, delimiter, header)

    def _stream(self, plan: _Plan) -> Iterator[pl.DataFrame]:
        done, yielded = yield from self._stream_plain(plan)
        if not done:
            yield from self._stream_checked(plan, yielded)

    def _stream_plain(self, plan: _Plan) -> Generator[pl.DataFrame, None, tuple[bool, int]]:
        """The file read by polars block by block while every block is plain UTF-8 whose
        lines are each one well-formed record (:func:`read_plain_records`), as most exports
        are. Returns whether it read the whole file, and the rows it handed on; at the first
        block that is not plain the checked reader takes over from there."""
        header = plan.header
        if (
            plan.codec not in ("utf-8", "utf-8-sig")
            or plan.delimiter in ('"', "\n", "\r")
            or not all(header)
            or len(set(header)) != len(header)
        ):
            return False, 0
        header_text = plan.delimiter.join(header).encode("utf-8")
        header_line = b""
        yielded = 0
        with open(self.path, "rb") as file:
            # A third of the chunk per block: the block's bytes, its frame and the scoring of
            # the frame before are alive together. 10M pairs peaked at 1,873,892 KB with halves
            # and 1,710,228 KB with thirds, 2.5% slower (back to back).
            blocks = _LineBlocks(file, max(1, self.chunk_bytes // 3))
            for block in blocks:
                if not header_line:
                    block = block.removeprefix(b"\xef\xbb\xbf")
                    # The header as the plan read it, unquoted, on the first line.
                    header_line = next(
                        (
                            header_text + ending
                            for ending in (b"\n", b"\r\n")
                            if block.startswith(header_text + ending)
                        ),
                        b"",
                    )
                    if not header_line:
                        return False, 0
                    # The first block starts with the header; every later one is given it.
                    blocks.prefix = header_line
                frame = (
                    read_plain_records(block, self.label, plan.delimiter)
                    if _plain_utf8(block)
                    else None
                )
                if frame is None:
                    return False, yielded
                raise_if_interrupted()
                if frame.height:
                    yielded += frame.height
                    yield frame
        if yielded == 0:
            yield pl.DataFrame(schema=dict.fromkeys(header, pl.String))
        return True, yielded

    def _stream_checked(self, plan: _Plan, already: int) -> Iterator[pl.DataFrame]:
        """The file decoded and checked in Python and parsed by pyarrow, from the record after
        the first ``already`` ones: any codec, any quoting, and the strict pass's message for
        a malformed file."""
        # Here rather than at the top: a plain file never needs it, and pyarrow takes 0.15 s
        # of a one-row score's start-up to import.
        import pyarrow as pa

        header = plan.header
        named = [name for name in header if name]
        if not named or len(set(named)) != len(named):
            self._locate(plan, None)
        keep = [index for index, name in enumerate(header) if name]
        unnamed = [index for index, name in enumerate(header) if not name]
        # Half the chunk per block: a block is alive twice while it becomes a frame (pyarrow's
        # batch and polars' copy); whole-chunk blocks took 10M rows to 4.4 GiB, half to 3.1.
        block_size = max(1, self.chunk_bytes // 2)
        yielded = already
        while True:
            # pyarrow needs every record inside one block; a longer one restarts the read
            # with larger blocks, skipping the rows already handed on.
            skip = yielded
            stream = _CheckedStream(self, plan)
            reader = None
            try:
                reader = _open(stream, plan, block_size)
                if reader.schema.names != header:
                    self._locate(plan, None)
                for batch in reader:
                    raise_if_interrupted()
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    if skip:
                        batch, skip = batch.slice(skip), 0
                    if any(batch.column(index).null_count < batch.num_rows for index in unnamed):
                        self._locate(plan, None)
                    frame = cast(pl.DataFrame, pl.from_arrow(batch.select(keep)))
                    del batch
                    yielded += frame.height
                    yield frame
            except pa.ArrowInvalid as error:
                if _block_too_small(error) and block_size < Path(self.path).stat().st_size:
                    block_size *= 2
                    continue
                self._locate(plan, error)
            finally:
                # The reader first: left to the garbage collector, a reader stopped early (an
                # error, or a consumer that stops iterating) kept a read-ahead of the stream
                # pending, and pyarrow's shutdown then waited on it forever.
                if reader is not None:
                    reader.close()
                stream.close()
            break
        if yielded == 0:
            yield pl.DataFrame(schema={header[index]: pl.String for index in keep})

    def _locate(self, plan: _Plan, error: Exception | None) -> None:
        """Raise the strict pass's message for this file, which names the line."""
        self.check_strictly(plan)
        if error is not None:
            raise library_read_error(self.label, self.kind, error) from error
        raise InputFileError(f"{self.label}: cannot read the header")

    def check_strictly(self, plan: _Plan) -> None:
        """Run the strict csv-module pass over the whole file as it streams by (no frame is
        built); it raises what :func:`read_table` raises for a malformed file."""
        with long_fields_allowed():
            scan_lines(lambda: _text_lines(self.path, plan.codec), self.label, plan.delimiter)


def _plain_utf8(block: bytes) -> bool:
    """Whether ``block`` may be read as plain UTF-8: it has no NUL character (which
    :func:`refuse_nul` refuses); polars refuses any byte that is not UTF-8 as it reads
    (:func:`read_plain_records` then gives None)."""
    return b"\x00" not in block


class _LineBlocks:
    """The file's bytes in blocks of about ``size``, each cut after a LF (a line longer than
    ``size`` makes a longer block) and, once :attr:`prefix` is set, starting with it.

    Each block is one new bytes object: the file is read into a buffer kept from block to
    block, joined once with the prefix and the line the block before left unfinished. (Read,
    joined, cut and prefixed one by one, a 43 MB block was four new objects, each of them
    memory the system had to hand over page by page.)
    """

    def __init__(self, file: io.BufferedIOBase, size: int) -> None:
        self._file = file
        self._size = size
        self.prefix = b""

    def __iter__(self) -> Iterator[bytes]:
        buffer = bytearray(self._size)
        view = memoryview(buffer)
        carry = b""
        while True:
            count = self._file.readinto(view)
            if not count:
                if carry:
                    yield self.prefix + carry
                return
            cut = buffer.rfind(b"\n", 0, count) + 1
            if cut == 0:
                carry += view[:count]
                continue
            yield b"".join((self.prefix, carry, view[:cut]))
            carry = bytes(view[cut:count])


def _block_too_small(error: Exception) -> bool:
    """pyarrow's complaint about a record (or the header) longer than its block, or a first
    block too short to tell a byte order mark (EF BB BF) from a character starting with EF."""
    reason = str(error)
    return (
        "straddl" in reason
        or "Empty CSV file or block" in reason
        or "truncated byte order mark" in reason
    )


def _first_record(text: str, delimiter: str) -> list[str]:
    reader = csv_reader(text, delimiter, "\n")
    try:
        for record in reader:
            if record:
                return record
    except csv.Error:  # the strict pass reports it with its line
        return []
    return []


def _open(stream: io.RawIOBase, plan: _Plan, block_size: int) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    return pa_csv.open_csv(
        stream,
        # No reader threads: they call back into the Python stream, and an error raised there
        # while a read-ahead was pending could leave the reader waiting forever.
        read_options=pa_csv.ReadOptions(
            block_size=block_size, autogenerate_column_names=False, use_threads=False
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=plan.delimiter,
            quote_char='"',
            double_quote=True,
            escape_char=False,
            newlines_in_values=True,
            ignore_empty_lines=True,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types={name: pa.string() for name in plan.header},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
            check_utf8=False,  # decoded and checked by _CheckedStream
        ),
    )


def _text_lines(path: str, codec: str) -> Iterator[str]:
    """The file's lines split at ``\\n`` only, as the whole-file reader splits them."""
    codec = "utf-8-sig" if codec in ("utf-8", "utf-8-sig") else codec
    # Replacement keeps the structure; the bytes themselves were checked as they streamed.
    with open(path, encoding=codec, errors="replace", newline="\n") as file:
        yield from file


class _CheckedStream(io.RawIOBase):
    """The file as UTF-8, decoded and checked block by block (cut after a line end)."""

    def __init__(self, table: ChunkedTable, plan: _Plan) -> None:
        super().__init__()
        self._file = open(table.path, "rb")  # noqa: SIM115 - closed at the end of the stream
        self._label = table.label
        self._plan = plan
        self._table = table
        self._blocks = iter(_LineBlocks(self._file, table.chunk_bytes))
        self._may_detect = table.encoding is None
        self._codec = "utf-8" if plan.codec == "utf-8-sig" else plan.codec
        self._detected = plan.detected
        self._ascii_so_far = True
        self._lines_before = 0
        self._first = True
        self._checked_whole = False
        self._out = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()
        super().close()

    def read(self, size: int | None = -1) -> bytes:
        want = size if size is not None and size >= 0 else None
        while not self._done and (want is None or len(self._out) < want):
            block = self._next_block()
            if block is None:
                self._done = True
                self._file.close()
            else:
                self._out = self._out + block if self._out else block
        if want is None or want >= len(self._out):
            data, self._out = self._out, b""
        else:
            data, self._out = self._out[:want], self._out[want:]
        if data.endswith(b"\r") and len(data) > 1 and (self._out or not self._done):
            # pyarrow drops the LF of a quoted CRLF that its block boundary splits: hold the CR
            # back so that a block never ends between the two.
            data, self._out = data[:-1], data[-1:] + self._out
        return data

    def _next_block(self) -> bytes | None:
        block = next(self._blocks, None)
        return None if block is None else self._checked(block)

    def _checked(self, block: bytes) -> bytes:
        if self._first and self._plan.codec == "utf-8-sig":
            block = block.removeprefix(b"\xef\xbb\xbf")
        text = self._decode(block)
        if self._first:
            text = text.removeprefix("\ufeff")
            self._first = False
        self._ascii_so_far = self._ascii_so_far and text.isascii()
        self._lines_before += block.count(b"\n")
        # UTF-8 passes through as read; a code page is handed on as UTF-8.
        out = block if self._codec == "utf-8" else text.encode("utf-8")
        del text
        irregular = _BARE_CR.search(out) is not None or (
            b'"' in out and not quoting_is_regular(out, self._plan.delimiter)
        )
        if irregular and not self._checked_whole:
            # Quoting pyarrow would read leniently or that spans lines: check the whole file
            # once with the strict pass, which raises with the line if it is malformed.
            self._table.check_strictly(self._plan)
            self._checked_whole = True
        return out

    def _decode(self, block: bytes) -> str:
        """Decode with the file's codec, which may still be detected (see the class)."""
        label = self._label
        lines_before = self._lines_before
        codec = self._codec
        detectable = codec == "utf-8" and self._may_detect and self._ascii_so_far
        try:
            text = block.decode(codec)
        except UnicodeDecodeError as error:
            if not detectable:
                return decode_strictly(block, codec, label, lines_before)
            # The lines so far were plain ASCII, which every detectable code page reads alike.
            found, guess = detect_single_byte_encoding(block, error.start)
            if found is None or first_utf8_line(block) is not None:
                line = lines_before + line_of(block, error.start, codec)
                raise undetectable_error(label, line, block[error.start], guess) from error
            self._codec, self._detected = found, True
            return decode_strictly(block, found, label, lines_before)
        if self._detected:
            # A detected code page must not hide UTF-8 lines further down.
            mixed_line = first_utf8_line(block)
            if mixed_line is not None:
                raise InputFileError(
                    f"{label}: line {lines_before + mixed_line} is valid UTF-8 but the file was "
                    f"read as {codec}, so it mixes encodings and cannot be read without changing "
                    "characters; save it as UTF-8, or pass --encoding"
                )
        return refuse_nul(text, label, lines_before)


@dataclass(frozen=True)
class ReadOptions:
    """How to read a user's file when its form cannot be inferred (all optional)."""

    file_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    header_row: int | None = None
    """1-based header row; title rows above the header are detected when omitted."""

    def read(self, path: str) -> pl.DataFrame:
        return self.read_with_metadata(path)[0]

    def read_with_metadata(self, path: str) -> tuple[pl.DataFrame, TableMetadata]:
        """The table and how it was read (the title lines above its header among it)."""
        sheet: str | int | None = self.sheet
        return read_table_with_metadata(
            path,
            self.file_format,
            encoding=self.encoding,
            sheet=sheet,
            delimiter=self.delimiter,
            header_row=self.header_row,
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
            header_row=self.header_row,
        )
