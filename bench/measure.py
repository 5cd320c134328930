"""Timing and memory helpers for the benchmarks (Linux: reads ``/proc``)."""

from __future__ import annotations

import gc
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MEBIBYTE = 1024 * 1024


def _status_kib(field_name: str, pid: int | str = "self") -> int | None:
    """A ``VmRSS``/``VmHWM`` field of ``/proc/<pid>/status`` in KiB (None if unreadable)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(f"{field_name}:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def current_mib() -> float:
    """This process's resident memory now."""
    return (_status_kib("VmRSS") or 0) / 1024


def peak_mib() -> float:
    """This process's peak resident memory since start or the last :func:`reset_peak`."""
    value = _status_kib("VmHWM")
    if value is None:
        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 1024


def reset_peak() -> bool:
    """Reset the peak-RSS mark (Linux ``clear_refs`` 5); False where the kernel refuses."""
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


@dataclass
class Timing:
    """Wall times of repeated runs of one function, and the process peak RSS during them."""

    seconds: list[float] = field(default_factory=list)
    peak_mib: float = 0.0
    start_mib: float = 0.0
    result: Any = None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def runs(self) -> int:
        return len(self.seconds)

    def describe(self) -> str:
        runs = ", ".join(f"{value:.2f}" for value in self.seconds)
        return f"median of {self.runs} ({runs} s)"


def repeat(function: Callable[[], Any], *, runs: int = 3, budget_seconds: float = 300.0) -> Timing:
    """Run ``function`` up to ``runs`` times (fewer when the next run would exceed the budget).

    The peak RSS is the process's high-water mark over all runs (absolute, so it includes
    whatever the process already held: see ``start_mib``).
    """
    timing = Timing()
    reset_peak()
    timing.start_mib = current_mib()
    spent = 0.0
    for _ in range(runs):
        started = time.perf_counter()
        timing.result = function()
        elapsed = time.perf_counter() - started
        timing.seconds.append(elapsed)
        spent += elapsed
        if spent + elapsed > budget_seconds:
            break
    timing.peak_mib = peak_mib()
    return timing


@dataclass
class ChildOutcome:
    """What a monitored child process did."""

    exit_code: int | None
    seconds: float
    peak_mib: float
    children_peak_mib: float
    stopped: str | None
    stdout: str
    stderr: str


#: How often a child is polled for its exit and memory: finely while a short run may end.
POLL_SECONDS_FIRST = 0.005
FIRST_SECONDS = 5.0
POLL_SECONDS_LATER = 0.05


def run_child(
    command: Sequence[str],
    *,
    log_directory: Path,
    name: str,
    timeout_seconds: float,
    memory_cap_mib: float,
    environment: dict[str, str] | None = None,
) -> ChildOutcome:
    """Run a command, watching its RSS; stop it past the time or memory cap.

    Its peak RSS is its own ``VmHWM``, polled while it runs (``wait4``'s figure only for a child
    gone before the first poll: it starts at the parent's), and is reported beside
    ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the largest child so far). Before stopping a
    child, SIGUSR1 asks it to dump its Python stack (children that register ``faulthandler``
    on SIGUSR1 do) so the report can say where it was.
    """
    log_directory.mkdir(parents=True, exist_ok=True)
    stdout_path = log_directory / f"{name}.stdout"
    stderr_path = log_directory / f"{name}.stderr"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment)
    started = time.perf_counter()
    stopped: str | None = None
    watched_peak_kib = 0
    status = 0
    usage = None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid == process.pid:
            break
        elapsed = time.perf_counter() - started
        rss_kib = _status_kib("VmRSS", process.pid) or 0
        watched_peak_kib = max(watched_peak_kib, _status_kib("VmHWM", process.pid) or rss_kib)
        reason = None
        if rss_kib / 1024 > memory_cap_mib:
            reason = f"RSS {rss_kib / 1024:,.0f} MiB passed the {memory_cap_mib:,.0f} MiB cap"
        elif elapsed > timeout_seconds:
            reason = f"still running after {timeout_seconds:,.0f} s"
        if reason is not None and stopped is None:
            stopped = f"{reason} at {elapsed:,.0f} s"
            os.kill(process.pid, signal.SIGUSR1)
            time.sleep(1.5)
            os.kill(process.pid, signal.SIGKILL)
        # The wall time is read at the first poll after the child exits: polls every 0.25 s
        # made every short run's time a multiple of 0.25 s (1.25 s for anything from 1.0).
        time.sleep(POLL_SECONDS_FIRST if elapsed < FIRST_SECONDS else POLL_SECONDS_LATER)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    # The child's own high-water mark, polled, when there is one: Linux starts a child's
    # ru_maxrss at its parent's (exec records the memory it replaces, the parent's under
    # vfork), so after an in-process step held 3.8 GB every later child "peaked" at 3.8 GB.
    # wait4's figure stands in only for a child gone before the first poll.
    own_peak_kib = watched_peak_kib or (usage.ru_maxrss if usage is not None else 0)
    peak = own_peak_kib / 1024
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return ChildOutcome(
        exit_code=process.returncode,
        seconds=seconds,
        peak_mib=peak,
        children_peak_mib=children_peak,
        stopped=stopped,
        stdout=stdout_path.read_text(errors="replace"),
        stderr=stderr_path.read_text(errors="replace"),
    )


def median_command_seconds(command: Sequence[str], runs: int = 5) -> tuple[float, list[float]]:
    """Median wall time of a short command (output discarded; it must exit 0)."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), seconds


def python_command(*arguments: str) -> list[str]:
    """This interpreter with arguments."""
    return [sys.executable, *arguments]
