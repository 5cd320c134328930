"""Writing outputs: only regular files or standard output, symlinks written through, several
files all or nothing, no temporary file left by a signal, stale ones of killed runs removed.

The tests never write to a device: the refusal of ``/dev/null`` is checked on the decision
function alone (the code before this module replaced it with a regular file when run as root).
"""

from __future__ import annotations

import io
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import riskengine.io as rio
from riskengine import errors
from riskengine.errors import Interrupted, UserInputError
from riskengine.io import read_table, write_table, write_text, writing

FRAME = pl.DataFrame({"material": ["Dy2O3", "NdPr oxide"], "supplier": ["Acme", "Beta"]})
REPOSITORY = Path(__file__).resolve().parents[2]
RISKENGINE = (sys.executable, "-m", "riskengine")


def read_back(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


# -- where an output goes ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])
def test_standard_output_names_stream_to_standard_output(name: str) -> None:
    assert writing.resolve_output(name).is_stdout


def test_writing_to_dev_stdout_streams_the_table_to_standard_output(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    assert writing.resolve_output("/dev/stdout").is_stdout  # never the old replace-the-link path
    writing.write_table(FRAME, "/dev/stdout")
    assert capsysbinary.readouterr().out == b"material,supplier\nDy2O3,Acme\nNdPr oxide,Beta\n"
    assert Path("/dev/stdout").is_symlink() or not Path("/dev/stdout").is_file()


def test_a_device_is_refused_with_its_name() -> None:
    # The decision only: nothing is written, so /dev/null cannot be harmed.
    with pytest.raises(UserInputError, match=r"^/dev/null: is a character device, not a regular"):
        writing.resolve_output("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("name", ["/dev/stderr", "/dev/fd/2", "/proc/self/fd/0"])
def test_other_standard_streams_are_refused(name: str) -> None:
    with pytest.raises(UserInputError, match="only standard output"):
        writing.resolve_output(name)


def test_a_fifo_is_refused_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    with pytest.raises(UserInputError, match=r"out\.csv: is a named pipe \(FIFO\)"):
        writing.write_table(FRAME, str(fifo))
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.csv"]


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        with pytest.raises(UserInputError, match=r"out\.csv: is a socket"):
            writing.write_table(FRAME, str(path))
        assert stat.S_ISSOCK(os.stat(path).st_mode)


def test_a_symlink_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "scores.csv"
    target.write_text("old\n")
    link = tmp_path / "scores.csv"
    link.symlink_to(target)
    writing.write_table(FRAME, str(link))
    assert link.is_symlink() and link.resolve() == target
    assert read_back(target).equals(FRAME)
    # The temporary file went next to the target, and none is left anywhere.
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["real", "scores.csv", "scores.csv"]


def test_a_symlink_to_a_missing_file_creates_the_file_it_names(tmp_path: Path) -> None:
    link = tmp_path / "scores.csv"
    link.symlink_to(tmp_path / "new.csv")
    writing.write_table(FRAME, str(link))
    assert link.is_symlink() and read_back(tmp_path / "new.csv").equals(FRAME)


def test_a_symlink_loop_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    with pytest.raises(UserInputError, match=r"a\.csv: symlink loop"):
        writing.write_table(FRAME, str(tmp_path / "a.csv"))
    assert (tmp_path / "a.csv").is_symlink()


def test_a_compressed_output_name_is_refused_rather_than_written_plain(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="writes uncompressed files"):
        writing.write_table(FRAME, str(tmp_path / "scores.csv.gz"))
    assert not list(tmp_path.iterdir())


# -- several outputs: all or nothing -------------------------------------------------------------


def test_two_names_for_one_file_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "products.csv").write_text("previous\n")
    (tmp_path / "lines.csv").symlink_to(tmp_path / "products.csv")
    with pytest.raises(UserInputError, match="are the same output"):
        writing.write_tables(
            [
                (FRAME, str(tmp_path / "products.csv"), None),
                (FRAME, str(tmp_path / "lines.csv"), None),
            ]
        )
    assert (tmp_path / "products.csv").read_text() == "previous\n"


def test_a_bad_second_target_leaves_the_first_unwritten(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="output directory"):
        writing.write_tables(
            [(FRAME, str(tmp_path / "a.csv"), None), (FRAME, str(tmp_path / "no" / "b.csv"), None)]
        )
    assert not list(tmp_path.iterdir())


def test_a_failure_while_writing_the_second_file_keeps_both_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.csv", "b.csv"):
        (tmp_path / name).write_text(f"previous {name}\n")
    real = writing._serialise
    calls: list[str] = []

    def failing_second(frame: pl.DataFrame, kind: str, target: object) -> None:
        calls.append(kind)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        real(frame, kind, target)  # type: ignore[arg-type]

    monkeypatch.setattr(writing, "_serialise", failing_second)
    with pytest.raises(RuntimeError):
        writing.write_tables(
            [(FRAME, str(tmp_path / "a.csv"), None), (FRAME, str(tmp_path / "b.csv"), None)]
        )
    assert (tmp_path / "a.csv").read_text() == "previous a.csv\n"
    assert (tmp_path / "b.csv").read_text() == "previous b.csv\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_a_failed_rename_puts_back_the_files_already_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.csv").write_text("previous a\n")
    real_replace = os.replace
    renames: list[str] = []

    def failing_second_rename(source: str, destination: str | Path) -> None:
        renames.append(str(destination))
        if len(renames) == 2:
            raise OSError(28, "No space left on device")
        real_replace(source, destination)

    monkeypatch.setattr(writing.os, "replace", failing_second_rename)
    with pytest.raises(UserInputError, match="No space left"):
        writing.write_tables(
            [(FRAME, str(tmp_path / "a.csv"), None), (FRAME, str(tmp_path / "b.csv"), None)]
        )
    assert (tmp_path / "a.csv").read_text() == "previous a\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv"]


def test_all_files_are_written_when_nothing_fails(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("previous\n")
    writing.write_tables(
        [(FRAME, str(tmp_path / "a.csv"), None), (FRAME.head(1), str(tmp_path / "b.json"), None)]
    )
    assert read_back(tmp_path / "a.csv").equals(FRAME)
    assert pl.read_json(tmp_path / "b.json").equals(FRAME.head(1))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.csv", "b.json"]


# -- temporary files -----------------------------------------------------------------------------


def _dead_process_id() -> int:
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_stale_temporary_files_of_killed_runs_are_removed_by_the_next_write(
    tmp_path: Path,
) -> None:
    dead = _dead_process_id()
    an_hour_ago = time.time() - 3600
    stale = tmp_path / f".out.csv.{dead}.k3j2h1.tmp"
    recent = tmp_path / f".out.csv.{dead}.a1b2c3.tmp"  # its run may have just been killed
    alive = tmp_path / ".out.csv.1.d4e5f6.tmp"  # process 1 always exists
    other = tmp_path / f".other.csv.{dead}.g7h8i9.tmp"  # another output's: not ours
    for path in (stale, recent, alive, other):
        path.write_bytes(b"partial")
    for path in (stale, alive, other):
        os.utime(path, (an_hour_ago, an_hour_ago))
    writing.write_table(FRAME, str(tmp_path / "out.csv"))
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == [*sorted(path.name for path in (recent, alive, other)), "out.csv"]


def test_the_temporary_file_name_holds_the_process_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def looking(frame: pl.DataFrame, kind: str, target: object) -> None:
        seen.extend(path.name for path in tmp_path.iterdir())
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_serialise", looking)
    with pytest.raises(KeyboardInterrupt):
        writing.write_table(FRAME, str(tmp_path / "out.csv"))
    assert len(seen) == 1 and seen[0].startswith(f".out.csv.{os.getpid()}.")
    assert not list(tmp_path.iterdir())


def test_an_interrupt_lost_inside_a_library_stops_the_write_at_the_next_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A signal arrived and its exception was cleared by a C extension: only the record is left.
    monkeypatch.setattr(errors, "RECEIVED_SIGNALS", [])
    computed: list[int] = []

    def chunks() -> Iterator[pl.DataFrame]:
        for index in range(3):
            computed.append(index)
            if index == 1:
                errors.RECEIVED_SIGNALS.append(signal.SIGTERM)
            yield FRAME

    with pytest.raises(Interrupted) as raised:
        writing.write_table_chunks(chunks(), str(tmp_path / "out.csv"))

    assert raised.value.signal_number == signal.SIGTERM
    assert computed == [0, 1]
    assert list(tmp_path.iterdir()) == []


# -- real signals to a child process -------------------------------------------------------------


def _large_input(path: Path, rows: int = 60_000) -> None:
    lines = [f"Dy2O3,Supplier {index},CN" for index in range(rows)]
    path.write_text("material,supplier,supplier_country\n" + "\n".join(lines) + "\n")


def _start_writing(tmp_path: Path) -> subprocess.Popen[bytes]:
    """``riskengine features`` on a large input, in small chunks so the write takes seconds;
    returns once its temporary output file exists."""
    _large_input(tmp_path / "in.csv")
    environment = {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "RISKENGINE_HOME": str(tmp_path / "home"),
        "RISKENGINE_CHUNK_BYTES": "100000",
    }
    environment.pop("RISKENGINE_REFERENCE_DIR", None)
    child = subprocess.Popen(
        [*RISKENGINE, "features", "in.csv", "-o", "out.csv", "--as-of", "2026-03-01"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    while not list(tmp_path.glob(".out.csv.*.tmp")):
        if child.poll() is not None:
            raise AssertionError(f"finished before writing: {child.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.01)
    return child


def _outcome(child: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, error = child.communicate(timeout=120)
    return child.returncode, error.decode()


@pytest.mark.parametrize(
    ("signal_number", "exit_code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_while_writing_exits_128_plus_its_number_and_leaves_no_file(
    tmp_path: Path, signal_number: int, exit_code: int, said: str
) -> None:
    child = _start_writing(tmp_path)
    child.send_signal(signal_number)
    code, error = _outcome(child)
    assert code == exit_code, error
    assert said in error and "Traceback" not in error
    assert not (tmp_path / "out.csv").exists()
    assert not list(tmp_path.glob(".out.csv.*"))


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_more_signals_during_the_cleanup_do_not_cut_it_short(tmp_path: Path, second: int) -> None:
    child = _start_writing(tmp_path)
    child.send_signal(signal.SIGINT)
    # Keep signalling until the process is gone: some arrive while it removes its file.
    while child.poll() is None:
        child.send_signal(second)
        time.sleep(0.002)
    code, error = _outcome(child)
    assert code == 130, error
    assert "Traceback" not in error
    assert not list(tmp_path.glob(".out.csv.*"))


# -- atomic writes: content, permissions, failures, chunks ------------------------------------


def temp_files(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.glob(".*.tmp"))


ID_FRAME = pl.DataFrame({"supplier_id": ["0000100001", None], "country": ["NA", "CN"]})


@pytest.mark.parametrize("suffix", ["csv", "parquet", "json"])
def test_write_then_read_gives_the_frame_back(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"out.{suffix}"

    write_table(ID_FRAME, str(path))

    assert read_table(str(path)).equals(ID_FRAME)
    assert temp_files(tmp_path) == []


def test_write_csv_content(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"

    write_table(ID_FRAME, str(path))

    assert path.read_text(encoding="utf-8") == "supplier_id,country\n0000100001,NA\n,CN\n"


def test_replacing_an_existing_file_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old,content\n1,2\n", encoding="utf-8")

    write_table(ID_FRAME, str(path))

    assert path.read_text(encoding="utf-8").startswith("supplier_id,country\n")
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_missing_output_directory_is_a_user_error_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "out.csv"

    with pytest.raises(UserInputError, match="does not exist"):
        write_table(ID_FRAME, str(path))

    assert list(tmp_path.iterdir()) == []


def test_failed_serialisation_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.csv"
    path.write_text("previous,content\n", encoding="utf-8")

    def half_written(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"supplier_id,country\n00001")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(writing, "_serialise", half_written)

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_table(ID_FRAME, str(path))

    assert path.read_text(encoding="utf-8") == "previous,content\n"
    assert temp_files(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_failed_serialisation_of_a_new_file_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"PAR1")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(writing, "_serialise", half_written)

    with pytest.raises(RuntimeError):
        write_table(ID_FRAME, str(tmp_path / "out.parquet"))

    assert list(tmp_path.iterdir()) == []


def test_written_file_has_the_usual_permissions(tmp_path: Path) -> None:
    previous_umask = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        write_table(ID_FRAME, str(fresh))
        existing = tmp_path / "existing.csv"
        existing.write_text("old\n", encoding="utf-8")
        existing.chmod(0o644)
        write_table(ID_FRAME, str(existing))
    finally:
        os.umask(previous_umask)

    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644


def test_writing_onto_a_directory_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()

    with pytest.raises(UserInputError, match="is a directory"):
        write_table(ID_FRAME, str(tmp_path / "out.csv"))


def test_os_error_while_writing_is_a_user_error_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing, "_serialise", disk_full)

    with pytest.raises(UserInputError, match=r"out\.xlsx: cannot write: No space left on device"):
        write_table(ID_FRAME, str(tmp_path / "out.xlsx"))

    assert list(tmp_path.iterdir()) == []


def test_interrupt_while_writing_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(frame: pl.DataFrame, kind: str, target: io.BufferedIOBase) -> None:
        target.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_serialise", interrupted)

    with pytest.raises(KeyboardInterrupt):
        write_table(ID_FRAME, str(tmp_path / "out.csv"))

    assert list(tmp_path.iterdir()) == []


def test_write_text_is_atomic_and_utf8(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text("old", encoding="utf-8")

    write_text("<p>Łódź =1+1</p>", str(path))

    assert path.read_text(encoding="utf-8") == "<p>Łódź =1+1</p>"
    assert temp_files(tmp_path) == []


def test_write_text_to_a_missing_directory_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="does not exist"):
        write_text("x", str(tmp_path / "missing" / "report.html"))


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "parquet", "xlsx", "json"])
def test_writing_chunks_gives_the_table_written_whole(tmp_path: Path, kind: str) -> None:
    frame = pl.DataFrame({"name": ["=cmd", "plain", "-5", "@x"], "score": [0.1, None, 2.5, 1e-9]})
    whole, pieces = tmp_path / f"whole.{kind}", tmp_path / f"pieces.{kind}"
    write_table(frame, str(whole))
    written = rio.write_table_chunks(
        [frame.slice(0, 1), frame.slice(1, 0), frame.slice(1)], str(pieces)
    )
    assert written == frame.height
    if kind in ("csv", "tsv", "jsonl"):
        assert pieces.read_bytes() == whole.read_bytes()
    else:
        assert read_table(str(pieces)).equals(read_table(str(whole)))


def test_a_failing_chunk_leaves_no_output(tmp_path: Path) -> None:
    target = tmp_path / "scores.csv"
    target.write_text("previous run\n")

    def chunks():
        yield pl.DataFrame({"a": [1]})
        raise UserInputError("chunk 2 is bad")

    with pytest.raises(UserInputError, match="chunk 2"):
        rio.write_table_chunks(chunks(), str(target))
    assert target.read_text() == "previous run\n"
    assert [path.name for path in tmp_path.iterdir()] == ["scores.csv"]


def test_the_next_chunk_is_computed_while_the_one_before_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing overlaps the work on the next chunk (two cores), one chunk in flight at most."""
    import threading

    serialise = writing._serialise_chunk
    computing_next = threading.Event()
    overlapped: list[bool] = []
    written: list[int] = []

    def slow_serialise(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        if first:  # the first chunk's write waits until the next chunk is being computed
            overlapped.append(computing_next.wait(timeout=10))
        serialise(frame, kind, target, first, *rest)
        written.append(frame["n"].item())

    def chunks() -> Iterator[pl.DataFrame]:
        for number in range(4):
            if number == 1:
                computing_next.set()
            # At most one chunk is in flight: all but the last one yielded are written.
            assert len(written) >= number - 1
            yield pl.DataFrame({"n": [number]})

    monkeypatch.setattr(writing, "_serialise_chunk", slow_serialise)
    target = tmp_path / "out.csv"
    assert rio.write_table_chunks(chunks(), str(target)) == 4

    assert overlapped == [True]
    assert written == [0, 1, 2, 3]
    assert target.read_text() == "n\n0\n1\n2\n3\n"


def test_a_chunk_is_let_go_once_written_while_the_next_is_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory holds the chunk being written and the one being computed, no more: a written
    chunk is freed though the next one is still being computed."""
    import threading
    import weakref

    serialise = writing._serialise_chunk
    written = [threading.Event() for _ in range(4)]
    chunk_refs: list[weakref.ref[pl.DataFrame]] = []
    freed: list[bool] = []

    def serialise_and_tell(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        serialise(frame, kind, target, first, *rest)
        written[frame["n"].item()].set()

    def chunks() -> Iterator[pl.DataFrame]:
        for number in range(4):
            if number:  # computing this chunk while the one before is written
                assert written[number - 1].wait(timeout=10)
                deadline = time.monotonic() + 5
                while chunk_refs[-1]() is not None and time.monotonic() < deadline:
                    time.sleep(0.01)
                freed.append(chunk_refs[-1]() is None)
            frame = pl.DataFrame({"n": [number]})
            chunk_refs.append(weakref.ref(frame))
            yield frame
            del frame

    monkeypatch.setattr(writing, "_serialise_chunk", serialise_and_tell)
    assert rio.write_table_chunks(chunks(), str(tmp_path / "out.csv")) == 4
    assert freed == [True, True, True]


def test_a_write_that_fails_on_the_thread_is_reported_and_leaves_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[int] = []

    def disk_full(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        raise OSError(28, "No space left on device")

    def chunks() -> Iterator[pl.DataFrame]:
        for number in range(5):
            computed.append(number)
            yield pl.DataFrame({"n": [number]})

    monkeypatch.setattr(writing, "_serialise_chunk", disk_full)
    target = tmp_path / "out.csv"
    with pytest.raises(UserInputError, match=r"out\.csv: cannot write: No space left"):
        rio.write_table_chunks(chunks(), str(target))
    assert computed == [0, 1]  # stopped at the next chunk, not at the end
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_write_goes_on_to_its_own_file_and_never_to_one_opened_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt does not wait for the chunk being written; that write, through the
    descriptor it began with, must not land in a file opened later under the same number."""
    import threading

    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def stalled_write(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        try:
            descriptor = target.fileno()  # as a writer going by the descriptor does
            started.set()
            release.wait(timeout=10)
            os.write(descriptor, b"late bytes\n")
        finally:
            finished.set()

    def chunks() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame({"n": [0]})
        assert started.wait(timeout=10)
        raise KeyboardInterrupt

    monkeypatch.setattr(writing, "_serialise_chunk", stalled_write)
    with pytest.raises(KeyboardInterrupt) as kept:  # kept, as a shell keeps the last error
        rio.write_table_chunks(chunks(), str(tmp_path / "out.csv"))
    assert not finished.is_set()  # the interrupt did not wait for the write
    assert list(tmp_path.iterdir()) == []

    opened_after = tmp_path / "opened-after.txt"
    with opened_after.open("wb") as other:
        other.flush()
        release.set()
        assert finished.wait(timeout=10)
    assert opened_after.read_bytes() == b""
    assert list(tmp_path.iterdir()) == [opened_after]
    # Once that write ends, the thread closes its descriptor: the removed file's space is let
    # go even while the exception (and the frame that opened the descriptor) is kept.
    if Path("/proc/self/fd").is_dir():
        deadline = time.monotonic() + 10
        while _open_files_named(".out.csv.") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _open_files_named(".out.csv.") == []
    assert kept.traceback  # held to here


def _open_files_named(part: str) -> list[str]:
    found = []
    for link in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(link)
        except OSError:
            continue
        if part in target:
            found.append(target)
    return found


def test_the_writes_own_error_is_told_when_the_next_chunk_fails_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filled up writing chunk 1 before chunk 2 turned out bad: as when writing in
    turn, the full disk is what the user hears, and nothing is left."""

    def disk_full(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        raise OSError(28, "No space left on device")

    def chunks() -> Iterator[pl.DataFrame]:
        yield pl.DataFrame({"n": [0]})
        raise UserInputError("list.csv, line 9: 3 fields, the header has 4")

    monkeypatch.setattr(writing, "_serialise_chunk", disk_full)
    with pytest.raises(UserInputError, match="No space left"):
        rio.write_table_chunks(chunks(), str(tmp_path / "out.csv"))
    assert list(tmp_path.iterdir()) == []


def test_a_last_write_that_fails_lets_go_of_the_removed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up on the last chunk: the user hears it, nothing is left, and no
    descriptor holds the removed file's space while the error is kept."""
    serialise = writing._serialise_chunk

    def full_on_the_last(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        if frame["n"].item() == 2:
            raise OSError(28, "No space left on device")
        serialise(frame, kind, target, first, *rest)

    monkeypatch.setattr(writing, "_serialise_chunk", full_on_the_last)
    chunks = [pl.DataFrame({"n": [number]}) for number in range(3)]
    with pytest.raises(UserInputError, match="No space left") as kept:
        rio.write_table_chunks(chunks, str(tmp_path / "out.csv"))
    assert list(tmp_path.iterdir()) == []
    if Path("/proc/self/fd").is_dir():
        assert _open_files_named(".out.csv.") == []
    assert kept.traceback  # held to here


def test_an_interrupt_while_the_last_write_is_waited_for_lets_go_of_the_removed_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    serialise = writing._serialise_chunk
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def stalled_last(frame: pl.DataFrame, kind: str, target, first: bool, *rest: Any) -> None:
        try:
            if frame["n"].item() == 2:
                started.set()
                release.wait(timeout=10)
            serialise(frame, kind, target, first, *rest)
        finally:
            finished.set()

    def interrupt_once_stalled() -> None:
        # Ctrl-C while the main thread waits for the last write. Here the signal is raised
        # only as that wait returns (a bare Event.wait breaks at once; why this one does not
        # is not known), so the write is let go soon after.
        if started.wait(timeout=10):
            time.sleep(0.2)  # the main thread is waiting by now
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.3)
            release.set()

    monkeypatch.setattr(writing, "_serialise_chunk", stalled_last)
    threading.Thread(target=interrupt_once_stalled).start()
    chunks = [pl.DataFrame({"n": [number]}) for number in range(3)]
    with pytest.raises(KeyboardInterrupt) as kept:
        rio.write_table_chunks(chunks, str(tmp_path / "out.csv"))
    release.set()
    assert finished.wait(timeout=10)
    if Path("/proc/self/fd").is_dir():
        deadline = time.monotonic() + 10
        while _open_files_named(".out.csv.") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _open_files_named(".out.csv.") == []
    assert list(tmp_path.iterdir()) == []
    assert kept.traceback  # held to here


def test_without_a_descriptor_to_spare_chunks_are_written_through_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import threading

    def no_descriptor_left(descriptor: int) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(writing.os, "dup", no_descriptor_left)
    target = tmp_path / "out.csv"
    frame = pl.DataFrame({"n": [1, 2]})
    assert rio.write_table_chunks([frame.slice(0, 1), frame.slice(1)], str(target)) == 2
    assert target.read_text() == "n\n1\n2\n"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        thread.name == "riskengine-write" for thread in threading.enumerate()
    ):
        time.sleep(0.01)
    assert not any(thread.name == "riskengine-write" for thread in threading.enumerate())


def test_a_temporary_whose_cleanup_was_cut_short_is_removed_when_the_process_exits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # However an interrupt unwinds (a finaliser, a library callback), the exit handlers the CLI
    # runs before exiting on a signal remove this process's own temporaries.
    monkeypatch.setattr(writing, "_remove_temporary", lambda temporary: None)

    def interrupted(stream: object) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        writing._write_atomically(str(tmp_path / "out.csv"), interrupted)
    assert list(tmp_path.glob(".out.csv.*.tmp"))

    writing._remove_pending_temporaries()

    assert not list(tmp_path.glob(".out.csv.*"))
    assert not (tmp_path / "out.csv").exists()
