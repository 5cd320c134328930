"""Product figures from the exploded lines and the scored suppliers (formula in README.md,
"How a product's risk is rolled up").

An *input* of a product is one supplier of one of its materials (a pair, with its
``pair_risk``). Inputs from the same supplier country share the shock: one country's
restriction hits all its flows together, so within a country the largest pair risk counts
(comonotone); countries combine as independent::

    risk_score = 1 − Π over supplier countries c of (1 − max over inputs from c of pair_risk)

so a product is never below its riskiest input, never above 1, and two inputs under the same
country's measure do not count twice. Quantities and values give the size of the loss:
``exposure`` = Σ quantity per product unit × share × pair risk, ``value_at_risk`` the same
times the unit value.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from riskengine.bom.results import LINE_SCORED, display_name
from riskengine.bom.sourcing import Sourcing, sourcing_for_lines

MAX_PRODUCT_DRIVERS = 3
# Country risks this close to 1 would make the log weights of contributions infinite.
_RISK_CEILING_FOR_WEIGHTS = 1.0 - 1e-12
_USE = ["product_order", "material_id", "plant"]


class RollUp(NamedTuple):
    """Lines with one row per path and supplier; product figures (``product_order,
    risk_score, max_pair_risk, exposure, value_at_risk``); the top pairs of each product in
    order; and notes on sourcing averaged over several groups."""

    lines: pl.DataFrame
    figures: pl.DataFrame
    top_pairs: pl.DataFrame
    notes: tuple[tuple[int, str], ...]


def _sum_or_null(values: pl.Expr, name: str) -> pl.Expr:
    # A value at risk that leaves out inputs without a unit value would look complete.
    return pl.when(values.null_count() == 0).then(values.sum()).alias(name)


def _product_risk(pairs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``risk_score`` per product, and the pairs with their ``contribution`` to it.

    The risk splits over countries in proportion to −log(1 − country risk), the additive
    form of the product; a country's part goes to the input(s) that set its maximum, since
    under the shared shock the others add nothing.
    """
    # A supplier with no share supplies nothing and cannot disrupt the product.
    inputs = pl.col("share") > 0
    countries = (
        pairs.filter(inputs)
        # One order for the product and sums below, whatever order the joins gave.
        .sort("product_order", "supplier_country_iso3", "pair_risk", nulls_last=True)
        .group_by("product_order", "supplier_country_iso3", maintain_order=True)
        .agg(pl.col("pair_risk").max().alias("country_risk"))
        .with_columns(
            (-(-pl.col("country_risk").clip(0.0, _RISK_CEILING_FOR_WEIGHTS)).log1p()).alias(
                "weight"
            )
        )
    )
    products = countries.group_by("product_order", maintain_order=True).agg(
        # Rounding in 1 − Π(1 − r) can land a hair below the largest r; the bound is exact.
        pl.max_horizontal(
            1.0 - (1.0 - pl.col("country_risk")).product(), pl.col("country_risk").max()
        )
        .clip(0.0, 1.0)
        .alias("risk_score"),
        pl.col("weight").sum().alias("weight_total"),
    )
    countries = countries.join(products, on="product_order", maintain_order="left").with_columns(
        pl.when(pl.col("weight_total") > 0)
        .then(pl.col("risk_score") * pl.col("weight") / pl.col("weight_total"))
        .otherwise(0.0)
        .alias("country_contribution")
    )
    at_maximum = inputs & (pl.col("pair_risk") == pl.col("country_risk"))
    pairs = (
        pairs.join(
            countries.select(
                "product_order", "supplier_country_iso3", "country_risk", "country_contribution"
            ),
            on=["product_order", "supplier_country_iso3"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(at_maximum.fill_null(False).alias("at_maximum"))
        .with_columns(
            pl.when("at_maximum")
            .then(
                pl.col("country_contribution")
                / pl.col("at_maximum").sum().over("product_order", "supplier_country_iso3")
            )
            .otherwise(0.0)
            .alias("contribution")
        )
        .drop("country_risk", "at_maximum")
    )
    return products.select("product_order", "risk_score"), pairs


def _averaging_notes(averaged: pl.DataFrame, pairs: pl.DataFrame) -> tuple[tuple[int, str], ...]:
    used = (
        pairs.select("product_order", "material_id", "plant")
        .unique()
        .join(averaged, on=["material_id", "plant"], nulls_equal=True)
        .sort("product_order", "material_id", "plant", nulls_last=True)
    )
    notes = []
    for product_order, material_id, plant, groups in used.iter_rows():
        why = (
            "the BOM names no plant"
            if plant is None
            else f"the sourcing list has no {display_name(material_id)} for plant {plant}"
        )
        notes.append(
            (
                product_order,
                f"{display_name(material_id)}: shares averaged over its sourcing groups "
                f"({groups}) because {why}",
            )
        )
    return tuple(notes)


def roll_up(lines: pl.DataFrame, sourcing: Sourcing, refused: pl.Series) -> RollUp:
    """Risk, exposure, value at risk and contributions of each product not ``refused``.

    A line's ``contribution`` is its part of ``risk_score`` (see :func:`_product_risk`),
    split over the paths of a pair by quantity; a product's contributions sum to its
    ``risk_score``. Scored lines of refused products show their suppliers too, without a
    contribution.
    """
    scored = lines.filter(pl.col("status") == LINE_SCORED)
    suppliers, averaged = sourcing_for_lines(sourcing, scored)
    # Sums over paths first, one row per product, material and plant: the exploded lines
    # are many, the suppliers per material few, so they meet only at the end.
    uses = scored.group_by(_USE, maintain_order=True).agg(
        pl.col("quantity").sum().alias("material_quantity"),
        pl.len().alias("path_count"),
        # The route carrying most of the material is the one named in the drivers.
        pl.col("path")
        .sort_by(["quantity", "path"], descending=[True, False])
        .first()
        .alias("main_path"),
        _sum_or_null(pl.col("quantity") * pl.col("unit_value"), "bom_value"),
    )
    pairs = uses.join(
        suppliers.rename({"unit_value": "supplier_value"}),
        on=["material_id", "plant"],
        nulls_equal=True,
        maintain_order="left_right",
    ).with_columns(
        (pl.col("material_quantity") * pl.col("share") * pl.col("pair_risk")).alias("exposure"),
        (
            pl.col("share")
            * pl.col("pair_risk")
            # The supplier's own price when the sourcing list has one, else the BOM's value.
            * pl.coalesce(pl.col("supplier_value") * pl.col("material_quantity"), "bom_value")
        ).alias("value_at_risk"),
    )
    counted = pairs.filter(~pl.col("product_order").is_in(refused.implode())).sort(
        *_USE, "entry", nulls_last=True
    )
    risk, counted = _product_risk(counted)
    figures = (
        counted.group_by("product_order", maintain_order=True)
        .agg(
            pl.col("pair_risk").filter(pl.col("share") > 0).max().alias("max_pair_risk"),
            pl.col("exposure").sum(),
            _sum_or_null(pl.col("value_at_risk"), "value_at_risk"),
        )
        .join(risk, on="product_order", maintain_order="left")
    )
    # Drivers go country by country, riskiest first: an input that shares its country's
    # shock adds nothing to the risk but is hit with the country's largest one.
    top_pairs = (
        counted.sort(
            [
                "product_order",
                "country_contribution",
                "pair_risk",
                "exposure",
                "material_id",
                "entry",
            ],
            descending=[False, True, True, True, False, False],
        )
        .group_by("product_order", maintain_order=True)
        .head(MAX_PRODUCT_DRIVERS)
    )
    pairs = pairs.join(
        counted.select(*_USE, "entry", "contribution"),
        on=[*_USE, "entry"],
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    lines = (
        lines.sort("product_order", "path", "quantity", nulls_last=True)
        # Only scored lines have suppliers (a bad row's material is not bought for it).
        .with_columns(
            pl.when(pl.col("status") == LINE_SCORED)
            .then(pl.col("material_id"))
            .alias("supplier_key")
        )
        .join(
            pairs.select(
                "product_order",
                pl.col("material_id").alias("supplier_key"),
                "plant",
                "buyer_country_iso3",
                "entry",
                "supplier",
                "supplier_country_iso3",
                "share",
                "pair_risk",
                "supplier_value",
                # Paths of a pair share its contribution in proportion to their quantity.
                (pl.col("contribution") / pl.col("material_quantity")).alias("unit_contribution"),
            ),
            on=["product_order", "supplier_key", "plant"],
            how="left",
            nulls_equal=True,
            maintain_order="left_right",
        )
        .with_columns(
            (pl.col("quantity") * pl.col("share") * pl.col("pair_risk")).alias("exposure"),
            pl.coalesce("supplier_value", "unit_value").alias("unit_value"),
            (pl.col("unit_contribution") * pl.col("quantity")).alias("contribution"),
        )
        .with_columns((pl.col("exposure") * pl.col("unit_value")).alias("value_at_risk"))
        .drop("supplier_key", "supplier_value", "unit_contribution")
    )
    return RollUp(lines, figures, top_pairs, _averaging_notes(averaged, counted))
