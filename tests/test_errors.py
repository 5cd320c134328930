"""The interrupt state the command's signal handler records."""

from __future__ import annotations

import signal

import pytest

from riskengine import errors
from riskengine.errors import interrupted


def test_interrupted_is_true_for_a_recorded_signal_or_a_keyboard_interrupt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(errors, "RECEIVED_SIGNALS", [])
    assert not interrupted()
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        assert interrupted()
    try:
        raise ValueError("a bad row")
    except ValueError:
        assert not interrupted()
    monkeypatch.setattr(errors, "RECEIVED_SIGNALS", [signal.SIGTERM])
    assert interrupted()
