"""One chunk's rows resolved: supplier ids read as names are, and spreadsheet error values
refusing their row by name."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskengine.sourcing.preparation import prepare_pairs
from riskengine.sourcing.resolution import country_line, resolve_chunk


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


@pytest.mark.parametrize(
    ("address", "line"),
    [
        ("2-1-5 Kitago, Echizen-shi, Fukui, Japan", "Japan"),
        ("Watertorenstraat 33\n2250 Olen\nBE", "BE"),
        ("Baotou, Inner Mongolia, P.R. China", "P.R. China"),
        ("Germany", "Germany"),
        ("D-79618 Rheinfelden", "D-79618 Rheinfelden"),
    ],
)
def test_the_country_line_of_an_address_is_its_last_line_or_part(address: str, line: str) -> None:
    assert country_line(address) == (line, None)


@pytest.mark.parametrize("address", ["45 Industrial Place, Newton, MA", "1 Main St, Perth, WA"])
def test_a_two_letter_code_ending_a_one_line_address_is_not_read_as_a_country(
    address: str,
) -> None:
    line, reason = country_line(address)
    assert line is None
    assert reason is not None and "may be a state or province" in reason


def test_a_supplier_address_gives_the_country_each_unreadable_row_is_rejected() -> None:
    raw = pl.DataFrame(
        {
            "Item Description": ["Dysprosium oxide"] * 5,
            "Supplier": ["Shin-Etsu", "Umicore", "Starck", "Ga AG", "Ga Co"],
            "Supplier Site Address": [
                "2-1-5 Kitago, Echizen-shi, Fukui, Japan",
                "Watertorenstraat 33\n2250 Olen\nBE",
                "45 Industrial Place, Newton, MA",
                "D-79618 Rheinfelden",
                None,
            ],
        }
    )
    resolved = prepare_pairs(raw, source="asl.csv", buyer_country="US", buyer_name=None).resolved
    assert resolved["supplier_country"].to_list() == ["JPN", "BEL", None, None, None]
    reasons = resolved["reason"].to_list()
    assert reasons[:2] == [None, None]
    assert reasons[2].startswith(
        "no supplier country: read from Supplier Site Address '45 Industrial Place, Newton, MA'"
    )
    assert reasons[3] == (
        "no supplier country: read from Supplier Site Address 'D-79618 Rheinfelden': "
        "unknown country 'D-79618 Rheinfelden'"
    )
    assert reasons[4] == "no supplier country: Supplier Site Address is empty"


def test_an_address_beside_a_country_column_is_left_alone() -> None:
    raw = pl.DataFrame(
        {
            "material": ["Dysprosium oxide"],
            "supplier": ["Baotou"],
            "Country": ["CN"],
            "Address": ["1 Rare Earth Road, Baotou, Japan"],
            "Site Address": ["elsewhere"],
        }
    )
    resolved = prepare_pairs(raw, source="list.csv", buyer_country="JP", buyer_name=None).resolved
    assert resolved["supplier_country"].to_list() == ["CHN"]
    assert resolved["reason"].to_list() == [None]


# Rows of every kind a list holds: resolved, unknown, empty, spreadsheet errors, SAP ids with
# and without zeros, validity dates in three layouts and broken, blocked sources, percentages.
MIXED_ROWS = pl.DataFrame(
    {
        "supplier_id": ["0000001234", "1234", "#N/A", None, "ab-1", "AB-1", "77", "0"],
        "supplier": ["Acme", "Acme", "Baotou Co", "#REF!", "Hanoi Co", None, "Lynas", "X"],
        "supplier_country": ["CN", "China", "Vietnam", "VN", "Narnia", "#N/A", "MY", None],
        "material": ["Dy2O3", "Dy oxide", "Unobtainium", "NdPr", None, "#VALUE!", "Tb", "Co"],
        "share": ["40", "60", "x", "100", "0.5", None, "#N/A", "1"],
        "buyer_country": ["JP", None, "JP", "Japan", "US", "XX", None, "DE"],
        "VDATU": ["20200101", "", "01.01.2027", "2026-13-01", None, "2025-01-01", "", "1.1.2024"],
        "source_status": [None, "Debarred", None, "X", None, None, "blocked", None],
    }
)


@pytest.mark.few_examples(15)
@given(st.lists(st.booleans(), min_size=MIXED_ROWS.height, max_size=MIXED_ROWS.height))
def test_a_row_resolves_alike_alone_or_among_others(picked: list[bool]) -> None:
    """The duplicate check resolves only the rows it needs, and Spark resolves parts: both
    rely on a row's resolution not depending on the other rows of its chunk."""
    options = {"source": "list.csv", "buyer_country": "JP", "buyer_name": "Kansai K.K."}
    mask = pl.Series(picked)
    whole = resolve_chunk(MIXED_ROWS, as_of=date(2026, 3, 1), **options).filter(mask)
    alone = resolve_chunk(MIXED_ROWS.filter(mask), as_of=date(2026, 3, 1), **options)
    assert alone.equals(whole)
