"""The serial daemon thread that reads chunks ahead and writes them behind."""

from __future__ import annotations

import gc
import os
import threading
import weakref
from pathlib import Path

import pytest

from riskengine.io.background import SerialThread


def test_calls_run_in_the_order_submitted_on_one_daemon_thread() -> None:
    ran: list[tuple[int, threading.Thread]] = []
    worker = SerialThread("test-worker")
    pending = [
        worker.submit(lambda number=number: ran.append((number, threading.current_thread())))
        for number in range(5)
    ]
    for call in pending:
        call.result()
    worker.stop()

    assert [number for number, _ in ran] == [0, 1, 2, 3, 4]
    threads = {thread for _, thread in ran}
    assert len(threads) == 1
    (thread,) = threads
    assert thread is not threading.current_thread()
    assert thread.daemon and thread.name == "test-worker"


def test_a_calls_error_is_raised_where_its_result_is_asked_and_later_calls_still_run() -> None:
    worker = SerialThread("test-worker")

    def fails() -> int:
        raise OSError(28, "No space left on device")

    failing = worker.submit(fails)
    after = worker.submit(lambda: 7)
    with pytest.raises(OSError, match="No space left"):
        failing.result()
    assert after.result() == 7
    worker.stop()


def test_what_a_call_holds_is_let_go_once_it_has_run() -> None:
    """A chunk handed to the writer is freed once written, not when the next call comes."""

    class Chunk:
        pass

    chunk = Chunk()
    held = weakref.ref(chunk)
    worker = SerialThread("test-worker")
    call = worker.submit(lambda chunk=chunk: None)
    del chunk
    call.result()
    gc.collect()
    assert held() is None
    worker.stop()


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_a_written_back_stream_asks_for_every_run_of_bytes_once_in_file_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.io import background

    requests: list[tuple[int, int, int]] = []
    monkeypatch.setattr(background, "WRITE_BACK_BYTES", 10)
    monkeypatch.setattr(
        os,
        "posix_fadvise",
        lambda fd, start, length, advice: requests.append((start, length, advice)),
        raising=False,
    )
    path = tmp_path / "out.bin"
    pieces = [b"a" * 4, b"b" * 7, b"c" * 25, b"d" * 3]
    with path.open("wb") as file:
        file.write(b"head")  # the stream starts where its file stands
        stream = background.WrittenBack(file)
        for piece in pieces:
            assert stream.write(piece) == len(piece)
        stream.flush()
    assert path.read_bytes() == b"head" + b"".join(pieces)
    # 4 + 7 = 11 bytes, then 25: each run once, from where the last ended; 3 still pending.
    assert requests == [(4, 11, os.POSIX_FADV_DONTNEED), (15, 25, os.POSIX_FADV_DONTNEED)]


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_the_chunk_writer_writes_a_file_through_a_written_back_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import polars as pl

    import riskengine.io as rio
    from riskengine.io import background

    requests: list[int] = []
    monkeypatch.setattr(background, "WRITE_BACK_BYTES", 64)
    monkeypatch.setattr(
        os,
        "posix_fadvise",
        lambda fd, start, length, advice: requests.append(length),
        raising=False,
    )
    chunks = [pl.DataFrame({"n": list(range(start, start + 50))}) for start in (0, 50, 100)]
    rio.write_table_chunks(chunks, str(tmp_path / "chunked.csv"))
    rio.write_table(pl.concat(chunks), str(tmp_path / "whole.csv"))
    assert (tmp_path / "chunked.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert requests and all(length >= 64 for length in requests)


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_a_refused_advice_is_not_asked_again_and_the_writing_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskengine.io import background

    asked: list[int] = []

    def refuse(descriptor: int, start: int, length: int, advice: int) -> None:
        asked.append(length)
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(background, "WRITE_BACK_BYTES", 4)
    monkeypatch.setattr(os, "posix_fadvise", refuse, raising=False)
    path = tmp_path / "out.bin"
    with path.open("wb") as file:
        stream = background.WrittenBack(file)
        for _ in range(3):
            stream.write(b"12345")
        stream.flush()
    assert path.read_bytes() == b"12345" * 3
    assert asked == [5]


def test_a_pipe_is_written_through_a_descriptor_of_its_own_without_advice() -> None:
    from riskengine.io.background import WritingBehind

    reading, writing = os.pipe()
    with os.fdopen(writing, "wb") as stream, os.fdopen(reading, "rb") as pipe:
        behind = WritingBehind(stream, "test-write")
        assert behind._target is not stream  # a pipe cannot tell its position, yet has its own
        behind.write(lambda target: target.write(b"scores\n"))
        behind.close(finished=True)
        stream.close()
        assert pipe.read() == b"scores\n"
