"""The ``riskengine`` command line: each command parses its options into a request, calls one
application function, renders the outcome and maps errors to exit codes
(:mod:`riskengine.cli.runtime`). No logic of its own."""

from __future__ import annotations

import os

# Importing the command modules registers their commands on the applications.
from riskengine.cli import impact, jobs, models, reference, serve  # noqa: F401
from riskengine.cli.apps import app
from riskengine.cli.runtime import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
)

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "app",
    "main",
]


def main() -> None:
    """Console-script entry point."""
    # OpenMP threads that spin while waiting slow scikit-learn down many times over on a busy
    # machine; the policy must be set before scikit-learn is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app()
