"""The BOM as a graph: nodes, edges, top-level products, cycles and the explosion into paths.

Cycles are found as strongly connected components by scipy's ``csgraph`` (no search of our
own); the explosion is level by level with joins, so it stays vectorised on deep BOMs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from riskengine.bom.results import PATH_SEPARATOR


@dataclass(frozen=True)
class Graph:
    """Node names by id; edges (``parent_id, component_id, component, factor, plant,
    unit_value, unit_scale, bad_row``); and the products (``product_order, product, node_id``)."""

    names: list[str]
    edges: pl.DataFrame
    products: pl.DataFrame


def build_graph(rows: pl.DataFrame) -> Graph:
    """Nodes and edges of the rows read by :func:`riskengine.bom.reading.read_rows`.

    Products are parents that are never a component, in order of first appearance.
    """
    used = rows.filter(~pl.col("excluded") & pl.col("parent").is_not_null())
    nodes = (
        pl.concat([used["parent"], used["component"]])
        .drop_nulls()
        .unique()
        .to_frame("name")
        .with_row_index("node_id")
    )
    edges = (
        used.join(nodes, left_on="parent", right_on="name", how="left")
        .rename({"node_id": "parent_id"})
        .join(nodes, left_on="component", right_on="name", how="left")
        .rename({"node_id": "component_id"})
        .select(
            "parent_id",
            "component_id",
            "component",
            "factor",
            "plant",
            "unit_value",
            "unit_scale",
            pl.when("unusable").then(pl.col("row")).alias("bad_row"),
        )
    )
    # A parent whose only rows are text items is still a product: it gets a row saying so.
    products = (
        rows.filter(pl.col("parent").is_not_null())
        .group_by("parent")
        .agg(pl.col("row").min())
        .filter(~pl.col("parent").is_in(used["component"].drop_nulls().implode()))
        .sort("row")
        .select(pl.col("parent").alias("product"))
        .with_row_index("product_order")
        .join(nodes, left_on="product", right_on="name", how="left", maintain_order="left")
    )
    return Graph(names=nodes["name"].to_list(), edges=edges, products=products)


@dataclass(frozen=True)
class Cycles:
    """Nodes on cycles, grouped by strongly connected component (groups in name order)."""

    group_of: Mapping[int, int]
    groups: tuple[tuple[int, ...], ...]  # members of each group, first by name first
    successors: Mapping[int, list[int]]  # neighbours in name order

    def node_ids(self) -> pl.Series:
        """The nodes on a cycle, as a one-element list series for ``is_in``."""
        return pl.Series(list(self.group_of), dtype=pl.UInt32).implode()

    def shortest_cycle(self, start: int) -> list[int]:
        """The shortest cycle from ``start`` back to itself, ties broken by name."""
        group = set(self.groups[self.group_of[start]])
        previous: dict[int, int] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for neighbour in self.successors.get(node, ()):
                if neighbour == start:
                    cycle = [node]
                    while cycle[-1] != start:
                        cycle.append(previous[cycle[-1]])
                    return [*reversed(cycle), start]
                if neighbour in group and neighbour not in previous:
                    previous[neighbour] = node
                    queue.append(neighbour)
        # Unreachable: every member of a strongly connected group lies on a cycle.
        raise RuntimeError(f"node {start} is in a cyclic group but on no cycle")


def _strong_components(edges: pl.DataFrame, node_count: int) -> list[list[int]]:
    """Strongly connected components with more than one node or a self-loop."""
    # Imported here: scipy takes longer to import than the CLI takes to start.
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    parents = edges["parent_id"].to_numpy()
    components = edges["component_id"].to_numpy()
    matrix = coo_matrix(
        ([1] * edges.height, (parents, components)), shape=(node_count, node_count)
    ).tocsr()
    _, labels = connected_components(matrix, directed=True, connection="strong")
    members = (
        pl.DataFrame({"node": pl.int_range(node_count, dtype=pl.UInt32, eager=True)})
        .with_columns(pl.Series("label", labels))
        .filter(pl.col("node").is_in(edges["parent_id"].implode()))
        .group_by("label")
        .agg("node")
    )
    looped = set(edges.filter(pl.col("parent_id") == pl.col("component_id"))["parent_id"])
    return [nodes for nodes in members["node"].to_list() if len(nodes) > 1 or nodes[0] in looped]


def find_cycles(graph: Graph, *, pruning_rounds: int) -> Cycles:
    """Nodes on cycles, found without exploding.

    Edges into nodes that are nobody's parent cannot lead to a cycle; removing them over and
    over (vectorised, one round per BOM level) leaves, in a real BOM, nothing or only the parts
    near a cycle, so the component search and the shortest-cycle walks stay small.
    """
    remaining = graph.edges.select("parent_id", "component_id").drop_nulls().unique()
    for _ in range(pruning_rounds):
        pruned = remaining.join(
            remaining.select(pl.col("parent_id").unique().alias("component_id")),
            on="component_id",
            how="semi",
        )
        if pruned.height == remaining.height:
            break
        remaining = pruned
    names = graph.names
    if not remaining.height:
        return Cycles(group_of={}, groups=(), successors={})
    successors: dict[int, list[int]] = {}
    for parent, component in remaining.iter_rows():
        successors.setdefault(parent, []).append(component)
    for neighbours in successors.values():
        neighbours.sort(key=names.__getitem__)
    groups = sorted(
        (
            tuple(sorted(group, key=names.__getitem__))
            for group in _strong_components(remaining, len(names))
        ),
        key=lambda group: names[group[0]],
    )
    group_of = {node: index for index, group in enumerate(groups) for node in group}
    return Cycles(group_of=group_of, groups=tuple(groups), successors=successors)


def explode(graph: Graph, cycles: Cycles, *, max_depth: int) -> pl.DataFrame:
    """Every path from each product down to where it ends, level by level with joins.

    Nodes on a cycle are not expanded, so every path ends: at a leaf, at a node on a cycle
    (status ``cycle``), at a row without component (``bad_line``) or ``max_depth`` levels
    down (``too_deep``). Quantities multiply down the path; ``bad_row`` is the first unusable
    row on it; ``plant`` is the plant of the row nearest the leaf that names one (the plant
    that buys the leaf). Other paths get a null status, decided later from the catalog and
    the sourcing.
    """
    expanding = graph.edges.filter(~pl.col("parent_id").is_in(cycles.node_ids()).fill_null(False))
    parents = expanding["parent_id"].unique().implode()
    frontier = graph.products.join(
        expanding, left_on="node_id", right_on="parent_id", how="inner"
    ).select(
        "product_order",
        pl.col("component_id").alias("node_id"),
        pl.col("component").alias("material"),
        pl.concat_str("product", pl.lit(PATH_SEPARATOR), "component").alias("path"),
        pl.col("factor").alias("quantity"),
        "plant",
        "unit_value",
        "unit_scale",
        "bad_row",
    )
    ended: list[pl.DataFrame] = []
    depth = 1
    while frontier.height:
        going_down = pl.col("node_id").is_in(parents).fill_null(False)
        ended.append(frontier.filter(~going_down))
        frontier = frontier.filter(going_down)
        if not frontier.height or depth >= max_depth:
            break
        frontier = frontier.join(
            expanding, left_on="node_id", right_on="parent_id", how="inner", suffix="_edge"
        ).select(
            "product_order",
            pl.col("component_id").alias("node_id"),
            pl.col("component").alias("material"),
            pl.concat_str("path", pl.lit(PATH_SEPARATOR), "component").alias("path"),
            (pl.col("quantity") * pl.col("factor")).alias("quantity"),
            pl.coalesce("plant_edge", "plant").alias("plant"),
            # The value is the leaf's own, from the row that names it as a component.
            pl.col("unit_value_edge").alias("unit_value"),
            pl.col("unit_scale_edge").alias("unit_scale"),
            pl.coalesce("bad_row", "bad_row_edge").alias("bad_row"),
        )
        depth += 1
    lines = pl.concat(
        [
            *(frame.with_columns(pl.lit(None, dtype=pl.String).alias("status")) for frame in ended),
            frontier.with_columns(pl.lit("too_deep").alias("status")),
        ]
    )
    # Only the unit of the row naming the material counts: the rows above it count
    # assemblies, each per one unit of itself as its own BOM is written.
    lines = lines.with_columns(pl.col("quantity") * pl.col("unit_scale")).drop("unit_scale")
    return lines.with_columns(
        pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(pl.col("node_id").is_in(cycles.node_ids()).fill_null(False))
        .then(pl.lit("cycle"))
        .when(pl.col("material").is_null())
        .then(pl.lit("bad_line"))
        .when(pl.col("bad_row").is_not_null())
        .then(pl.lit("bad_quantity"))
        .alias("status")
    )
