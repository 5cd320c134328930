"""The command line through typer's runner: exit codes, messages, no partial outputs."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from riskengine import errors
from riskengine.cli import EXIT_USAGE, app
from riskengine.cli.runtime import signals_handled
from riskengine.reference.loader import load_reference, shipped_reference_dir

AS_OF = "2026-03-01"


pytestmark = pytest.mark.usefixtures("isolated_command")


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def assert_user_error(result: Result) -> None:
    assert result.exit_code == EXIT_USAGE, result.output
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_help_lists_the_commands() -> None:
    result = invoke("--help")

    assert result.exit_code == 0, result.output
    for command in ("score", "features", "train", "reference"):
        assert command in result.stdout


def test_reference_check_prints_the_fingerprint() -> None:
    result = invoke("reference", "check")

    assert result.exit_code == 0, result.output
    assert f"fingerprint {load_reference().fingerprint}" in result.stdout
    assert "policy_events.csv" in result.stdout


def test_reference_check_on_a_bad_copy_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad_reference"
    shutil.copytree(shipped_reference_dir(), bad)
    path = bad / "policy_events.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("effective")] = "2010-21-09"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)

    result = invoke("reference", "check", "--reference-dir", str(bad))

    assert_user_error(result)
    assert "policy_events.csv:2:" in result.stderr
    assert "column effective" in result.stderr
    assert "2010-21-09" in result.stderr


def test_reference_check_on_a_missing_directory(tmp_path: Path) -> None:
    result = invoke("reference", "check", "--reference-dir", str(tmp_path / "nowhere"))

    assert_user_error(result)
    assert "nowhere" in result.stderr


def test_score_a_missing_input_names_it_and_writes_nothing(tmp_path: Path) -> None:
    result = invoke("score", "missing.csv", "-o", "out.csv", "--as-of", AS_OF)

    assert_user_error(result)
    assert "missing.csv" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_score_an_input_without_supplier_country_names_the_column(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("material,supplier\nDy2O3,Acme\n", encoding="utf-8")

    result = invoke("score", "in.csv", "-o", "out.csv", "--as-of", AS_OF)

    assert_user_error(result)
    assert "supplier_country" in result.stderr
    assert "in.csv" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]


def test_score_a_non_utf8_input_names_the_line(tmp_path: Path) -> None:
    # Shift-JIS is neither UTF-8 nor a Western single-byte code page the reader may guess.
    (tmp_path / "in.csv").write_bytes(
        b"material,supplier,supplier_country\nDy2O3,Acme,CN\nNdPr oxide,"
        + "東京製作所".encode("shift_jis")
        + b",JP\n"
    )

    result = invoke("score", "in.csv", "-o", "out.csv", "--as-of", AS_OF)

    assert_user_error(result)
    assert "in.csv" in result.stderr
    assert "line 3" in result.stderr
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize("command", ["score", "features"])
def test_an_impossible_as_of_date_is_a_usage_error(tmp_path: Path, command: str) -> None:
    (tmp_path / "in.csv").write_text(
        "material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8"
    )

    result = invoke(command, "in.csv", "-o", "out.csv", "--as-of", "2026-13-45")

    assert_user_error(result)
    assert "2026-13-45" in result.stderr
    assert "--as-of" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_as_of_today_is_todays_date(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(
        "material,supplier,supplier_country\nDy2O3,Acme,CN\n", encoding="utf-8"
    )

    result = invoke("features", "in.csv", "-o", "out.csv", "--as-of", "Today")

    assert result.exit_code == 0, result.output
    written = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert written["as_of"].to_list() == [date.today().isoformat()]


def test_features_writes_one_row_per_input_row_in_order(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text(
        "material,supplier,supplier_country,supplier_id\n"
        "Dy2O3,Baotou Example Co.,CN,0000100001\n"
        "NdPr oxide,Kuantan Example Sdn Bhd,MY,0000100002\n"
        "unobtainium,Example Metals Ltd,CN,0000100003\n",
        encoding="utf-8",
    )

    result = invoke("features", "in.csv", "-o", "out.csv", "--as-of", AS_OF)

    assert result.exit_code == 0, result.output
    assert "3 rows" in result.stderr
    output = pl.read_csv(tmp_path / "out.csv", infer_schema=False)
    assert output.columns[:4] == ["material", "supplier", "supplier_country", "supplier_id"]
    assert output["material"].to_list() == ["Dy2O3", "NdPr oxide", "unobtainium"]
    assert output["supplier_id"].to_list() == ["0000100001", "0000100002", "0000100003"]
    assert output["status"].to_list() == ["scored", "scored", "rejected"]
    assert output["reason"][0] is None
    assert output["reason"][1] is None
    assert "unobtainium" in output["reason"][2]
    assert output["as_of"].to_list() == [AS_OF] * 3
    for feature in ("material_hhi", "export_control_severity", "buyer_listed"):
        assert feature in output.columns
        assert output[feature][2] is None  # a rejected row has no features
        assert output[feature][0] is not None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_heavy_modules_stay_off_the_cli_start_up_path() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import riskengine.cli, sys; "
            "print(sorted(m for m in ('mlflow','sklearn','starlette','uvicorn','pyspark') "
            "if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_report_leaves_the_browser_check_to_the_development_tool() -> None:
    help_text = invoke("report", "--help")
    refused = invoke("report", "scores.csv", "-o", "report.html", "--screenshot", "report.png")

    assert help_text.exit_code == 0, help_text.output
    assert "tools.report_check" in help_text.stdout
    assert refused.exit_code != 0
    assert "No such option" in refused.output


def _features_command(output: str) -> list[str]:
    riskengine = [sys.executable, "-m", "riskengine"]
    return [*riskengine, "features", "in.csv", "-o", output, "--as-of", AS_OF]


def _child_environment() -> dict[str, str]:
    """This checkout's package first, whatever is installed."""
    import os

    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_a_reader_that_goes_away_ends_the_run_quietly_with_141(tmp_path: Path) -> None:
    """`riskengine ... -o - | head -c0`: exit 128 + SIGPIPE as other tools do, no traceback."""
    (tmp_path / "in.csv").write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n")
    child = subprocess.Popen(
        _features_command("-"),
        cwd=tmp_path,
        env=_child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.close()  # the reader is gone before the first byte
    _, error = child.communicate(timeout=120)
    assert child.returncode == 141, error
    assert b"Traceback" not in error and b"internal error" not in error


def test_a_closed_standard_output_is_a_usage_error(tmp_path: Path) -> None:
    """`riskengine ... -o - >&-` was exit 1 on a NoneType; it is a usage error naming it."""
    (tmp_path / "in.csv").write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n")
    closed = subprocess.run(
        " ".join(_features_command("-")) + " >&-",
        shell=True,
        cwd=tmp_path,
        env=_child_environment(),
        stderr=subprocess.PIPE,
        check=False,
    )
    assert closed.returncode == EXIT_USAGE, closed.stderr
    assert b"standard output is closed" in closed.stderr


def test_dev_stdout_streams_to_standard_output_like_a_dash(tmp_path: Path) -> None:
    # A rejected row has no feature values, whose last digits may vary between runs (issue 14).
    (tmp_path / "in.csv").write_text("material,supplier,supplier_country\nunobtainium,Acme,CN\n")
    outputs = [
        subprocess.run(
            _features_command(name),
            cwd=tmp_path,
            env=_child_environment(),
            capture_output=True,
            check=False,
        )
        for name in ("-", "/dev/stdout")
    ]
    assert [output.returncode for output in outputs] == [0, 0], outputs[1].stderr
    assert outputs[1].stdout == outputs[0].stdout
    assert outputs[0].stdout.startswith(b"material,supplier")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv"]


def test_a_fifo_output_is_refused_naming_it(tmp_path: Path) -> None:
    import os

    (tmp_path / "in.csv").write_text("material,supplier,supplier_country\nDy2O3,Acme,CN\n")
    os.mkfifo(tmp_path / "out.csv")
    result = invoke("features", "in.csv", "-o", "out.csv", "--as-of", AS_OF)
    assert_user_error(result)
    assert "out.csv: is a named pipe (FIFO), not a regular file" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_a_signal_is_told_to_the_chunk_loops_for_its_own_command_only() -> None:
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    try:
        with pytest.raises(errors.Interrupted), signals_handled():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
        # The interrupted command is over: a later one in this process reads on. (Checked
        # before the call: a stale record would raise a KeyboardInterrupt and end the session.)
        assert errors.RECEIVED_SIGNALS == []
        errors.raise_if_interrupted()
    finally:
        # After a signal the handlers stay installed for the way out; this process goes on.
        for number, handler in handlers.items():
            signal.signal(number, handler)
        sys.unraisablehook = hook


def _run_program(
    program: str, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``program`` run by this interpreter in a child process, this checkout's package first
    (or in ``environment``), its output captured."""
    return subprocess.run(
        [sys.executable, "-c", program],
        env=environment if environment is not None else _child_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


_BRIDGING_PROGRAM = """
import threading
import polars as pl
from riskengine.cli.runtime import run_command

callers = []
original = pl.Series.to_numpy

def recorded(self, *arguments, **options):
    converted = original(self, *arguments, **options)
    callers.append(threading.current_thread().name)
    return converted

pl.Series.to_numpy = recorded

def action():
    for thread in threading.enumerate():
        if thread.name == "riskengine-numpy":
            thread.join()
    pl.Series([1]).to_numpy()

run_command(action)
print(callers[0])
"""


def test_polars_bridge_to_numpy_is_made_off_the_main_thread() -> None:
    """polars makes the bridge at its first ``to_numpy`` by calling Python from Rust; an
    interrupt raised there (on the main thread) made it panic, and the run exited 1 with a
    Rust backtrace (a flaky signal test in tests/io/test_writing.py)."""
    finished = _run_program(_BRIDGING_PROGRAM)

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "riskengine-numpy"


_FAILING_FAST_PROGRAM = """
import sys
import polars as pl
import typer
from riskengine.cli.runtime import run_command
from riskengine.errors import UserInputError

def action():
    raise UserInputError("refused at once")

try:
    run_command(action)
except typer.Exit as exit:
    sys.exit(exit.exit_code)
"""


def test_a_command_refused_at_once_exits_2_while_the_bridge_to_numpy_is_being_made() -> None:
    """The interpreter's shutdown ended a daemon bridge thread in the middle of polars' Rust
    code, and the process aborted (exit 134; this test failed 3 runs of 3 with a daemon
    thread)."""
    finished = _run_program(_FAILING_FAST_PROGRAM)

    assert finished.returncode == EXIT_USAGE, finished.stderr
    assert finished.stderr.strip() == "error: refused at once"


_PANICKING_PROGRAM = """
import os, signal, threading, time
import numpy.lib
import polars as pl
from riskengine.cli import runtime

def interrupted_here(*arguments, **options):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)  # the handler raises here, in Python that polars' Rust code called

numpy.lib.NumpyVersion = interrupted_here  # read as polars makes its bridge to numpy
runtime._numpy_bridge = threading.Thread()  # as if started: the main thread makes the bridge

runtime.run_command(lambda: pl.Series([0]).to_numpy())
"""


def test_a_library_that_panics_on_an_interrupt_exits_with_the_signal_s_code() -> None:
    """Should the main thread still make polars' bridge to numpy and be interrupted there,
    polars panics (pyo3's PanicException, a BaseException, and the panic's text on stderr):
    the run exits 143 as for any SIGTERM, not 1."""
    finished = _run_program(_PANICKING_PROGRAM)

    assert finished.returncode == 143, finished.stderr
    assert "PanicException" in finished.stderr or "panicked" in finished.stderr
    assert "terminated" in finished.stderr


def _buffered_child_environment() -> dict[str, str]:
    """:func:`_child_environment` with standard output buffered, as it is by default."""
    environment = _child_environment()
    environment.pop("PYTHONUNBUFFERED", None)
    return environment


_FINISHING_PROGRAM = """
import atexit, sys, threading, time
from riskengine.cli.runtime import end_finished_command

class TornDown:
    def __del__(self):
        print("torn down", flush=True)

kept = TornDown()
atexit.register(lambda: print("exit handler ran"))
threading.Thread(target=lambda: (time.sleep(0.3), print("thread done"))).start()
sys.stdout.write("buffered " * {repeat})
end_finished_command()
print("not reached")
"""


def test_a_finished_command_ends_without_the_teardown_but_with_what_it_would_show() -> None:
    """The threads are waited for, exit handlers run and buffered output is written; only the
    freeing of every object (a module global's finaliser here) is skipped."""
    finished = _run_program(
        _FINISHING_PROGRAM.format(repeat=3), environment=_buffered_child_environment()
    )

    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split("\n") == [
        "buffered buffered buffered thread done",
        "exit handler ran",
        "",
    ]
    assert finished.stderr == ""


def test_a_finished_command_whose_reader_has_gone_exits_141() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _FINISHING_PROGRAM.format(repeat=100)],
        env=_buffered_child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.close()
    _, error = child.communicate(timeout=60)

    assert child.returncode == 141, error
    assert b"Traceback" not in error


def test_the_module_entry_point_still_exits_2_on_bad_input(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "riskengine", "score", "missing.csv", "-o", "out.csv"],
        cwd=tmp_path,
        env=_child_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert completed.returncode == EXIT_USAGE, completed.stderr
    assert "Traceback" not in completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []


_ALLOCATOR_PROGRAM = """
import os, sys
from riskengine import cli
assert "polars" not in sys.modules
sys.argv = ["riskengine", "--help"]
try:
    cli.main()
except SystemExit:
    pass
print(os.environ.get("_RJEM_MALLOC_CONF"), "polars" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("own", [None, "dirty_decay_ms:0"])
def test_the_allocator_settings_are_in_place_before_polars_loads(own: str | None) -> None:
    environment = _child_environment()
    environment.pop("_RJEM_MALLOC_CONF", None)
    if own is not None:
        environment["_RJEM_MALLOC_CONF"] = own
    child = subprocess.run(
        [sys.executable, "-c", _ALLOCATOR_PROGRAM],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert child.returncode == 0, child.stderr
    expected = own if own is not None else "dirty_decay_ms:2000,muzzy_decay_ms:2000"
    assert child.stderr.splitlines()[-1] == f"{expected} False"
