"""The contracts (pandera schemas) of the prepared input and the scored output, and how a
failure is described."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest
from pandera.errors import SchemaErrors

from riskengine.errors import MissingColumnsError
from riskengine.io.columns import require_columns
from riskengine.schemas import (
    contract_failures,
    describe_failure,
    prepared_input_schema,
    scored_output_schema,
    validate_prepared_chunk,
)
from riskengine.sourcing import prepare_pairs


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
