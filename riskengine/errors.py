"""One root exception; each subclass carries a message a user can act on.

The CLI maps :class:`UserInputError` (and subclasses) to exit code 2 and prints
only the message; anything else is an internal error (exit code 1).
"""

from __future__ import annotations

import signal
import sys

#: The most characters of a user's value a message repeats.
ECHO_LIMIT = 200


def shorten(value: object, limit: int = ECHO_LIMIT) -> str:
    """``value`` as text cut to ``limit`` characters, saying how long it was when cut.

    Messages repeat a user's cell or option so it can be found; a megabyte-long cell repeated
    whole would bury the message, so every echoed value goes through here.
    """
    text = str(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; unwinding removes temporary files like Ctrl-C does."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


#: The signal the running command received (at most one), recorded by the CLI's handler.
RECEIVED_SIGNALS: list[int] = []


def raise_if_interrupted() -> None:
    """Raise :class:`Interrupted` if the command has received a signal.

    The handler raises at once, but where the exception lands inside a C extension that checks
    for signals in its own loop (pyarrow's reader, rapidfuzz's matcher), the extension may
    clear it and carry on. The loops over chunks call this between chunks, so a lost interrupt
    stops the run within one chunk instead of after the whole file.
    """
    if RECEIVED_SIGNALS:
        raise Interrupted(RECEIVED_SIGNALS[0])


def interrupted() -> bool:
    """Whether the exception being handled (if any) is an interrupt, or a signal arrived:
    then a caller leaves without waiting for work in flight on another thread, which may be
    blocked."""
    return bool(RECEIVED_SIGNALS) or isinstance(sys.exc_info()[1], KeyboardInterrupt)


class RiskEngineError(Exception):
    """Root of every error riskengine raises on purpose."""


class UserInputError(RiskEngineError):
    """The user's input (a file, a column, an option) cannot be used as given."""


class InputFileError(UserInputError):
    """A file is missing, empty, unreadable or of an unknown format."""


class MissingColumnsError(UserInputError):
    """Required columns are absent from an input file."""


class UnknownMaterialError(UserInputError):
    """A material name does not resolve to a catalog entry."""

    def __init__(self, text: str, suggestions: list[str]) -> None:
        self.text = text
        self.suggestions = suggestions
        hint = f"; closest known: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"unknown material {shorten(text)!r}{hint}")


class CountryError(UserInputError):
    """A country is unknown or ambiguous."""

    def __init__(
        self, text: str, candidates: list[str] | None = None, suggestions: list[str] | None = None
    ) -> None:
        self.text = text
        self.candidates = candidates or []
        self.suggestions = suggestions or []
        if self.candidates:
            message = f"ambiguous country {shorten(text)!r}: could be {', '.join(self.candidates)}"
        else:
            hint = f"; closest known: {', '.join(self.suggestions)}" if self.suggestions else ""
            message = f"unknown country {shorten(text)!r}{hint}"
        super().__init__(message)


class ReferenceDataError(UserInputError):
    """A reference table is malformed (names the file, line and column)."""


class ModelNotFoundError(RiskEngineError):
    """No model is registered under the requested name or alias."""


class ModelIntegrityError(RiskEngineError):
    """A model artifact does not match the hash recorded at registration."""


class ModelStoreError(UserInputError):
    """The model store cannot be used: corrupt, unreadable or read-only (names the file)."""
