"""The ``riskengine`` command line: each command parses its options into a request, calls one
application function, renders the outcome and maps errors to exit codes
(:mod:`riskengine.cli.runtime`). No logic of its own."""

from __future__ import annotations

import os
import signal

# Importing the command modules registers their commands on the applications.
from riskengine.cli import impact, jobs, models, reference, serve  # noqa: F401
from riskengine.cli.apps import app
from riskengine.cli.runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    end_finished_command,
)
from riskengine.config import start_as_command

#: jemalloc settings for polars (see :func:`main`).
ALLOCATOR_SETTINGS = "dirty_decay_ms:2000,muzzy_decay_ms:2000"

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "app",
    "command",
    "main",
]


def main() -> None:
    """Console-script entry point."""
    # OpenMP threads that spin while waiting slow scikit-learn down many times over on a busy
    # machine; the policy must be set before scikit-learn is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # polars' allocator (jemalloc) gives freed memory back to the system after 0.5-1 s, and
    # scoring a chunk of a large input takes longer: each chunk faulted all its memory in
    # again. Kept 2 s, it serves the next chunk (10M pairs: 4.0-4.6 million page faults
    # instead of 6.4-8.0 million, a third less system time, peak 1.66-1.73 GB against
    # 1.58-1.60 GB; bench/README). Read when polars is first imported; a user's own wins.
    os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
    start_as_command()
    try:
        app()
    except SystemExit as exit_:
        if exit_.code in (EXIT_INTERRUPTED, EXIT_TERMINATED):
            # Interrupted, cleaned up and on the way out through the interpreter's shutdown
            # (an interrupt a library turned into a plain KeyboardInterrupt ends this way): the
            # shutdown restores the default handlers, and one more signal of a burst would then
            # kill the process with a signal status instead of this exit code.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise


def command() -> None:
    """Console-script entry point (and ``python -m riskengine``): :func:`main`, ending the
    process at once when the command succeeded
    (:func:`~riskengine.cli.runtime.end_finished_command`)."""
    try:
        main()
    except SystemExit as exit_:
        if exit_.code in (0, None):
            end_finished_command()
        raise
