"""Reading inputs: text cells (only empty cells are null), regular files and standard input
only, a size cap, gzip and zstd read transparently (by their magic bytes), messages that say
what a file really is, and random bytes giving a frame or a clean error."""

from __future__ import annotations

import gzip
import io
import os
import threading
from pathlib import Path

import polars as pl
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskengine.errors import InputFileError, UserInputError
from riskengine.io import ChunkedTable, read_table, write_table
from riskengine.io import sources as input_sources

CSV = b"material,supplier,supplier_country\nDy2O3,Acme,CN\nNdPr oxide,Beta,VN\n"
PLAIN = pl.DataFrame(
    {
        "material": ["Dy2O3", "NdPr oxide"],
        "supplier": ["Acme", "Beta"],
        "supplier_country": ["CN", "VN"],
    }
)


@pytest.fixture(autouse=True)
def default_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(input_sources.MAX_INPUT_BYTES_ENV, raising=False)


# -- compressed inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "compress"),
    [
        ("sourcing.csv.gz", gzip.compress),
        ("sourcing.csv.zst", lambda data: zstandard.ZstdCompressor().compress(data)),
        # Recognised by the magic bytes, not the name.
        ("sourcing.csv", gzip.compress),
        ("sourcing.tsv", lambda data: zstandard.ZstdCompressor().compress(data)),
    ],
)
def test_gzip_and_zstd_inputs_read_like_the_plain_file(
    tmp_path: Path, name: str, compress: object
) -> None:
    data = CSV.replace(b",", b"\t") if name.endswith(".tsv") else CSV
    path = tmp_path / name
    path.write_bytes(compress(data))  # type: ignore[operator]
    assert read_table(str(path)).equals(PLAIN)
    assert pl.concat(list(ChunkedTable(str(path), chunk_bytes=8))).equals(PLAIN)


def test_a_large_compressed_file_is_read_whole_rather_than_streamed(tmp_path: Path) -> None:
    path = tmp_path / "sourcing.csv.gz"
    path.write_bytes(gzip.compress(CSV))
    # Smaller chunks than the file would stream a plain CSV; compressed bytes cannot be.
    assert pl.concat(list(ChunkedTable(str(path), chunk_bytes=1))).equals(PLAIN)


def test_a_truncated_gzip_file_is_named_and_not_sent_to_encoding(tmp_path: Path) -> None:
    path = tmp_path / "sourcing.csv.gz"
    path.write_bytes(gzip.compress(CSV)[:20])
    with pytest.raises(
        InputFileError, match="is gzip-compressed but cannot be decompressed"
    ) as error:
        read_table(str(path))
    assert "--encoding" not in str(error.value)


@pytest.mark.parametrize(
    ("head", "said"),
    [
        (b"BZh91AY&SY", "bzip2-compressed"),
        (b"\xfd7zXZ\x00\x00", "xz-compressed"),
        (b"%PDF-1.7\n", "PDF document"),
        (b"PAR1\x15\x04", "Parquet file"),
    ],
)
def test_other_binary_files_are_named_instead_of_asking_for_an_encoding(
    tmp_path: Path, head: bytes, said: str
) -> None:
    path = tmp_path / "sourcing.csv"
    path.write_bytes(head + bytes(range(256)))
    with pytest.raises(InputFileError, match=said) as error:
        read_table(str(path))
    assert "--encoding" not in str(error.value)


# -- what may be read -----------------------------------------------------------------------------


def test_dev_zero_is_refused_before_reading_a_byte() -> None:
    # Only the new check is called: the code before it read /dev/zero until memory ran out.
    with pytest.raises(InputFileError, match=r"^/dev/zero: is not a regular file"):
        input_sources.check_input_file("/dev/zero", "/dev/zero")


def test_a_fifo_is_refused_rather_than_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "sourcing.csv"
    os.mkfifo(fifo)

    def feed() -> None:  # so the code before the check did not wait for ever
        with open(fifo, "wb") as writer:
            writer.write(CSV)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        with pytest.raises(InputFileError, match=r"sourcing\.csv: is not a regular file"):
            read_table(str(fifo))
    finally:
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # releases the feeder
        feeder.join(timeout=10)
        os.close(reader)


def test_standard_input_that_is_a_pipe_is_read() -> None:
    assert input_sources.read_input_bytes("-", "<stdin>", stdin=io.BytesIO(CSV)) == CSV


def test_a_symlink_loop_is_named_as_one(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    with pytest.raises(InputFileError, match=r"a\.csv: symlink loop"):
        read_table(str(tmp_path / "a.csv"))


def test_a_symlink_to_a_missing_file_names_where_it_points(tmp_path: Path) -> None:
    (tmp_path / "a.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(InputFileError, match=r"a\.csv: is a symlink to .*gone\.csv, which does"):
        read_table(str(tmp_path / "a.csv"))


# -- the size cap ---------------------------------------------------------------------------------


def test_a_file_over_the_cap_is_refused_with_the_setting_to_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sourcing.csv"
    path.write_bytes(CSV)
    monkeypatch.setenv(input_sources.MAX_INPUT_BYTES_ENV, "20")
    with pytest.raises(InputFileError, match=r"larger than the input limit of 20 bytes; raise R"):
        read_table(str(path))
    with pytest.raises(InputFileError, match="larger than the input limit"):
        list(ChunkedTable(str(path), chunk_bytes=8))


def test_the_cap_applies_to_decompressed_bytes_and_to_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = gzip.compress(CSV + b"Dy2O3,Acme,CN\n" * 1000)
    path = tmp_path / "sourcing.csv.gz"
    path.write_bytes(bomb)
    monkeypatch.setenv(input_sources.MAX_INPUT_BYTES_ENV, str(len(bomb) + 1))
    with pytest.raises(InputFileError, match="larger than the input limit"):
        read_table(str(path))
    with pytest.raises(InputFileError, match=r"<stdin>: is larger than the input limit"):
        input_sources.read_input_bytes("-", "<stdin>", stdin=io.BytesIO(CSV * 1000))


def test_a_cap_that_is_not_a_number_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(input_sources.MAX_INPUT_BYTES_ENV, "lots")
    with pytest.raises(Exception, match="RISKENGINE_MAX_INPUT_BYTES='lots'"):
        input_sources.max_input_bytes()


# -- Parquet ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "column",
    [
        pl.Series("tags", [["a"], ["b"]]),
        pl.Series("address", [{"city": "Tokyo"}, {"city": "Osaka"}]),
        pl.Series("blob", [b"\x00", b"\x01"]),
    ],
)
def test_parquet_columns_of_lists_structs_or_bytes_are_named(
    tmp_path: Path, column: pl.Series
) -> None:
    path = tmp_path / "sourcing.parquet"
    PLAIN.with_columns(column).write_parquet(path)
    with pytest.raises(InputFileError, match=rf"sourcing\.parquet: column '{column.name}' holds"):
        read_table(str(path))


# -- reading whole: text cells, formats, missing and odd files ------------------------------


def write_bytes(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


def test_csv_cells_are_text_and_only_empty_cells_are_null(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path,
        "sourcing.csv",
        b"supplier_id,supplier_country,share\n0000100001,NA,0.5\n0000100002,,1\n",
    )

    frame = read_table(str(path))

    assert frame.schema == pl.Schema(
        {"supplier_id": pl.String, "supplier_country": pl.String, "share": pl.String}
    )
    assert frame["supplier_id"].to_list() == ["0000100001", "0000100002"]
    assert frame["supplier_country"].to_list() == ["NA", None]
    assert frame["share"].to_list() == ["0.5", "1"]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    assert str(path) in str(caught.value)


def test_directory_names_the_path(tmp_path: Path) -> None:
    directory = tmp_path / "looks_like.csv"
    directory.mkdir()

    with pytest.raises(InputFileError) as caught:
        read_table(str(directory))

    assert str(directory) in str(caught.value)


def test_empty_file_names_the_path(tmp_path: Path) -> None:
    path = write_bytes(tmp_path, "empty.csv", b"")

    with pytest.raises(InputFileError) as caught:
        read_table(str(path))

    assert str(path) in str(caught.value)


def test_parquet_round_trip(tmp_path: Path) -> None:
    frame = pl.DataFrame({"supplier_id": ["0001", None], "country": ["NA", "CN"]})
    path = tmp_path / "pairs.parquet"

    write_table(frame, str(path))

    assert read_table(str(path)).equals(frame)


def test_json_is_read_as_text(tmp_path: Path) -> None:
    path = write_bytes(
        tmp_path,
        "pairs.json",
        b'[{"supplier_id": "0007", "share": 0.5}, {"supplier_id": null, "share": 1}]',
    )

    frame = read_table(str(path))

    assert frame.columns == ["supplier_id", "share"]
    assert frame.schema["share"] == pl.String
    assert frame["supplier_id"].to_list() == ["0007", None]
    assert frame["share"][0] == "0.5"


READABLE_FORMATS = ["csv", "tsv", "json", "jsonl", "xlsx", "parquet"]


@pytest.mark.few_examples(60)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=1, max_size=400), kind=st.sampled_from(READABLE_FORMATS))
def test_random_bytes_give_a_frame_or_a_clean_error(tmp_path: Path, data: bytes, kind: str) -> None:
    path = write_bytes(tmp_path, f"random.{kind}", data)

    try:
        frame = read_table(str(path))
    except UserInputError as error:
        assert str(error)
    else:
        assert isinstance(frame, pl.DataFrame)


@pytest.mark.few_examples(40)
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(min_size=1, max_size=400).map(lambda tail: b"a,b\n" + tail))
def test_random_bytes_after_a_header_give_a_frame_or_a_clean_error(
    tmp_path: Path, data: bytes
) -> None:
    path = write_bytes(tmp_path, "random.csv", data)

    try:
        frame = read_table(str(path))
    except UserInputError as error:
        assert str(error)
    else:
        assert isinstance(frame, pl.DataFrame)


def test_standard_input_read_from_a_pipe_in_pieces_comes_whole() -> None:
    """A pipe is waited on in short steps; what comes in pieces, with pauses between, is read
    whole and in order."""
    reading, writing = os.pipe()
    pieces = [b"material,supplier\nNdPr oxide,", b"Acme\n" * 50_000, b"Tb,B\n"]

    def feed() -> None:
        with os.fdopen(writing, "wb") as stream:
            for index, piece in enumerate(pieces):
                if index:
                    # Longer than one wait for data.
                    threading.Event().wait(input_sources._PIPE_WAIT_SECONDS + 0.05)
                stream.write(piece)
                stream.flush()

    feeder = threading.Thread(target=feed)
    feeder.start()
    with os.fdopen(reading, "rb") as source:
        assert input_sources.read_input_bytes("-", "<stdin>", stdin=source) == b"".join(pieces)
    feeder.join()


@pytest.mark.skipif(not Path("/proc/self/wchan").exists(), reason="needs Linux's /proc")
def test_an_interrupt_ends_a_command_waiting_on_a_stalled_pipe(tmp_path: Path) -> None:
    """Ctrl-C while standard input gives nothing more: the kernel may hand the signal to another
    thread of the process (the progress display's), and a read blocked on the pipe kept the
    run waiting until the pipe closed."""
    import signal
    import subprocess
    import sys
    import time

    repository = Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "PYTHONPATH": str(repository),
        "RISKENGINE_HOME": str(tmp_path / "home"),
    }
    environment.pop("RISKENGINE_REFERENCE_DIR", None)
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riskengine",
            "features",
            "-",
            "-o",
            "out.csv",
            "--as-of",
            "2026-03-01",
        ],
        cwd=tmp_path,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stdin is not None
    try:
        child.stdin.write(b"material,supplier,supplier_country\n")
        child.stdin.flush()
        # Until the command sleeps in the kernel waiting for more of the pipe.
        wchan = Path(f"/proc/{child.pid}/wchan")
        deadline = time.monotonic() + 60
        while not any(word in wchan.read_text() for word in ("pipe", "poll", "select")):
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        child.wait(timeout=10)  # with the pipe still open
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdin.close()
    assert child.stderr is not None
    error = child.stderr.read().decode()
    assert child.returncode == 130, error
    assert "interrupted" in error
