"""What the CLI shows on stderr while it works."""

from __future__ import annotations

import io
from functools import partial

import pytest

from riskengine import render


def test_progress_is_silent_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with render.run_progress() as (on_stage, on_progress):
        on_stage("scoring 10 rows")
        on_progress(5, 10)
    captured = capsys.readouterr()
    assert captured.err == captured.out == ""


def test_progress_shows_the_stage_and_rows_done_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = io.StringIO()
    terminal = partial(render.Console, file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(render, "Console", lambda **options: terminal(highlight=False))
    with render.run_progress() as (on_stage, on_progress):
        on_stage("scoring 2,000 rows as of 2026-03-01")
        on_progress(1000, 2000)
        # transient: the bar is drawn while running and cleared at the end
        drawn = screen.getvalue()
    assert "scoring 2,000 rows as of 2026-03-01" in drawn
    assert "1000/2000" in drawn
