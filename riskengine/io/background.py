"""One daemon thread that runs calls one after another while the caller goes on: the next
chunk of a file parsed, or the last chunk serialised, while the main thread works on another;
and the stream such a thread writes an output through, handed to the disk as it is written
(:class:`WrittenBack`).

polars parses and serialises outside the interpreter lock (it takes the lock back only to hand
each buffer to a Python stream's ``write``), so such a call runs on the second core. A daemon
thread, so that an interrupted run ends without waiting for a call in flight;
the callers wait for it themselves on an error, before they close what it reads or writes.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO, Generic, TypeVar, cast

from riskengine.errors import interrupted

T = TypeVar("T")


class SerialThread:
    """A daemon thread running the calls submitted to it in order, one at a time."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[Pending[object] | None] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def submit(self, call: Callable[[], T]) -> Pending[T]:
        """``call`` queued behind the calls submitted before it."""
        pending = Pending(call)
        self._calls.put(cast("Pending[object]", pending))
        return pending

    def stop(self) -> None:
        """Let the thread end once the calls submitted so far have."""
        self._calls.put(None)

    def _serve(self) -> None:
        while (pending := self._calls.get()) is not None:
            pending.run()


class Pending(Generic[T]):
    """A call submitted to a :class:`SerialThread`: its result, once it has run."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call: Callable[[], T] | None = call
        self._ready = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        """Run the call (on the serving thread), keeping its value or its error."""
        # Let go of the call as it runs: what it holds (a chunk) is freed once it is done.
        call, self._call = self._call, None
        try:
            if call is not None:
                self._value = call()
        except BaseException as error:  # handed to whoever waits, whatever it is
            self._error = error
        finally:
            self._ready.set()

    def wait(self) -> None:
        """Wait until the call has run."""
        self._ready.wait()

    def error(self) -> BaseException | None:
        """The call's error once it has run, or None when it returned."""
        self._ready.wait()
        return self._error

    def result(self) -> T:
        """The call's value, or its error raised here."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)


class WritingBehind:
    """Writes to ``stream`` made on a :class:`SerialThread` while the caller computes the next
    one: one write in flight at most, so memory holds one chunk more, not the whole output.

    The writes go through a descriptor of their own (:func:`_stream_of_its_own`): one left
    running by an interrupt goes on to the file it began, never to a file opened later under
    the same number.
    """

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self._stream = stream
        self._target = _stream_of_its_own(stream)
        self._thread = SerialThread(name)
        self._writing: Pending[None] | None = None

    def write(self, write: Callable[[BinaryIO], None]) -> None:
        """Once the write before has ended (its error raised here), start ``write`` of the
        target on the thread."""
        if self._writing is not None:
            self._writing.result()
        self._writing = self._thread.submit(lambda: write(self._target))

    def close(self, *, finished: bool) -> None:
        """End the writing; the caller closes ``stream`` next.

        The thread closes its descriptor after the last write, whatever happens. Finished, or
        stopped by an error: that is waited for, and the write's own error, which came first,
        is the one raised. Interrupted (here too, while waiting): nothing waits, and the
        removed file's space is let go once the write ends, even while the exception (and
        the frame that opened the descriptor) is kept.
        """
        closing = self._target.close if self._target is not self._stream else _nothing
        closed = self._thread.submit(closing)
        self._thread.stop()
        if not finished and interrupted():
            return
        failure = self._writing.error() if self._writing is not None else None
        close_failure = closed.error()
        if failure is not None:
            raise failure
        if finished and close_failure is not None:
            raise close_failure  # a failing flush is a failed write


def _nothing() -> None:
    return None


def _stream_of_its_own(stream: BinaryIO) -> BinaryIO:
    """A stream on ``stream``'s file through a descriptor of its own, or ``stream`` itself
    when it has none (an in-memory buffer) or none can be had (no descriptor left).

    polars 2.1 writes through the stream's ``write``, which fails once ``stream`` is closed;
    a writer going by the descriptor (pyarrow's, a later polars') would write into whatever
    file was opened next under that number."""
    try:
        # Typed as the stream it wraps: the writers given it (polars') call write alone.
        return cast(BinaryIO, WrittenBack(os.fdopen(os.dup(stream.fileno()), "wb")))
    except (AttributeError, OSError, io.UnsupportedOperation):
        return stream


#: Bytes written to a file between two requests that the kernel write them to disk.
WRITE_BACK_BYTES = 64 << 20


class WrittenBack:
    """A file's stream that, every :data:`WRITE_BACK_BYTES`, asks the kernel to start writing
    the bytes written since to disk (``POSIX_FADV_DONTNEED``, which also lets go of those
    pages already on disk), where the system offers it.

    Otherwise a large output's pages stay dirty until the closing ``fsync``, which then
    writes them all: the 1M output's ``fsync`` took 0.17-0.24 s, and 0.01-0.03 s with a
    request every 64 MiB (bench/README). The advice is only advice: once it fails, it is not
    asked again and the writing goes on; a pipe or a terminal is not advised at all. The
    command does not read its output's pages again. polars writes through ``write``.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending = 0
        self._advising = hasattr(os, "posix_fadvise")
        try:
            self._start = stream.tell()
        except OSError:  # a pipe or a terminal: nothing to hand to a disk
            self._start = 0
            self._advising = False

    def write(self, data: bytes) -> int:
        """Write ``data``; past :data:`WRITE_BACK_BYTES` since the last request, ask again."""
        written = self._stream.write(data)
        self._pending += written
        if self._pending >= WRITE_BACK_BYTES and self._advising:
            self._stream.flush()
            try:
                os.posix_fadvise(
                    self._stream.fileno(), self._start, self._pending, os.POSIX_FADV_DONTNEED
                )
            except OSError:
                self._advising = False
            self._start += self._pending
            self._pending = 0
        return written

    def flush(self) -> None:
        """Flush the stream's buffer to the file."""
        self._stream.flush()

    def fileno(self) -> int:
        """The stream's descriptor."""
        return self._stream.fileno()

    def close(self) -> None:
        """Flush and close the stream (a failing flush is raised)."""
        self._stream.close()

    @property
    def closed(self) -> bool:
        """Whether the stream is closed."""
        return self._stream.closed
