"""How every command runs: exit codes, messages on stderr, and interrupts.

0 done, 2 bad usage or unusable input, 1 internal error, 128 + the signal number when
interrupted (130 for SIGINT, 143 for SIGTERM, 141 when standard output's reader has gone).
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import typer

from riskengine import errors
from riskengine.errors import (
    Interrupted,
    ModelIntegrityError,
    ModelNotFoundError,
    UserInputError,
)

EXIT_INTERNAL = 1
EXIT_USAGE = 2
#: The shell's convention for a process ended by a signal: 128 + the signal number.
EXIT_SIGNAL_BASE = 128
EXIT_INTERRUPTED = EXIT_SIGNAL_BASE + signal.SIGINT
EXIT_TERMINATED = EXIT_SIGNAL_BASE + signal.SIGTERM
EXIT_BROKEN_PIPE = EXIT_SIGNAL_BASE + 13  # SIGPIPE, as `yes | head` reports it
DEBUG_ENV = "RISKENGINE_DEBUG"

T = TypeVar("T")


def say(message: str) -> None:
    typer.echo(message, err=True)


#: How often an interrupt swallowed in a finaliser is raised again before the run is left to
#: end on its own (with the signal's exit code).
MAX_REDELIVERIES = 3


@contextlib.contextmanager
def signals_handled() -> Iterator[list[int]]:
    """Turn the first SIGINT or SIGTERM into :class:`Interrupted`; ignore every one after it.

    SIGTERM (from ``timeout``, CI runners, Kubernetes) would otherwise end the process on the
    spot and leave temporary files; a second Ctrl-C would raise again inside the cleanup the
    first one started. After a signal the handler stays installed (the process is on its way
    out, see :func:`exit_interrupted`). Yields the signals received (at most one).
    """
    if threading.current_thread() is not threading.main_thread():
        yield []  # signal handlers can only be set from the main thread
        return
    received: list[int] = []
    # Told to the loops over chunks (riskengine.errors.raise_if_interrupted) for this command
    # only: a record left over from an earlier one would interrupt the next.
    errors.RECEIVED_SIGNALS.clear()
    watched = {signal.SIGINT, signal.SIGTERM}

    # Set while an interrupt swallowed where Python could not pass it on waits to be raised
    # again; the first signal stays in `received` for the exit code.
    redelivery: list[bool] = []
    redeliveries: list[bool] = []

    def handle(signal_number: int, frame: object) -> None:
        if redelivery:
            redelivery.clear()
            raise Interrupted(received[0])
        if received:
            return  # the cleanup of the first one is under way; let it finish
        received.append(signal_number)
        errors.RECEIVED_SIGNALS.append(signal_number)
        raise Interrupted(signal_number)

    def swallowed(unraisable: Any) -> None:
        # Raised where Python cannot pass an exception on (a finaliser, a callback from C), the
        # interrupt would be printed and lost; deliver it again at the next safe point instead.
        # Never printed: another signal of the burst may land in a finaliser too.
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)
            return
        # Bounded: where every safe point is itself inside a finaliser (the interpreter's
        # shutdown), re-delivering forever would spin; the run then ends with the signal's
        # exit code once the command returns (see run_command).
        while received and len(redeliveries) < MAX_REDELIVERIES:
            try:
                if not redelivery:
                    redelivery.append(True)
                    redeliveries.append(True)
                    _thread.interrupt_main(signal.Signals(received[0]))
                return
            except Interrupted:
                # A signal of the burst took the redelivery here, inside the hook, where it
                # would be printed and lost: arm it again.
                continue

    previous = {number: signal.signal(number, handle) for number in watched}
    previous_hook, sys.unraisablehook = sys.unraisablehook, swallowed
    try:
        yield received
    finally:
        errors.RECEIVED_SIGNALS.clear()
        if not received:
            sys.unraisablehook = previous_hook
            for number, handler in previous.items():
                signal.signal(number, handler)


def quiet_stdout() -> None:
    """Point standard output at /dev/null so the flush at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def run_command(action: Callable[[], T]) -> T:
    """Run a command body; user errors exit 2 with their message, a signal 128 + its number,
    anything else exits 1."""
    with signals_handled() as received:
        try:
            _start_numpy_bridge()
            result = action()
        except (UserInputError, ModelNotFoundError, ModelIntegrityError) as error:
            if received:
                exit_interrupted(received[0], by_signal=True)
            say(f"error: {error}")
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt as error:
            if isinstance(error, Interrupted):
                exit_interrupted(error.signal_number, by_signal=True)
            exit_interrupted(signal.SIGINT)
        except BrokenPipeError:
            # The reader of standard output has gone (`| head`): exit quietly as a tool killed
            # by SIGPIPE would, with nothing more written to the closed pipe.
            quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except BaseException as error:
            if received:
                # The interrupt was raised inside a library callback that swallowed it and
                # failed some other way, or panicked (pyo3's PanicException is a
                # BaseException), or an exit was asked for once it had arrived: the signal is
                # the cause, not an internal error.
                exit_interrupted(received[0], by_signal=True)
            if isinstance(error, (SystemExit, GeneratorExit)) or os.environ.get(DEBUG_ENV):
                raise
            say(
                f"internal error: {type(error).__name__}: {error} "
                f"(set {DEBUG_ENV}=1 for a traceback)"
            )
            raise typer.Exit(EXIT_INTERNAL) from None
        if received:
            # Swallowed likewise, and the run went on to finish: the outputs are complete, but
            # whoever sent the signal must hear that it arrived.
            exit_interrupted(received[0], by_signal=True)
        return result


#: The thread that made polars' bridge to numpy in this process, once started.
_numpy_bridge: threading.Thread | None = None


def _start_numpy_bridge() -> None:
    """Make polars' bridge to numpy (numpy's version read, its C API looked up) on a thread of
    its own, once per process, at the start of a command.

    polars makes it at the first ``to_numpy`` (or Series made from an array) by calling Python
    from Rust; an interrupt raised in that Python code (signal handlers run on the main
    thread only) made polars panic: the run exited 1 with a Rust backtrace instead of 130 or
    143. The bridge takes 0.05 s here once polars is imported, and a command's first such
    call comes later, so the race is unlikely, not impossible: should the main thread still
    make the bridge and be interrupted there, :func:`run_command` exits with the signal's
    code (the panic's text is printed all the same). Not a daemon: a daemon thread ended by
    the interpreter's shutdown while in Rust aborts the process.
    """
    global _numpy_bridge
    if _numpy_bridge is not None:
        return
    _numpy_bridge = threading.Thread(target=_bridge_numpy, name="riskengine-numpy")
    # Without a thread to spare the command runs on, and makes the bridge where it needs it.
    with contextlib.suppress(RuntimeError):
        _numpy_bridge.start()


def _bridge_numpy() -> None:
    # Any failure, a panic among them, is met again, and reported, where a command needs it.
    with contextlib.suppress(BaseException):
        import polars as pl

        pl.Series([0]).to_numpy()


def exit_interrupted(signal_number: int, by_signal: bool = False) -> NoReturn:
    """Exit with 128 + the signal number once the command has cleaned up.

    After a real signal the process ends here, with ``os._exit`` once the exit handlers have
    run and the streams are flushed: the interpreter's own shutdown would first reset the
    signal handlers to the default, and one more Ctrl-C or SIGTERM then would kill the process
    with a signal status instead of this exit code.
    """
    say("interrupted" if signal_number == signal.SIGINT else "terminated")
    code = EXIT_SIGNAL_BASE + signal_number
    if not by_signal:
        raise typer.Exit(code) from None
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(code)


def end_finished_command() -> NoReturn:
    """End the process of a command that succeeded, skipping the interpreter's teardown.

    The teardown frees every object one by one: after the last line of a million-row
    ``riskengine score`` the process took 0.25-0.32 s to end with it and 0.07-0.09 s without
    (bench/README). What the teardown does that anyone sees still happens first: the threads
    it would wait for are waited for, the exit handlers run and the streams are flushed. A
    broken pipe exits 141 as :func:`run_command` does; any other failing flush leaves the exit
    to the interpreter, which reports it as it always has.
    """
    # The interpreter's own first step of shutting down (it waits for non-daemon threads and
    # runs the threading module's exit hooks, such as the thread pools' own shutdown).
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except BrokenPipeError:
                # Standard output's reader has gone; what is left of standard error still goes.
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os._exit(EXIT_BROKEN_PIPE)
            except (OSError, ValueError):
                raise SystemExit(0) from None
    os._exit(0)
