"""The products table and the reasons of lines and products, in words.

Country names and percentages come from :mod:`riskengine.explain`, so a product's drivers
read like the pair drivers of ``score``.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from riskengine.bom.results import (
    LINE_SCORED,
    PATH_SEPARATOR,
    PRODUCT_PARTIAL,
    PRODUCT_REFUSED,
    PRODUCT_SCHEMA,
    PRODUCT_SCORED,
    PRODUCT_UNSCORED,
    Findings,
    display_name,
    lookup,
)


def plain_number(value: float) -> str:
    """A quantity as people write it: three significant digits, no exponent."""
    if value >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def driver_texts(top_pairs: pl.DataFrame) -> dict[int, str]:
    """Per product order, its top pairs in words."""
    from riskengine.explain import country_name, percent

    texts: dict[int, list[str]] = {}
    for (
        product_order,
        material_id,
        supplier,
        country,
        pair_risk,
        share,
        quantity,
        main_path,
        path_count,
    ) in top_pairs.select(
        "product_order",
        "material_id",
        "supplier",
        "supplier_country_iso3",
        "pair_risk",
        "share",
        "material_quantity",
        "main_path",
        "path_count",
    ).iter_rows():
        steps = main_path.split(PATH_SEPARATOR)
        # The assembly the material goes into: the last step before it on its main path.
        where = "directly" if len(steps) <= 2 else f"via {steps[-2]}"
        if path_count > 1:
            where += f" and {path_count - 1} other path{'s' if path_count > 2 else ''}"
        texts.setdefault(product_order, []).append(
            f"{display_name(material_id)} from {supplier} ({country_name(country)}): pair risk "
            f"{pair_risk:.2f}, {percent(share)} of its supply, {plain_number(quantity)} per "
            f"product unit {where}"
        )
    return {order: "; ".join(parts) for order, parts in texts.items()}


def explain_lines(
    lines: pl.DataFrame,
    findings: Findings,
    *,
    bad_rows: Mapping[int, str],
    unknown: Mapping[str, str],
    missing: Mapping[str, str],
    max_depth: int,
) -> pl.DataFrame:
    """Each line's ``reason``: every problem on its path, or null when it has none."""
    no_supplier = lookup(pl.col("material_id"), missing)
    reason = pl.concat_str(
        lookup(pl.col("node_id"), findings.line_reasons),
        pl.when(pl.col("status") == "too_deep").then(
            pl.lit(f"more than {max_depth} levels deep; not exploded further")
        ),
        lookup(pl.col("bad_row"), bad_rows),
        lookup(pl.col("material"), unknown),
        pl.when(no_supplier.is_not_null()).then(
            pl.concat_str(pl.lit("no scored supplier: "), no_supplier)
        ),
        pl.when(
            (pl.col("status") == LINE_SCORED)
            & pl.col("product_order").is_in(findings.refused().implode())
        ).then(pl.lit("product refused")),
        separator="; ",
        ignore_nulls=True,
    )
    return lines.with_columns(reason.alias("reason")).with_columns(
        pl.when(pl.col("reason") != "").then(pl.col("reason")).alias("reason")
    )


def _reasons(findings: Findings) -> pl.DataFrame:
    """Per product order its reason: refusals first, then what was left out, then notes."""
    ranked = [(0, findings.refusals), (1, findings.omissions), (2, findings.notes)]
    rows = [(order, rank, text) for rank, texts in ranked for order, text in texts]
    frame = pl.DataFrame(
        rows, schema={"product_order": pl.UInt32, "rank": pl.Int8, "text": pl.String}, orient="row"
    )

    def joined(rank: int) -> pl.Expr:
        texts = pl.col("text").filter(pl.col("rank") == rank).str.join("; ")
        return pl.when(texts != "").then(texts)

    return (
        frame.unique(maintain_order=True)
        .group_by("product_order", maintain_order=True)
        .agg(
            joined(0).alias("refusals"),
            joined(1).alias("omissions"),
            joined(2).alias("notes"),
        )
        .select(
            "product_order",
            pl.col("omissions").is_not_null().alias("has_omissions"),
            pl.concat_str(
                pl.concat_str(pl.lit("refused: "), "refusals"),
                "omissions",
                "notes",
                separator="; ",
                ignore_nulls=True,
            ).alias("reason"),
        )
    )


def product_table(
    products: pl.DataFrame,
    lines: pl.DataFrame,
    figures: pl.DataFrame,
    top_pairs: pl.DataFrame,
    findings: Findings,
) -> pl.DataFrame:
    """One row per product (:data:`PRODUCT_SCHEMA`), in first-appearance order.

    ``status``: ``refused`` when any step refused it; ``unscored`` when none of its inputs
    could be scored; ``partial`` when some could and an input was left out (its
    ``risk_score`` is then a lower bound); else ``scored``.
    """
    with_lines = set(lines["product_order"].unique().to_list())
    empty = tuple(
        (order, "no material rows (only text or document items)")
        for order in range(products.height)
        if order not in with_lines
    )
    findings = findings + Findings(notes=empty)
    drivers = driver_texts(top_pairs)
    driving = top_pairs.group_by("product_order", maintain_order=True).first()
    table = (
        products.select("product_order", "product")
        .join(figures, on="product_order", how="left", maintain_order="left")
        .join(
            driving.select(
                "product_order",
                pl.col("material_id").alias("driving_material_id"),
                pl.col("supplier").alias("driving_supplier"),
                pl.col("supplier_country_iso3").alias("driving_supplier_country_iso3"),
            ),
            on="product_order",
            how="left",
            maintain_order="left",
        )
        .join(_reasons(findings), on="product_order", how="left", maintain_order="left")
    )
    status = (
        pl.when(pl.col("product_order").is_in(findings.refused().implode()))
        .then(pl.lit(PRODUCT_REFUSED))
        .when(pl.col("risk_score").is_null())
        .then(pl.lit(PRODUCT_UNSCORED))
        .when(pl.col("has_omissions").fill_null(False))
        .then(pl.lit(PRODUCT_PARTIAL))
        .otherwise(pl.lit(PRODUCT_SCORED))
    )
    return (
        table.with_columns(
            status.alias("status"),
            pl.Series(
                [drivers.get(order) for order in table["product_order"].to_list()],
                dtype=pl.String,
            ).alias("drivers"),
            pl.Series(
                [
                    None if material_id is None else display_name(material_id)
                    for material_id in table["driving_material_id"].to_list()
                ],
                dtype=pl.String,
            ).alias("driving_material"),
        )
        .with_columns(
            pl.when(pl.col("status") == PRODUCT_PARTIAL)
            .then(pl.concat_str("reason", pl.lit("; risk_score covers the scored materials only")))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        .select(list(PRODUCT_SCHEMA))
        .cast(PRODUCT_SCHEMA)
    )
