""":func:`score_bom`: read, explode, find, roll up, word; each step a pure function."""

from __future__ import annotations

import polars as pl

from riskengine.bom.findings import (
    bad_row_findings,
    cycle_findings,
    depth_findings,
    left_out_findings,
)
from riskengine.bom.graph import build_graph, explode, find_cycles
from riskengine.bom.reading import parent_child_rows, read_rows
from riskengine.bom.results import LINE_SCHEMA, LINE_SCORED, BomResult, Findings, lookup
from riskengine.bom.rollup import roll_up
from riskengine.bom.sourcing import resolve_leaves, sourcing_part_numbers, sourcing_shares
from riskengine.bom.wording import explain_lines, product_table
from riskengine.mapping import MaterialMapping


def _with_materials(
    lines: pl.DataFrame, material_of: dict[str, str], missing: set[str]
) -> pl.DataFrame:
    """Lines with ``material_id`` and their final status."""
    leafy = pl.col("status").is_null() | (pl.col("status") == "bad_quantity")
    return lines.with_columns(
        pl.when(leafy).then(lookup(pl.col("material"), material_of)).alias("material_id")
    ).with_columns(
        pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(pl.col("material_id").is_null())
        .then(pl.lit("unknown_leaf"))
        .when(pl.col("material_id").is_in(list(missing)))
        .then(pl.lit("no_sourcing"))
        .otherwise(pl.lit(LINE_SCORED))
        .alias("status")
    )


def score_bom(
    bom: pl.DataFrame,
    scored_sourcing: pl.DataFrame,
    *,
    source: str,
    strict: bool = False,
    max_depth: int = 20,
    mapping: MaterialMapping | None = None,
    product: str | None = None,
) -> BomResult:
    """Explode a multi-level BOM and roll the pair risks of its leaves up to each product.

    Parameters
    ----------
    bom
        Rows ``parent, component, quantity`` (per ``base_quantity`` units of parent, default 1),
        optional ``base_quantity``, ``scrap_percent``, ``item_category``, ``plant`` and
        ``unit_value``; SAP names (MATNR, IDNRK, MENGE, BMENG, AUSCH, POSTP, WERKS, NETPR) and
        the other aliases of :data:`riskengine.bom.reading.BOM_ALIASES` are accepted. Numbers
        are read by :func:`riskengine.io.cells.parse_decimal`. Requirement per parent unit =
        quantity / base_quantity × (1 + scrap_percent / 100). Rows of item category T or D are
        skipped. Part names are trimmed, and all-digit ones lose their leading zeros.
    scored_sourcing
        The output of :func:`riskengine.scoring.score_pairs`; only ``scored`` rows are used,
        joined to the leaves by ``material_id`` and, when both name one, by plant. Shares are
        normalised per material, buyer country and plant
        (:mod:`riskengine.bom.sourcing`).
    source
        The BOM's name for messages ("bom.csv").
    strict
        Raise instead of normalising when a group's shares do not sum to 1 (± 0.01).
    max_depth
        Levels below a product after which its explosion stops and it is refused.
    mapping
        The team's reviewed material mapping, applied to leaf names (part numbers or texts)
        before the catalog (:func:`riskengine.bom.sourcing.resolve_leaves`).
    product
        The material an indented list without a level-0 row explodes (a CS12 export's
        "Material …" line, or ``--product``; :func:`riskengine.bom.reading.parent_child_rows`).

    Returns
    -------
    BomResult
        ``products``: one row per top-level product (a parent that is never a component), in
        order of first appearance, figures as in :mod:`riskengine.bom.rollup` and status as
        in :func:`riskengine.bom.wording.product_table`. ``lines``: one row per exploded path
        and supplier (one row with no supplier when the path has none). ``problems``: every
        excluded or unusable row, cycle, cut-off product, unknown leaf, material without
        scored suppliers and share sum off 1.

    Raises
    ------
    MissingColumnsError
        When the BOM or the scored sourcing list lacks a required column.
    UserInputError
        In ``strict`` mode, when the shares of a material used by the BOM do not sum to 1.
    """
    if max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, not {max_depth}")
    rows = read_rows(parent_child_rows(bom, source=source, product=product), source=source)
    graph = build_graph(rows.frame)
    names = graph.products["product"].to_list()
    cycles = find_cycles(graph, pruning_rounds=max_depth + 2)
    lines = explode(graph, cycles, max_depth=max_depth)

    leafy = pl.col("status").is_null() | (pl.col("status") == "bad_quantity")
    material_of, unknown = resolve_leaves(
        lines.filter(leafy)["material"].unique().to_list(),
        mapping,
        sourcing_part_numbers(scored_sourcing),
    )
    sourcing = sourcing_shares(scored_sourcing, sorted(set(material_of.values())), strict=strict)
    lines = _with_materials(lines, material_of, set(sourcing.missing))

    findings = (
        Findings(problems=rows.problems)
        + cycle_findings(lines, cycles, graph, names)
        + depth_findings(lines, names, max_depth=max_depth)
        + bad_row_findings(lines, rows.bad_rows)
        + Findings(problems=sourcing.problems)
        + left_out_findings(lines, names, unknown=unknown, missing=sourcing.missing)
    )
    rolled = roll_up(lines, sourcing, findings.refused())
    findings = findings + Findings(notes=rolled.notes)
    lines = explain_lines(
        rolled.lines,
        findings,
        bad_rows=rows.bad_rows,
        unknown=unknown,
        missing=sourcing.missing,
        max_depth=max_depth,
    )
    products = product_table(graph.products, lines, rolled.figures, rolled.top_pairs, findings)
    lines = (
        lines.join(
            graph.products.select("product_order", "product"),
            on="product_order",
            how="left",
            maintain_order="left",
        )
        .rename({"quantity": "quantity_per_product_unit"})
        .select(list(LINE_SCHEMA))
        .cast(LINE_SCHEMA)
    )
    return BomResult(products=products, lines=lines, problems=findings.problems)
