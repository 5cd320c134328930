"""Column names, accepted aliases, and validation at the boundary.

Input columns match case-insensitively after turning spaces and hyphens into underscores;
common ERP names (SAP's among them) are accepted as aliases.

The contracts (pandera schemas) of the prepared input and of the scores live here, with the
pieces every contract shares: naming missing columns and reading pandera's failure cases
back as rows, columns and the rule each broke.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from riskengine.bands import RISK_BANDS
from riskengine.errors import MissingColumnsError, UserInputError

SOURCING_ALIASES: dict[str, tuple[str, ...]] = {
    "material": ("material", "material_name", "material_description", "maktx", "txz01", "matnr"),
    "supplier": ("supplier", "supplier_name", "vendor", "vendor_name", "name1"),
    "supplier_country": (
        "supplier_country",
        "vendor_country",
        "country",
        "country_of_supplier",
        "land1",
    ),
    "supplier_id": ("supplier_id", "vendor_id", "vendor_number", "lifnr"),
    "buyer_country": ("buyer_country", "destination_country", "plant_country"),
    "buyer": ("buyer", "buyer_name", "customer", "purchaser"),
    "share": ("share", "supply_share", "quota_share"),
    # No volume column is listed: nothing reads one yet, so `volume` and `annual_quantity`
    # side by side are kept as input columns instead of being refused as two names for one.
    # SAP source lists (EORD) call the validity period VDATU to BDATU.
    "valid_from": ("valid_from", "vdatu", "valid_since", "effective_from"),
    "valid_to": ("valid_to", "bdatu", "valid_until", "effective_to"),
}
SOURCING_REQUIRED = ("material", "supplier", "supplier_country")
#: Aliases used only when no other alias of the same column is present. SAP exports carry the
#: material number (MATNR) next to its description (MAKTX/TXZ01); the catalog resolves names,
#: so the description is read and MATNR is kept as an input column.
SOURCING_FALLBACK_ALIASES: dict[str, tuple[str, ...]] = {
    "material": ("matnr",),
    "valid_from": ("valid_since", "effective_from"),
    "valid_to": ("valid_until", "effective_to"),
}

STATUS_SCORED = "scored"
STATUS_REJECTED = "rejected"

SCORE_OUTPUT_COLUMNS = (
    "material_id",
    "supplier_country_iso3",
    "buyer_country_iso3",
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
)


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff")).casefold()


def resolve_columns(
    columns: Sequence[str],
    *,
    source: str,
    aliases: dict[str, tuple[str, ...]] = SOURCING_ALIASES,
    required: Sequence[str] = SOURCING_REQUIRED,
    fallbacks: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, str]:
    """Map canonical column names to the input's own headers.

    An alias listed in ``fallbacks`` (by canonical name; :data:`SOURCING_FALLBACK_ALIASES` by
    default) is used only when no other alias of that column is present.

    Raises
    ------
    MissingColumnsError
        Listing every missing required column, the accepted aliases and close headers.
    UserInputError
        When two input columns claim the same canonical name.
    """
    from rapidfuzz import process

    by_normalised: dict[str, str] = {}
    for column in columns:
        normalised = _normalise_header(column)
        if normalised in by_normalised:
            raise UserInputError(
                f"{source}: columns {by_normalised[normalised]!r} and {column!r} are the same "
                "name; rename one"
            )
        by_normalised[normalised] = column
    if fallbacks is None:
        fallbacks = SOURCING_FALLBACK_ALIASES
    mapping: dict[str, str] = {}
    for canonical, accepted in aliases.items():
        found = [by_normalised[alias] for alias in accepted if alias in by_normalised]
        preferred = [
            by_normalised[alias]
            for alias in accepted
            if alias in by_normalised and alias not in fallbacks.get(canonical, ())
        ]
        if len(found) > 1 and preferred:
            found = preferred
        if len(found) > 1:
            raise UserInputError(
                f"{source}: columns {', '.join(repr(name) for name in found)} all mean "
                f"{canonical!r}; keep one"
            )
        if found:
            mapping[canonical] = found[0]
    missing = [name for name in required if name not in mapping]
    if missing:
        details = []
        for name in missing:
            close = process.extract(name, list(columns), limit=2, score_cutoff=60)
            hint = f"; closest headers: {', '.join(repr(m[0]) for m in close)}" if close else ""
            details.append(f"{name!r} (accepted: {', '.join(aliases[name])}{hint})")
        raise MissingColumnsError(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            + "; ".join(details)
        )
    return mapping


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
            "status": pa.Column(pl.String, pa.Check.isin([STATUS_SCORED, STATUS_REJECTED])),
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


def require_columns(columns: Iterable[str], required: Iterable[str], source: str) -> None:
    """Raise :class:`MissingColumnsError` naming ``source`` and every required column absent."""
    present = set(columns)
    missing = [column for column in required if column not in present]
    if missing:
        raise _missing_columns_error(source, missing)


def _missing_columns_error(source: str, missing: Sequence[str]) -> MissingColumnsError:
    # The one place that words a missing-columns error for the contracts (to be replaced by the
    # shared helper of riskengine.io.columns).
    return MissingColumnsError(f"{source}: missing columns {', '.join(missing)}")


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
