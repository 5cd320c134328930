"""One chunk's rows resolved: supplier ids read as names are, and spreadsheet error values
refusing their row by name."""

from __future__ import annotations

import polars as pl
import pytest

from riskengine.sourcing.preparation import prepare_pairs


def _reasons(sourcing: pl.DataFrame) -> list[str | None]:
    prepared = prepare_pairs(sourcing, source="s.csv", buyer_country="JP", buyer_name=None)
    return prepared.resolved["reason"].to_list()


def test_supplier_ids_are_compared_as_names_are() -> None:
    sourcing = pl.DataFrame(
        {
            "material": ["Dy2O3", "gallium"],
            "supplier": ["Acme", "Acme"],
            "supplier_country": ["CN", "VN"],
            "supplier_id": ["AB-1", "ab-1\u200b"],
        }
    )
    reasons = _reasons(sourcing)
    assert all(
        reason and "appears with several countries (CHN, VNM)" in reason for reason in reasons
    )


@pytest.mark.parametrize(
    "error",
    ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"],
)
@pytest.mark.parametrize("column", ["material", "supplier", "supplier_country", "share"])
def test_a_spreadsheet_error_cell_refuses_its_row_naming_the_value(error: str, column: str) -> None:
    cells = {"material": "Dy2O3", "supplier": "Acme", "supplier_country": "CN", "share": "0.5"}
    sourcing = pl.DataFrame(
        {name: [error if name == column else cell] for name, cell in cells.items()}
    )
    [reason] = _reasons(sourcing)
    assert reason is not None
    assert f"column '{column}': '{error}' is a spreadsheet error value" in reason
    # Not a supplier called "#N/A", an empty cell or an unknown name with look-alikes.
    assert "is empty" not in reason and "closest" not in reason.lower()
