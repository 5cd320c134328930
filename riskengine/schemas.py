"""Output columns and validation at the boundary.

The input column names and their aliases live in :mod:`riskengine.io.columns` (re-exported
here for the modules that still import them from this one).
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from riskengine.bands import RISK_BANDS
from riskengine.io.columns import (  # noqa: F401 - re-exported for riskengine.report
    SOURCING_ALIASES,
    SOURCING_FALLBACK_ALIASES,
    SOURCING_REQUIRED,
    resolve_columns,
)

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
