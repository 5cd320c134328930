"""The BOM job's outputs: every target checked before any work, written all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from riskengine.app.bom import score_bom_file
from riskengine.errors import UserInputError


def _score_bom(settings: Any, tmp_path: Path, output: Path, lines: Path) -> None:
    score_bom_file(
        settings,
        bom_path=str(tmp_path / "bom.csv"),
        sourcing_path=str(tmp_path / "sourcing.csv"),
        output_path=str(output),
        lines_path=str(lines),
        as_of=date(2026, 3, 1),
    )


@pytest.fixture
def inputs(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_text("parent,component,quantity\nPump,Gallium metal,1\n")
    (tmp_path / "sourcing.csv").write_text(
        "material,supplier,supplier_country,share\ngallium metal,A,CN,1\n"
    )


@pytest.mark.usefixtures("inputs")
def test_lines_naming_the_output_file_are_refused_before_any_work(
    store_settings: Any, tmp_path: Path
) -> None:
    (tmp_path / "products.csv").write_text("previous\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "products.csv")
    for lines in ("products.csv", "link.csv"):
        with pytest.raises(UserInputError, match="are the same output"):
            _score_bom(store_settings, tmp_path, tmp_path / "products.csv", tmp_path / lines)
    assert (tmp_path / "products.csv").read_text() == "previous\n"


@pytest.mark.usefixtures("inputs")
def test_a_bad_output_leaves_the_lines_unwritten(store_settings: Any, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="output directory"):
        _score_bom(store_settings, tmp_path, tmp_path / "no" / "p.csv", tmp_path / "lines.csv")
    assert not (tmp_path / "lines.csv").exists()
