"""Receiving the page's form: the uploads streamed into the job's directory under names the
server chooses, the request's size capped as it arrives.

Starlette's own form parser spools files to the system's temporary directory; this one writes
each file straight into the job's directory, so nothing lands outside the work directory and a
request over the cap is cut off as soon as it passes it.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from starlette.requests import Request

from riskengine.errors import shorten
from riskengine.io import infer_format

#: The most bytes of a text field (a date, a country, a buyer name).
MAX_FIELD_BYTES = 10_000
_COMPRESSIONS = {".gz": ".gz", ".gzip": ".gz", ".zst": ".zst", ".zstd": ".zst"}


class UploadRefused(Exception):
    """The request cannot be taken as sent: the HTTP status and a message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    """A file received: where the server put it, and the name the client gave it (shown in
    messages, never used as a path)."""

    path: Path
    shown_name: str


@dataclass
class ReceivedForm:
    """The form's text fields and its files, by field name."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def shown_name(client_name: str) -> str:
    """The last part of a client's file name, without control characters, for messages."""
    last = PureWindowsPath(PurePosixPath(client_name).name).name
    printable = "".join(
        character for character in last if unicodedata.category(character)[0] != "C"
    )
    return shorten(printable.strip(), 120) or "upload"


def server_suffix(client_name: str) -> str:
    """The suffix the server gives an upload: its format's own extension (the client's name
    says which, as a file's extension does for ``riskengine score``) and its compression."""
    kind = infer_format(client_name)
    compression = _COMPRESSIONS.get(Path(client_name.lower()).suffix, "")
    return f".{kind}{compression}"


def megabytes(count: int) -> str:
    """``count`` bytes in MB (10^6 bytes) for messages; in bytes below a tenth of one."""
    return f"{count / 1_000_000:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


class _FormReader:
    """The callbacks of python-multipart's streaming parser, writing file parts to disk."""

    def __init__(
        self, directory: Path, file_fields: tuple[str, ...], text_fields: tuple[str, ...]
    ) -> None:
        self.directory = directory
        self.file_fields = file_fields
        self.text_fields = text_fields
        self.form = ReceivedForm()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._field = ""
        self._text: bytearray | None = None
        self._file: BinaryIO | None = None
        self.opened: list[BinaryIO] = []

    def on_part_begin(self) -> None:
        self._disposition = b""
        self._field = ""
        self._text = None
        self._file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._disposition)
        self._field = _text(options.get(b"name", b""), "a field name")
        if self._field in self.file_fields and b"filename" in options:
            client_name = _text(options[b"filename"], "a file name")
            if not client_name:
                return  # the browser's "no file chosen"
            if self._field in self.form.files:
                raise UploadRefused(400, f"more than one file sent as {self._field!r}")
            path = self.directory / f"{self._field}{server_suffix(client_name)}"
            # O_EXCL and O_NOFOLLOW: the server's name, created here and now, never an
            # existing file or a link planted in the job's directory.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            self._file = os.fdopen(descriptor, "wb")
            self.opened.append(self._file)
            self.form.files[self._field] = Upload(path, shown_name(client_name))
        elif self._field in self.text_fields:
            self._text = bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._file is not None:
            self._file.write(data[start:end])
        elif self._text is not None:
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                raise UploadRefused(
                    413, f"the field {self._field!r} is longer than {MAX_FIELD_BYTES:,} bytes"
                )

    def on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self._text is not None:
            self.form.fields[self._field] = _text(bytes(self._text), f"the field {self._field!r}")

    def close(self) -> None:
        for stream in self.opened:
            stream.close()


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused(400, f"{what} is not UTF-8 text") from None


async def receive_form(
    request: Request,
    directory: Path,
    *,
    max_bytes: int,
    file_fields: tuple[str, ...],
    text_fields: tuple[str, ...],
) -> ReceivedForm:
    """Read a multipart form, writing its files into ``directory`` (which must exist).

    Files are named after their field and their format (``sourcing.csv``); the client's file
    name is kept for messages only. Other fields are ignored.

    Raises
    ------
    UploadRefused
        Not a multipart form (400), a body over ``max_bytes`` (413, checked against the
        declared length first, then as the body arrives), a malformed form (400).
    UserInputError
        A file whose format its name does not tell (the message ``score`` gives).
    """
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UploadRefused(400, "send the form as multipart/form-data")
    too_large = UploadRefused(
        413,
        f"the upload is larger than the limit of {megabytes(max_bytes)} "
        "(riskengine serve --max-upload-mb)",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    reader = _FormReader(directory, file_fields, text_fields)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": reader.on_part_begin,
            "on_part_data": reader.on_part_data,
            "on_part_end": reader.on_part_end,
            "on_header_field": reader.on_header_field,
            "on_header_value": reader.on_header_value,
            "on_header_end": reader.on_header_end,
            "on_headers_finished": reader.on_headers_finished,
        },
    )
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise too_large
            parser.write(chunk)
        parser.finalize()
    except FormParserError as error:
        raise UploadRefused(400, f"the form could not be read: {error}") from None
    finally:
        reader.close()
    return reader.form
