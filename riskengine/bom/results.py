"""What :func:`riskengine.bom.score_bom` returns: the problem and result types, the status
words and the schemas of the products and lines tables, shared by every step."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

PROBLEM_KINDS = (
    "excluded_item",
    "zero_quantity",
    "bad_line",
    "bad_quantity",
    "cycle",
    "too_deep",
    "unknown_leaf",
    "no_sourcing",
    "share_sum",
)
PATH_SEPARATOR = " > "
# Reasons naming more than this many BOM rows end with "and N more".
MAX_LISTED_ROWS = 3

PRODUCT_SCORED = "scored"
# Some inputs scored, some left out (unknown leaf, no scored supplier): a lower bound.
PRODUCT_PARTIAL = "partial"
PRODUCT_REFUSED = "refused"
PRODUCT_UNSCORED = "unscored"

LINE_SCORED = "scored"
# A line with several problems takes the first of these as its status.
LINE_STATUSES = (
    "cycle",
    "too_deep",
    "bad_line",
    "bad_quantity",
    "unknown_leaf",
    "no_sourcing",
    LINE_SCORED,
)

PRODUCT_SCHEMA = pl.Schema(
    {
        "product": pl.String(),
        "status": pl.String(),
        "risk_score": pl.Float64(),
        "max_pair_risk": pl.Float64(),
        "driving_material": pl.String(),
        "driving_supplier": pl.String(),
        "exposure": pl.Float64(),
        "value_at_risk": pl.Float64(),
        "drivers": pl.String(),
        "reason": pl.String(),
        "driving_material_id": pl.String(),
        "driving_supplier_country_iso3": pl.String(),
    }
)
LINE_SCHEMA = pl.Schema(
    {
        "product": pl.String(),
        "path": pl.String(),
        "material": pl.String(),
        "material_id": pl.String(),
        "plant": pl.String(),
        "supplier": pl.String(),
        "supplier_country_iso3": pl.String(),
        "buyer_country_iso3": pl.String(),
        "quantity_per_product_unit": pl.Float64(),
        "share": pl.Float64(),
        "pair_risk": pl.Float64(),
        "exposure": pl.Float64(),
        "unit_value": pl.Float64(),
        "value_at_risk": pl.Float64(),
        "contribution": pl.Float64(),
        "status": pl.String(),
        "reason": pl.String(),
    }
)


@dataclass(frozen=True)
class BomProblem:
    """Something in the BOM or the sourcing list that kept part of it from being scored.

    ``kind`` is one of :data:`PROBLEM_KINDS`; ``product`` is the top-level product concerned
    (None for a problem of the file itself), ``path`` the BOM path where it shows.
    """

    kind: str
    product: str | None
    path: str | None
    message: str


@dataclass(frozen=True)
class BomResult:
    """Products (one row each, in first-appearance order), exploded lines and problems."""

    products: pl.DataFrame
    lines: pl.DataFrame
    problems: tuple[BomProblem, ...]


@dataclass(frozen=True)
class Findings:
    """What one step of :func:`riskengine.bom.score_bom` found; steps return these instead of
    changing a shared accumulator, and the pipeline adds them up with ``+``.

    ``refusals`` (the product is refused), ``omissions`` (an input was left out: the product
    is ``partial``) and ``notes`` (said, nothing more) are ``(product order, text)`` pairs;
    ``line_reasons`` maps a node id on a cycle to the reason its lines carry.
    """

    problems: tuple[BomProblem, ...] = ()
    refusals: tuple[tuple[int, str], ...] = ()
    omissions: tuple[tuple[int, str], ...] = ()
    notes: tuple[tuple[int, str], ...] = ()
    line_reasons: Mapping[int, str] = field(default_factory=dict)

    def __add__(self, other: Findings) -> Findings:
        return Findings(
            problems=self.problems + other.problems,
            refusals=self.refusals + other.refusals,
            omissions=self.omissions + other.omissions,
            notes=self.notes + other.notes,
            line_reasons={**self.line_reasons, **other.line_reasons},
        )

    def refused(self) -> pl.Series:
        """Product orders refused by any step, sorted."""
        return pl.Series(sorted({order for order, _ in self.refusals}), dtype=pl.UInt32)


def lookup(key: pl.Expr, mapping: Mapping, dtype: type[pl.DataType] = pl.String) -> pl.Expr:
    """``key`` mapped through ``mapping`` (null where absent; a null literal for no mapping)."""
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return key.replace_strict(dict(mapping), default=None, return_dtype=dtype)


def list_rows(messages: list[str]) -> str:
    """Messages joined by "; ", the ones past :data:`MAX_LISTED_ROWS` counted, not listed."""
    shown = "; ".join(messages[:MAX_LISTED_ROWS])
    if len(messages) > MAX_LISTED_ROWS:
        shown += f"; and {len(messages) - MAX_LISTED_ROWS} more"
    return shown


def display_name(material_id: str) -> str:
    """The catalog's display name of a material."""
    from riskengine.catalog import load_catalog

    return load_catalog().material(material_id).display_name
