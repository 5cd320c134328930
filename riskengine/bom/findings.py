"""Problems, refusals and notes found in the exploded lines, one pure function per kind.

Each function returns a :class:`~riskengine.bom.results.Findings` of its own; the pipeline
adds them up, so no step can see or change what another found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from riskengine.bom.graph import Cycles, Graph
from riskengine.bom.results import (
    PATH_SEPARATOR,
    BomProblem,
    Findings,
    display_name,
    list_rows,
)
from riskengine.errors import shorten


def _rows_leaving_cycles(graph: Graph, cycles: Cycles) -> dict[int, str]:
    """Per cycle, in words, the BOM rows that are not exploded because their parent is on it."""
    if not cycles.group_of:
        return {}
    group_of = pl.DataFrame(
        {"parent_id": list(cycles.group_of), "group": list(cycles.group_of.values())},
        schema={"parent_id": pl.UInt32, "group": pl.UInt32},
    )
    rows = (
        graph.edges.join(group_of, on="parent_id")
        .select(
            "group",
            pl.concat_str(
                pl.col("parent_id").replace_strict(
                    {node: graph.names[node] for node in cycles.group_of}, return_dtype=pl.String
                ),
                pl.lit(PATH_SEPARATOR),
                pl.col("component").fill_null("?"),
            ).alias("row"),
        )
        .unique()
        .sort("group", "row")
        .group_by("group", maintain_order=True)
        .agg("row")
    )
    return {
        group: f"these rows from its parts are not exploded: {list_rows(edges)}"
        for group, edges in rows.iter_rows()
    }


def cycle_findings(
    lines: pl.DataFrame, cycles: Cycles, graph: Graph, product_names: Sequence[str]
) -> Findings:
    """One problem and refusal per product and cycle it reaches, with the path from the
    product into the cycle (the rows that close it); one problem per cycle no product
    reaches; and the reason of each line ending on a cycle."""
    names = graph.names
    unexploded = _rows_leaving_cycles(graph, cycles)
    entries = (
        lines.filter(pl.col("status") == "cycle")
        .group_by("product_order", "node_id", maintain_order=True)
        .agg(pl.col("path").min())
        .sort("product_order", "path")
    )
    problems: list[BomProblem] = []
    refusals: list[tuple[int, str]] = []
    line_reasons: dict[int, str] = {}
    reached: set[tuple[int, int]] = set()
    for product_order, node_id, path in entries.iter_rows():
        steps = [names[node] for node in cycles.shortest_cycle(node_id)]
        cycle = PATH_SEPARATOR.join(steps)
        line_reasons[node_id] = f"{names[node_id]} is on the cycle {cycle}"
        group = cycles.group_of[node_id]
        if (product_order, group) in reached:
            continue
        reached.add((product_order, group))
        product = product_names[product_order]
        full_path = PATH_SEPARATOR.join([path, *steps[1:]])
        problems.append(
            BomProblem(
                "cycle",
                product,
                full_path,
                f"{product} contains the cycle {cycle} (via {full_path}); {product} is refused "
                f"and {unexploded[group]}",
            )
        )
        refusals.append((product_order, f"contains the cycle {cycle}"))
    reached_groups = {group for _, group in reached}
    for group, members in enumerate(cycles.groups):
        if group in reached_groups:
            continue
        cycle = PATH_SEPARATOR.join(names[node] for node in cycles.shortest_cycle(members[0]))
        problems.append(
            BomProblem(
                "cycle",
                None,
                cycle,
                f"the cycle {cycle} is reached by no top-level product (each of its parts is a "
                f"component of another), so nothing below it is scored; {unexploded[group]}",
            )
        )
    return Findings(problems=tuple(problems), refusals=tuple(refusals), line_reasons=line_reasons)


def depth_findings(
    lines: pl.DataFrame, product_names: Sequence[str], *, max_depth: int
) -> Findings:
    """A problem and a refusal for each product cut at ``max_depth``."""
    deepest = (
        lines.filter(pl.col("status") == "too_deep")
        .group_by("product_order", maintain_order=True)
        .agg(pl.col("path").min())
        .sort("product_order")
    )
    problems: list[BomProblem] = []
    refusals: list[tuple[int, str]] = []
    for product_order, path in deepest.iter_rows():
        product = product_names[product_order]
        problems.append(
            BomProblem(
                "too_deep",
                product,
                path,
                f"{product} is more than {max_depth} levels deep (at {path}); it is refused",
            )
        )
        refusals.append((product_order, f"more than {max_depth} levels deep at {path}"))
    return Findings(problems=tuple(problems), refusals=tuple(refusals))


def bad_row_findings(lines: pl.DataFrame, bad_rows: Mapping[int, str]) -> Findings:
    """A refusal for each product whose paths use an unusable row (the row's problem is
    already reported once, when the BOM is read)."""
    bad_on_paths = (
        lines.select("product_order", "bad_row")
        .drop_nulls()
        .unique()
        .sort("product_order", "bad_row")
        .group_by("product_order", maintain_order=True)
        .agg("bad_row")
    )
    return Findings(
        refusals=tuple(
            (product_order, list_rows([bad_rows[row] for row in rows]))
            for product_order, rows in bad_on_paths.iter_rows()
        )
    )


def left_out_findings(
    lines: pl.DataFrame,
    product_names: Sequence[str],
    *,
    unknown: Mapping[str, str],
    missing: Mapping[str, str],
) -> Findings:
    """One problem and omission per product and leaf that is unknown or has no scored
    supplier; the omission makes the product ``partial`` (``unscored`` if nothing is scored)."""
    left_out = (
        lines.filter(
            pl.col("material").is_in(list(unknown)) | pl.col("material_id").is_in(list(missing))
        )
        .group_by("product_order", "material", maintain_order=True)
        .agg(pl.col("path").min(), pl.col("material_id").first())
        .sort("product_order", "material")
    )
    problems: list[BomProblem] = []
    omissions: list[tuple[int, str]] = []
    for product_order, material, path, material_id in left_out.iter_rows():
        product = product_names[product_order]
        if material_id is None:
            problems.append(
                BomProblem(
                    "unknown_leaf",
                    product,
                    path,
                    f"leaf {shorten(material)!r} of {product} (at {path}) is neither an "
                    f"assembly of the BOM nor a known material: {unknown[material]}; it is left "
                    f"out of {product}'s roll-up",
                )
            )
            omissions.append(
                (product_order, f"not scored: {shorten(material)!r} is not a known material")
            )
        else:
            name = display_name(material_id)
            why = missing[material_id]
            problems.append(
                BomProblem(
                    "no_sourcing",
                    product,
                    path,
                    f"{name} ({shorten(material)!r}, at {path}) has no scored supplier: {why}; "
                    f"it is left out of {product}'s roll-up",
                )
            )
            omissions.append((product_order, f"not scored: {name} has no scored supplier ({why})"))
    return Findings(problems=tuple(problems), omissions=tuple(omissions))
