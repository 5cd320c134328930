"""The scored rows the buyers' page shows."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from riskengine.app.buyer_job import SCORES_TABLE, page_table


def write_scores(directory: Path) -> None:
    pl.DataFrame(
        {
            "material": ["Dy2O3", "Tb4O7", "NdPr oxide", "unobtainium", "gallium"],
            "risk_score": [0.2, 0.9, 0.5, None, 0.9],
            "material_id": ["dysprosium_oxide", "terbium_oxide", "ndpr_oxide", None, "gallium"],
            "status": ["scored", "scored", "scored", "rejected", "scored"],
            "model_version": ["3"] * 5,
            "as_of": ["2026-03-01"] * 5,
            "reference_fingerprint": ["sha256:ab"] * 5,
        }
    ).write_parquet(directory / SCORES_TABLE)


def test_a_short_output_is_shown_whole_in_input_order(tmp_path: Path) -> None:
    write_scores(tmp_path)

    table = page_table(str(tmp_path), limit=5)

    # The input's columns, the score a buyer reads first, then the resolved ids.
    assert table.rows.columns == ["material", "risk_score", "status", "material_id"]
    assert table.rows["material"].to_list() == ["Dy2O3", "Tb4O7", "NdPr oxide", "unobtainium",
                                                "gallium"]  # fmt: skip
    assert table.row_numbers == [1, 2, 3, 4, 5] and table.total == 5


def test_a_long_output_shows_its_riskiest_rows_with_their_input_positions(
    tmp_path: Path,
) -> None:
    write_scores(tmp_path)

    table = page_table(str(tmp_path), limit=3)

    # Equal scores keep input order; the rejected row (no score) is not among the riskiest.
    assert table.rows["material"].to_list() == ["Tb4O7", "gallium", "NdPr oxide"]
    assert table.row_numbers == [2, 5, 3] and table.total == 5
