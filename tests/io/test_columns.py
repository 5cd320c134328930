"""Matching input headers to canonical columns: case, separators, aliases and clear errors."""

from __future__ import annotations

import pytest

from riskengine.errors import MissingColumnsError, UserInputError
from riskengine.io.columns import SOURCING_ALIASES, resolve_columns


def test_headers_match_case_insensitively() -> None:
    mapping = resolve_columns(["MATERIAL", "Supplier", "supplier_COUNTRY"], source="in.csv")

    assert mapping == {
        "material": "MATERIAL",
        "supplier": "Supplier",
        "supplier_country": "supplier_COUNTRY",
    }


@pytest.mark.parametrize("header", ["Supplier Country", "supplier-country", "  Supplier  Country "])
def test_spaces_and_hyphens_become_underscores(header: str) -> None:
    mapping = resolve_columns(["Material", "Supplier", header], source="in.csv")

    assert mapping["supplier_country"] == header


def test_sap_names_are_aliases() -> None:
    mapping = resolve_columns(["LIFNR", "LAND1", "NAME1", "MATNR"], source="ekko.csv")

    assert mapping == {
        "supplier_id": "LIFNR",
        "supplier_country": "LAND1",
        "supplier": "NAME1",
        "material": "MATNR",
    }


def test_optional_columns_are_mapped_when_present() -> None:
    mapping = resolve_columns(
        ["material", "vendor", "country", "Destination Country", "Customer", "Supply Share"],
        source="in.csv",
    )

    assert mapping == {
        "material": "material",
        "supplier": "vendor",
        "supplier_country": "country",
        "buyer_country": "Destination Country",
        "buyer": "Customer",
        "share": "Supply Share",
    }


def test_every_missing_required_column_is_listed_in_one_error() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        resolve_columns(["quantity", "plant"], source="orders.csv")

    message = str(caught.value)
    assert message.startswith("orders.csv:")
    for canonical in ("material", "supplier", "supplier_country"):
        assert repr(canonical) in message
        for alias in SOURCING_ALIASES[canonical]:
            assert alias in message
    assert "lifnr" not in message  # optional columns are not reported missing


def test_a_single_missing_column_names_it_and_its_aliases() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        resolve_columns(["material", "supplier"], source="in.csv")

    message = str(caught.value)
    assert message.startswith("in.csv: missing required column 'supplier_country' (accepted: ")
    assert "land1" in message
    assert "vendor_country" in message


def test_a_close_header_is_suggested() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        resolve_columns(["material", "supplier", "suplier_country"], source="in.csv")

    assert "'suplier_country'" in str(caught.value)


def test_two_aliases_meaning_the_same_column_are_refused() -> None:
    with pytest.raises(UserInputError) as caught:
        resolve_columns(["material", "vendor_name", "vendor", "supplier_country"], source="in.csv")

    assert not isinstance(caught.value, MissingColumnsError)
    message = str(caught.value)
    assert "'vendor_name'" in message
    assert "'vendor'" in message


def test_the_canonical_name_wins_over_an_sap_alias_beside_it() -> None:
    # Issue 13: a team adds a clean column beside the ERP's; its exact name decides (a note
    # says so, see tests/io/test_erp_headers.py).
    headers = ["material", "supplier", "supplier_country", "LAND1"]

    assert resolve_columns(headers, source="in.csv")["supplier_country"] == "supplier_country"


@pytest.mark.parametrize(
    "headers",
    [
        ["Material", "material", "supplier", "supplier_country"],
        ["material", "supplier", "Supplier Country", "supplier_country"],
    ],
)
def test_headers_equal_after_normalising_are_refused(headers: list[str]) -> None:
    with pytest.raises(UserInputError, match="same name") as caught:
        resolve_columns(headers, source="in.csv")

    assert not isinstance(caught.value, MissingColumnsError)
    assert "in.csv" in str(caught.value)


def test_sap_material_number_gives_way_to_the_description() -> None:
    # SAP source lists carry MATNR next to MAKTX; names resolve in the catalog, numbers do not.
    mapping = resolve_columns(["MATNR", "MAKTX", "NAME1", "LAND1"], source="eord.csv")
    assert mapping["material"] == "MAKTX"
    assert resolve_columns(["MATNR", "NAME1", "LAND1"], source="eord.csv")["material"] == "MATNR"
    with pytest.raises(UserInputError, match="'MAKTX', 'TXZ01' all mean 'material'"):
        resolve_columns(["MAKTX", "TXZ01", "NAME1", "LAND1"], source="eord.csv")


def test_secondary_validity_names_give_way_to_the_primary_ones() -> None:
    columns = ["material", "supplier", "country", "valid_from", "effective_from", "BDATU"]
    mapping = resolve_columns(columns, source="s.csv")
    assert (mapping["valid_from"], mapping["valid_to"]) == ("valid_from", "BDATU")


def test_volume_and_annual_quantity_side_by_side_are_kept_as_input_columns() -> None:
    """Nothing reads a volume column, so two of them are no reason to refuse a file."""
    mapping = resolve_columns(
        ["material", "supplier", "supplier_country", "volume", "annual_quantity"], source="in"
    )
    assert set(mapping) == {"material", "supplier", "supplier_country"}
