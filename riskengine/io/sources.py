"""Where input bytes come from: regular files or standard input only, within a size cap, and
gzip or zstd decompressed transparently (recognised by their magic bytes, whatever the name).

A device, FIFO or socket named as an input is refused (``/dev/zero`` would be read until memory
runs out); standard input may be a pipe. Every input is capped at
``RISKENGINE_MAX_INPUT_BYTES`` (50 GiB by default), compressed or decompressed.
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import stat
import sys
import zlib
from typing import Any, BinaryIO

from riskengine.errors import InputFileError, UserInputError

MAX_INPUT_BYTES_ENV = "RISKENGINE_MAX_INPUT_BYTES"
DEFAULT_MAX_INPUT_BYTES = 50 << 30
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_BLOCK = 1 << 20


def max_input_bytes() -> int:
    """The input size cap from ``RISKENGINE_MAX_INPUT_BYTES`` (bytes), or the default."""
    text = os.environ.get(MAX_INPUT_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit <= 0:
        raise UserInputError(f"{MAX_INPUT_BYTES_ENV}={text!r} is not a positive number of bytes")
    return limit


def _too_large(label: str, limit: int) -> InputFileError:
    return InputFileError(
        f"{label}: is larger than the input limit of {limit:,} bytes; raise "
        f"{MAX_INPUT_BYTES_ENV} to read it"
    )


def check_input_file(path: str, label: str) -> os.stat_result:
    """The status of the regular file ``path``, or an error saying why it cannot be read.

    Raises
    ------
    InputFileError
        Missing (or a symlink to a missing file), a symlink loop, a directory, a device, FIFO
        or socket, or larger than :func:`max_input_bytes`.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError as error:
        if os.path.islink(path):
            raise InputFileError(
                f"{label}: is a symlink to {os.readlink(path)}, which does not exist"
            ) from error
        raise InputFileError(f"{label}: no such file") from error
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise InputFileError(
                f"{label}: symlink loop (a link that leads back to itself)"
            ) from error
        raise InputFileError(f"{label}: cannot read: {error.strerror}") from error
    if stat.S_ISDIR(status.st_mode):
        raise InputFileError(f"{label}: is a directory, not a file")
    if not stat.S_ISREG(status.st_mode):
        raise InputFileError(
            f"{label}: is not a regular file (a device, named pipe or socket); save the data "
            "to a file, or pipe it to standard input with -"
        )
    limit = max_input_bytes()
    if status.st_size > limit:
        raise _too_large(label, limit)
    return status


def read_input_bytes(path: str, label: str, stdin: BinaryIO | None = None) -> bytes:
    """All bytes of an input (``-`` for standard input), decompressed, within the size cap."""
    limit = max_input_bytes()
    if path == "-":
        source = stdin if stdin is not None else _stdin(label)
        data = _read_capped(source, label, limit)
    else:
        check_input_file(path, label)
        try:
            # Non-blocking, and checked again on the open file: a FIFO swapped in after the
            # check must be refused, not waited on.
            with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as file:
                if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    raise InputFileError(f"{label}: is not a regular file")
                # One read sized by the file (blocks joined would double the peak for a large
                # file); checked again, as the file may have grown since the check.
                data = file.read()
                if len(data) > limit:
                    raise _too_large(label, limit)
        except OSError as error:
            raise InputFileError(f"{label}: cannot read: {error.strerror}") from error
    return decompress(data, label, limit)


def _stdin(label: str) -> BinaryIO:
    if sys.stdin is None:
        raise InputFileError(f"{label}: standard input is closed")
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return sys.stdin.buffer  # not a real descriptor (a test runner's stream): read it
    if (stat.S_ISCHR(mode) and not sys.stdin.isatty()) or stat.S_ISBLK(mode):
        raise InputFileError(
            f"{label}: standard input is a device, not a file or a pipe (< /dev/zero never ends)"
        )
    return sys.stdin.buffer


def _read_capped(source: BinaryIO, label: str, limit: int) -> bytes:
    blocks: list[bytes] = []
    total = 0
    descriptor = _waitable_descriptor(source)
    while block := _read_block(source, descriptor):
        total += len(block)
        if total > limit:
            raise _too_large(label, limit)
        blocks.append(block)
    return b"".join(blocks)


#: How long a read of a pipe waits for data before the interpreter runs again.
_PIPE_WAIT_SECONDS = 0.2


def _read_block(source: BinaryIO, descriptor: int | None) -> bytes:
    """Up to :data:`_READ_BLOCK` bytes of ``source``; empty at its end.

    A pipe or terminal (its ``descriptor``, :func:`_waitable_descriptor`) is waited on in short
    steps: a signal the kernel hands to another thread of the process (the model loader's, the
    progress bar's) is only handled once the main thread runs Python again, and a read blocked
    on a stalled pipe would keep Ctrl-C waiting until data came.
    """
    if descriptor is None:
        return source.read(_READ_BLOCK)
    import select

    while not select.select([descriptor], [], [], _PIPE_WAIT_SECONDS)[0]:
        pass
    reader = getattr(source, "read1", source.read)
    return reader(_READ_BLOCK)


def _waitable_descriptor(source: BinaryIO) -> int | None:
    """The descriptor of a pipe or terminal ``source`` on a POSIX system, else None."""
    if os.name != "posix":
        return None
    try:
        descriptor = source.fileno()
        mode = os.fstat(descriptor).st_mode
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    return descriptor if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) else None


def compression_of(head: bytes) -> str | None:
    """``"gzip"`` or ``"zstd"`` from a file's first bytes, or None when it is not compressed."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return None


def decompress(data: bytes, label: str, limit: int) -> bytes:
    """``data`` decompressed when it is gzip or zstd (by its magic bytes), else as given.

    Raises
    ------
    InputFileError
        A corrupt or truncated compressed file, or one that decompresses beyond ``limit``.
    """
    kind = compression_of(data)
    if kind is None:
        return data
    failures: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error, ValueError)
    if kind == "gzip":
        stream: Any = gzip.GzipFile(fileobj=io.BytesIO(data))
    else:
        import zstandard

        failures = (*failures, zstandard.ZstdError)
        stream = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data))
    try:
        with stream:
            return _read_capped(stream, label, limit)
    except failures as error:
        raise InputFileError(
            f"{label}: is {kind}-compressed but cannot be decompressed: {error}"
        ) from error
