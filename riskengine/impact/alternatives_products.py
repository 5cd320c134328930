"""What moving part of a pair's volume to another country does to each product of a BOM, by the
real roll-up (:func:`riskengine.bom.score_bom`) run on the sourcing list with the share moved to
a new supplier in that country."""

from __future__ import annotations

import polars as pl

from riskengine.bom import score_bom
from riskengine.bom.sourcing import SCORED_SOURCING_ALIASES
from riskengine.explain import country_name
from riskengine.impact.alternatives_input import ScoresInput
from riskengine.io.columns import resolve_columns

#: The product-level columns of an alternatives output (with ``--bom``).
PRODUCT_COLUMNS: dict[str, type[pl.DataType]] = {
    "product": pl.String,
    "product_risk_before": pl.Float64,
    "product_risk_after": pl.Float64,
    "product_exposure_before": pl.Float64,
    "product_exposure_after": pl.Float64,
    "product_improvement": pl.Float64,
    "products": pl.String,
}


def _share_column(scores: ScoresInput) -> str:
    columns = resolve_columns(
        scores.frame.columns,
        source=scores.source,
        aliases=SCORED_SOURCING_ALIASES,
        required=(),
        fallbacks={},
    )
    return columns.get("share", "share")


def hypothetical_supplier(country_iso3: str) -> str:
    """The name a moved share's supplier goes by in the roll-up."""
    return f"(new supplier in {country_name(country_iso3)})"


def product_changes(
    bom: pl.DataFrame,
    bom_source: str,
    scores: ScoresInput,
    pairs: pl.DataFrame,
    moves: pl.DataFrame,
    move: float,
) -> pl.DataFrame:
    """What each move does to the products of ``bom``, by the real roll-up.

    Parameters
    ----------
    bom, bom_source
        The BOM as :func:`riskengine.bom.score_bom` reads it, and its name for messages.
    scores
        The scores file; its share column is replaced by ``pairs["pair_share"]`` (normalised
        per sourcing group), so the roll-up before a move is the one ``score-bom`` gives.
    pairs
        One row per row of ``scores``, in order, with ``pair_share``.
    moves
        ``entry`` (row of ``scores``), ``material_id``, ``candidate_country_iso3`` and
        ``candidate_risk_score``.
    move
        The fraction of the pair's share moved to a new supplier in the candidate country.

    Returns
    -------
    pl.DataFrame
        Per move of a material the BOM uses: the product whose expected supply lost
        (``exposure``) drops most in relative terms, its risk and exposure before and after,
        that drop (``product_improvement``), and every product the move reaches, in words.
    """
    share_column = _share_column(scores)
    shares = pairs["pair_share"]
    base = scores.frame.with_columns(shares.alias(share_column)).with_columns(
        pl.col("risk_score").cast(pl.Float64)
    )
    supplier_column = resolve_columns(
        scores.frame.columns,
        source=scores.source,
        aliases=SCORED_SOURCING_ALIASES,
        required=("supplier",),
        fallbacks={},
    )["supplier"]
    baseline = score_bom(bom, base, source=bom_source)
    before = _figures(baseline.products)
    # A move of a material no product uses changes no product: no roll-up to run.
    used = baseline.lines.filter(pl.col("supplier").is_not_null())["material_id"].unique()
    rows = []
    for entry, country, risk in (
        moves.filter(pl.col("material_id").is_in(used.implode()))
        .select("entry", "candidate_country_iso3", "candidate_risk_score")
        .iter_rows()
    ):
        label = hypothetical_supplier(country)
        share = shares[entry]
        moved = base[entry].with_columns(
            pl.lit(label).cast(base.schema[supplier_column]).alias(supplier_column),
            pl.lit(country)
            .cast(base.schema["supplier_country_iso3"])
            .alias("supplier_country_iso3"),
            pl.lit(risk, dtype=pl.Float64).alias("risk_score"),
            pl.lit(share * move, dtype=pl.Float64).alias(share_column),
        )
        kept = base.with_columns(
            pl.when(pl.int_range(pl.len()) == entry)
            .then(pl.col(share_column) * (1.0 - move))
            .otherwise(pl.col(share_column))
            .alias(share_column)
        )
        result = score_bom(bom, pl.concat([kept, moved]), source=bom_source)
        touched = result.lines.filter(pl.col("supplier") == label)["product"].unique()
        after = _figures(result.products).filter(pl.col("product").is_in(touched.implode()))
        rows.append(_compare(entry, country, before, after))
    return pl.DataFrame(
        rows,
        schema={"entry": pl.UInt32, "candidate_country_iso3": pl.String, **PRODUCT_COLUMNS},
        orient="row",
    )


def _figures(products: pl.DataFrame) -> pl.DataFrame:
    return products.select(
        "product", pl.col("risk_score").alias("risk"), pl.col("exposure")
    ).with_row_index("order")


def _compare(entry: int, country: str, before: pl.DataFrame, after: pl.DataFrame) -> tuple:
    joined = after.join(before, on="product", suffix="_before").with_columns(
        pl.when(pl.col("exposure_before") > 0)
        .then(1.0 - pl.col("exposure") / pl.col("exposure_before"))
        .alias("improvement")
    )
    if joined.height == 0:
        return (entry, country, None, None, None, None, None, None, None)
    words = "; ".join(
        f"{row['product']}: risk {row['risk_before']:.3f} -> {row['risk']:.3f}, exposure "
        f"{row['exposure_before']:.4g} -> {row['exposure']:.4g}"
        for row in joined.sort("order").iter_rows(named=True)
    )
    best = joined.sort(["improvement", "order"], descending=[True, False], nulls_last=True).row(
        0, named=True
    )
    return (
        entry,
        country,
        best["product"],
        best["risk_before"],
        best["risk"],
        best["exposure_before"],
        best["exposure"],
        best["improvement"],
        words,
    )
