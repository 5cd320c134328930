"""Contracts at the boundary: pandera schemas of the prepared input and of the scores.

With the pieces every contract shares: reading pandera's failure cases back as rows, columns
and the rule each broke. Input column names and their aliases live in
:mod:`riskengine.io.columns`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from riskengine.bands import RISK_BANDS
from riskengine.pandera_polars import SchemaErrors, pa

STATUS_SCORED = "scored"
STATUS_REJECTED = "rejected"
STATUS_BLOCKED = "blocked"
"""A source the team may not use (Oracle ASL "Debarred", SAP EORD NOTKZ): kept for the record,
never scored as supply."""
ROW_STATUSES = (STATUS_SCORED, STATUS_BLOCKED, STATUS_REJECTED)

#: How a blocked source's reason begins; the preparation puts it first in the reason, so the
#: status can be read from the reason alone (the prepared frame carries no other flag).
BLOCKED_REASON_PREFIX = "blocked source of supply"


def row_status() -> pl.Expr:
    """``scored`` for a row without a ``reason``, ``blocked`` for a blocked or debarred source,
    else ``rejected``."""
    return (
        pl.when(pl.col("reason").is_null())
        .then(pl.lit(STATUS_SCORED))
        .when(pl.col("reason").str.starts_with(BLOCKED_REASON_PREFIX))
        .then(pl.lit(STATUS_BLOCKED))
        .otherwise(pl.lit(STATUS_REJECTED))
        .alias("status")
    )


SCORE_OUTPUT_COLUMNS = (
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
    # The buyer the row was screened as: its own buyer cell, else --buyer (empty when neither),
    # so a scores file says whose exposure it describes.
    "screened_buyer",
    "risk_score",
    "risk_score_low",
    "risk_score_high",
    "risk_band",
    "model_score",
    "restriction_state",
    "state_score",
    "drivers",
    "status",
    "reason",
    "model_version",
    "as_of",
    # The reference data the row was scored with (as `riskengine reference check` prints it),
    # so that `riskengine diff` can tell a change of the facts from a change of the date.
    "reference_fingerprint",
)


#: Output columns made from closed sets of values (catalog ids, ISO codes, bands, states,
#: statuses, the model's version number, the date and the reference data's hex fingerprint):
#: no cell can start a spreadsheet formula, so the CSV writer does not search them (about
#: 0.25 s of CPU per million rows). The drivers are searched: reference data a team writes
#: words their facts.
FORMULA_FREE_SCORE_COLUMNS = (
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
    "risk_band",
    "restriction_state",
    "status",
    "model_version",
    "as_of",
    "reference_fingerprint",
)


#: The columns that make a file an output of ``riskengine score`` for the commands that read
#: one (diff, alternatives); older outputs lack the later columns, so these are the ones kept
#: since the first release.
SCORES_FILE_COLUMNS = (
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
    "risk_score",
    "risk_band",
    "status",
    "model_version",
    "as_of",
)


def prepared_input_schema() -> pa.DataFrameSchema:
    """The contract of a prepared chunk: one row per input row, ids resolved or a reason.

    The scoring path checks only its column names, order and types on every chunk
    (:func:`validate_prepared_chunk`); the row checks (a pair key on every row, shares in
    [0, 1], ISO codes) hold by construction and are checked by the tests, since running them
    on each chunk would cost a per-row pass over the data.
    """
    return pa.DataFrameSchema(
        {
            "pair_id": pa.Column(pl.UInt32, nullable=False),
            "material_id": pa.Column(pl.String, nullable=True),
            "supplier_country": pa.Column(
                pl.String, pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=True
            ),
            "buyer_country": pa.Column(
                pl.String, pa.Check.str_matches(r"^[A-Z]{3}$"), nullable=True
            ),
            "supplier_name": pa.Column(pl.String, nullable=True),
            "buyer_name": pa.Column(pl.String, nullable=True),
            "share": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "valid_from": pa.Column(pl.Date, nullable=True),
            "valid_to": pa.Column(pl.Date, nullable=True),
            # The ERP plant (WERKS, Ship-To Org): the buyer's own sourcing concentration is
            # per material and plant, as its shares are.
            "plant": pa.Column(pl.String, nullable=True),
            "reason": pa.Column(pl.String, nullable=True),
        },
        name="prepared input",
        strict=True,
        ordered=True,
    )


def validate_prepared_chunk(resolved: pl.DataFrame) -> pl.DataFrame:
    """Check a prepared chunk's columns and types (no per-row work: this is the scoring path).

    Raises
    ------
    pandera.errors.SchemaErrors
        If a column is missing, extra or of another type: a defect, not a user's mistake.
    """
    from pandera.config import ValidationDepth, config_context

    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        return _PREPARED_INPUT_SCHEMA.validate(resolved, lazy=True)


_PREPARED_INPUT_SCHEMA = prepared_input_schema()


def scored_output_schema() -> pa.DataFrameSchema:
    """The contract every scored frame meets before it is written."""
    return pa.DataFrameSchema(
        {
            "risk_score": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "risk_band": pa.Column(pl.String, pa.Check.isin(list(RISK_BANDS)), nullable=True),
            "risk_score_low": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "risk_score_high": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "model_score": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "state_score": pa.Column(pl.Float64, pa.Check.in_range(0.0, 1.0), nullable=True),
            "drivers": pa.Column(pl.String, nullable=True),
            "status": pa.Column(pl.String, pa.Check.isin(list(ROW_STATUSES))),
            "reason": pa.Column(pl.String, nullable=True),
            "model_version": pa.Column(pl.String),
            "as_of": pa.Column(pl.String),
        },
        strict=False,
    )


# ------------------------------------------------------------------ shared by every contract


@dataclass(frozen=True)
class ContractFailure:
    """One rule a table broke, read back from pandera's failure cases."""

    row: int | None
    """0-based row of the validated frame; None when the rule concerns the whole column."""
    column: str | None
    rule: str
    """What was expected, in words; may hold ``{value}`` for the offending value."""
    value: str | None


def contract_failures(error: SchemaErrors) -> list[ContractFailure]:
    """Every failure case of a lazy validation, in row order (table-level ones first)."""
    cases = error.failure_cases.select("index", "column", "check", "failure_case")
    failures = [
        ContractFailure(row=index, column=column, rule=_rule_text(check), value=value)
        for index, column, check, value in cases.iter_rows()
    ]
    return sorted(failures, key=lambda failure: -1 if failure.row is None else failure.row)


def describe_failure(failure: ContractFailure, value: str | None = None) -> str:
    """``column X: what was wrong`` with the value as written (``value``, else pandera's)."""
    written = value if value is not None else failure.value
    rule = failure.rule
    if "{value}" in rule:
        text = rule.replace("{value}", repr(written))
    elif failure.row is not None and written is not None:
        text = f"{rule}, found {written!r}"
    else:
        text = rule
    return f"column {failure.column}: {text}"


_RULE_WORDS = {
    "not_nullable": "value is required",
    "field_uniqueness": "{value} is duplicated",
    "column_in_dataframe": "column is missing",
}


def _rule_text(check: str) -> str:
    if check in _RULE_WORDS:
        return _RULE_WORDS[check]
    if check.startswith("dtype("):
        return f"expected type {check[len('dtype(') : -1]}, got {{value}}"
    return check
