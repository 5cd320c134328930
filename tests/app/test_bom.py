"""The BOM job's outputs: every target checked before any work, written all or nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from riskengine.app.bom import score_bom_file
from riskengine.app.requests import BomRequest, InputFile, OutputFile, ScoringRequest
from riskengine.errors import UserInputError
from riskengine.io import ReadOptions


def _score_bom(settings: Any, tmp_path: Path, output: Path, lines: Path) -> None:
    score_bom_file(
        settings,
        BomRequest(
            InputFile(str(tmp_path / "bom.csv")),
            ScoringRequest.from_paths(
                str(tmp_path / "sourcing.csv"), str(output), date(2026, 3, 1)
            ),
            lines_path=str(lines),
        ),
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


@pytest.mark.parametrize(
    ("excel", "starts"),
    [(False, b"product;"), (True, b"\xef\xbb\xbfproduct\t")],
)
def test_products_are_written_in_the_sourcing_lists_locale_or_for_excel(
    trained_settings: Any, tmp_path: Path, excel: bool, starts: bytes
) -> None:
    (tmp_path / "bom.csv").write_text("parent,component,quantity\nPump,Gallium metal,1\n")
    (tmp_path / "sourcing.csv").write_bytes(
        "material;supplier;supplier_country;share\ngallium metal;Tallinna Metall OÜ;CN;1\n".encode(
            "cp1252"
        )
    )
    request = BomRequest(
        InputFile(str(tmp_path / "bom.csv")),
        ScoringRequest(
            InputFile(str(tmp_path / "sourcing.csv"), ReadOptions(encoding="cp1252")),
            OutputFile(str(tmp_path / "products.csv"), excel=excel),
            date(2026, 3, 1),
            buyer_country="JP",
        ),
        lines_path=str(tmp_path / "lines.csv"),
    )

    score_bom_file(trained_settings, request)

    assert (tmp_path / "products.csv").read_bytes().startswith(starts)
    lines = (tmp_path / "lines.csv").read_bytes()
    supplier = "Tallinna Metall OÜ"
    assert supplier.encode("utf-8" if excel else "cp1252") in lines
