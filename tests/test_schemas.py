"""Matching input headers to canonical columns: case, separators, aliases and clear errors."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from pandera.errors import SchemaErrors

from riskengine.errors import MissingColumnsError, UserInputError
from riskengine.io.columns import SOURCING_ALIASES, require_columns, resolve_columns
from riskengine.schemas import (
    contract_failures,
    describe_failure,
    prepared_input_schema,
    scored_output_schema,
    validate_prepared_chunk,
)
from riskengine.sourcing import prepare_pairs


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


# -------------------------------------------------------------------------------- contracts


def prepared_chunk() -> pl.DataFrame:
    """A prepared chunk of three literal rows: a pair, a rejected row and one without buyer."""
    raw = pl.DataFrame(
        {
            "material": ["Dy2O3", "unobtainium", "gallium"],
            "supplier": ["A", "B", "C"],
            "supplier_country": ["China", "CN", "JP"],
            "share": ["60%", "40%", "1"],
        }
    )
    return prepare_pairs(raw, source="in.csv", buyer_country=None, buyer_name=None).resolved


def test_a_prepared_chunk_meets_the_prepared_input_contract() -> None:
    resolved = prepared_chunk()

    assert resolved.columns == list(prepared_input_schema().columns)
    prepared_input_schema().validate(resolved, lazy=True)
    assert resolved["reason"].is_null().to_list() == [True, False, True]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        pytest.param(lambda frame: frame.drop("share"), "share", id="missing"),
        pytest.param(
            lambda frame: frame.with_columns(pl.col("share").cast(pl.String)), "share", id="dtype"
        ),
        pytest.param(lambda frame: frame.with_columns(extra=pl.lit(1)), None, id="extra"),
    ],
)
def test_the_chunk_check_refuses_a_frame_of_other_columns_or_types(
    change: Callable[[pl.DataFrame], pl.DataFrame], column: str | None
) -> None:
    with pytest.raises(SchemaErrors) as caught:
        validate_prepared_chunk(change(prepared_chunk()))

    if column is not None:
        assert column in {failure.column for failure in contract_failures(caught.value)} | {
            failure.value for failure in contract_failures(caught.value)
        }


def test_the_prepared_input_contract_refuses_bad_values_the_chunk_check_lets_by() -> None:
    frame = prepared_chunk().with_columns(
        share=pl.Series([0.6, None, 1.5]),
        supplier_country=pl.Series(["CHN", None, "Japan"]),
    )
    validate_prepared_chunk(frame)  # types only: the scoring path makes no per-row pass

    with pytest.raises(SchemaErrors) as caught:
        prepared_input_schema().validate(frame, lazy=True)

    assert {(f.row, f.column) for f in contract_failures(caught.value)} == {
        (2, "share"),
        (2, "supplier_country"),
    }


def scores(**changes: list[object]) -> pl.DataFrame:
    columns: dict[str, list[object]] = {
        "risk_score": [0.1, None],
        "risk_band": ["low", None],
        "risk_score_low": [0.05, None],
        "risk_score_high": [0.2, None],
        "model_score": [0.1, None],
        "state_score": [0.0, None],
        "drivers": ["a", None],
        "status": ["scored", "rejected"],
        "reason": [None, "unknown material"],
        "model_version": ["1", "1"],
        "as_of": ["2026-01-01", "2026-01-01"],
    }
    columns.update(changes)
    return pl.DataFrame(columns)


@pytest.mark.parametrize(
    ("changes", "column"),
    [
        pytest.param({"risk_score": [1.2, None]}, "risk_score", id="range"),
        pytest.param({"risk_band": ["severe", None]}, "risk_band", id="allowed"),
        pytest.param({"status": ["scored", "skipped"]}, "status", id="status"),
        pytest.param({"model_version": ["1", None]}, "model_version", id="required"),
    ],
)
def test_the_scored_output_contract_refuses(changes: dict[str, list[object]], column: str) -> None:
    scored_output_schema().validate(scores(), lazy=True)

    with pytest.raises(SchemaErrors) as caught:
        scored_output_schema().validate(scores(**changes), lazy=True)

    assert {failure.column for failure in contract_failures(caught.value)} == {column}


def test_a_failure_is_described_with_its_column_rule_and_value() -> None:
    with pytest.raises(SchemaErrors) as caught:
        scored_output_schema().validate(scores(risk_band=["low", "severe"]), lazy=True)

    (failure,) = contract_failures(caught.value)

    assert failure.row == 1
    assert describe_failure(failure).startswith("column risk_band: ")
    assert "severe" in describe_failure(failure)


def test_missing_contract_columns_name_the_file_and_every_column() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        require_columns(["a", "c"], ["a", "b", "c", "d"], source="in.csv")

    assert str(caught.value) == "in.csv: missing columns b, d"
