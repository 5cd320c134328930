"""The alternatives job: the output target is checked before any work, nothing is written for
bad input, and the options are checked before the files are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskengine.app.alternatives import alternatives_file
from riskengine.config import load_settings
from riskengine.errors import UserInputError


def test_a_missing_output_directory_is_refused_before_the_scores_are_read(
    tmp_path: Path,
) -> None:
    with pytest.raises(UserInputError, match="output directory"):
        alternatives_file(
            load_settings(home=tmp_path),
            scores_path=str(tmp_path / "never-read.csv"),
            output_path=str(tmp_path / "no" / "alternatives.csv"),
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"move": 1.5}, "--move 1.5: give a fraction above 0 and at most 1"),
        ({"min_share": -0.1}, "--min-share -0.1"),
        ({"exclude": "CN,Narnia"}, "--exclude: unknown country 'Narnia'"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(
    tmp_path: Path, options: dict, message: str
) -> None:
    scores = tmp_path / "scores.csv"
    scores.write_text("material,supplier,supplier_country\ncobalt,A,CD\n")

    with pytest.raises(UserInputError, match=message):
        alternatives_file(
            load_settings(home=tmp_path),
            scores_path=str(scores),
            output_path=str(tmp_path / "alternatives.csv"),
            **options,
        )
    assert not (tmp_path / "alternatives.csv").exists()
