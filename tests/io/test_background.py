"""The serial daemon thread that reads chunks ahead and writes them behind."""

from __future__ import annotations

import gc
import threading
import weakref

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
