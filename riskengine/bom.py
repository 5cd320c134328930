"""Explode multi-level bills of materials and roll supplier risk up to each top-level product.

A BOM is a list of edges ``parent → component`` with the quantity of component needed for one
unit of parent (DESIGN §7). Top-level products are parents that are never components; leaves are
components that are never parents, and each leaf is a catalog material bought from the suppliers
of a scored sourcing list (the output of :func:`riskengine.scoring.score_pairs`).

Nothing is dropped silently: every top-level product gets a row (``scored``, ``refused`` or
``unscored``) with a reason, every exploded path gets at least one line, and every BOM row that
is not exploded (text and document items, unusable quantities, cycles no product reaches) is a
:class:`BomProblem`. Rows are named "``<source>`` row N", N counting data rows from 1.

Pure functions of polars frames; reading and writing happen in :mod:`riskengine.io`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.errors import UnknownMaterialError, UserInputError
from riskengine.io.cells import parse_share
from riskengine.io.columns import SOURCING_ALIASES, resolve_columns
from riskengine.schemas import STATUS_SCORED

BOM_ALIASES: dict[str, tuple[str, ...]] = {
    "parent": (
        "parent",
        "parent_material",
        "parent_material_id",
        "parent_part",
        "assembly",
        "header_material",
        "matnr",
    ),
    "component": (
        "component",
        "component_material",
        "component_material_id",
        "component_part",
        "child",
        "idnrk",
    ),
    "quantity": ("quantity", "component_quantity", "component_qty", "qty", "menge"),
    "base_quantity": ("base_quantity", "base_qty", "bmeng"),
    "scrap_percent": ("scrap_percent", "scrap_pct", "component_scrap", "scrap", "ausch"),
    "item_category": ("item_category", "postp"),
}
BOM_REQUIRED = ("parent", "component", "quantity")

PROBLEM_KINDS = (
    "excluded_item",
    "bad_line",
    "bad_quantity",
    "cycle",
    "too_deep",
    "unknown_leaf",
    "no_sourcing",
    "share_sum",
)
# SAP item categories (STPO.POSTP) that carry no material: text and document items.
EXCLUDED_ITEM_CATEGORIES = ("T", "D")
SHARE_TOLERANCE = 0.01
PATH_SEPARATOR = " > "
MAX_PRODUCT_DRIVERS = 3
# Reasons naming more than this many BOM rows end with "and N more".
MAX_LISTED_ROWS = 3

PRODUCT_SCORED = "scored"
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

PRODUCT_SCHEMA: dict[str, type[pl.DataType]] = {
    "product": pl.String,
    "status": pl.String,
    "risk_score": pl.Float64,
    "max_pair_risk": pl.Float64,
    "driving_material": pl.String,
    "driving_supplier": pl.String,
    "exposure": pl.Float64,
    "drivers": pl.String,
    "reason": pl.String,
    "driving_material_id": pl.String,
    "driving_supplier_country_iso3": pl.String,
}
LINE_SCHEMA: dict[str, type[pl.DataType]] = {
    "product": pl.String,
    "path": pl.String,
    "material": pl.String,
    "material_id": pl.String,
    "supplier": pl.String,
    "supplier_country_iso3": pl.String,
    "quantity_per_product_unit": pl.Float64,
    "share": pl.Float64,
    "pair_risk": pl.Float64,
    "exposure": pl.Float64,
    "contribution": pl.Float64,
    "status": pl.String,
    "reason": pl.String,
}

_SCORED_SOURCING = "scored sourcing list"
# Material risks this close to 1 would make the log weights of contributions infinite.
_RISK_CEILING_FOR_WEIGHTS = 1.0 - 1e-12


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


# --------------------------------------------------------------------------------- parsing


def _texts(values: pl.Series) -> pl.Series:
    text = values.cast(pl.String).str.strip_chars()
    return text.set(text == "", None)


def _identifiers(values: pl.Series) -> pl.Series:
    text = _texts(values)
    # SAP exports numeric material numbers zero-padded or not (ALPHA conversion), sometimes
    # both in one file; one form for both so "000123" and "123" are the same part.
    padded = text.str.starts_with("0") & text.str.contains(r"^\d+$")
    if not padded.any():
        return text
    unpadded = text.str.strip_chars_start("0")
    return text.zip_with(~padded.fill_null(False), unpadded.set(unpadded == "", "0"))


def parse_numbers(values: pl.Series) -> pl.Series:
    """Number cells as Float64 (null when empty or unreadable).

    Text cells accept a decimal comma ("1,5"), thousands separators ("1.234,5", "1,234.5",
    "1 234,5") and SAP's trailing minus ("100-"). A lone comma is always decimal: SAP writes
    quantities with three decimals, so "1,000" is one, not a thousand.
    """
    if values.dtype.is_numeric():
        return values.cast(pl.Float64)
    text = _texts(values)
    numbers = text.cast(pl.Float64, strict=False)
    unread = numbers.is_null() & text.is_not_null()
    if not unread.any():
        return numbers
    # Only the cells a plain cast could not read take the slow road.
    indices = unread.arg_true()
    cleaned = text.gather(indices).str.replace_all(r"[\s\u00a0']", "")
    cleaned = cleaned.str.replace(r"^(.*\d)-$", "-$1")
    comma_is_decimal = cleaned.str.contains(r",[^.]*$")
    cleaned = (
        pl.DataFrame({"text": cleaned, "decimal": comma_is_decimal})
        .select(
            pl.when("decimal")
            .then(
                pl.col("text")
                .str.replace_all(".", "", literal=True)
                .str.replace(",", ".", literal=True)
            )
            .otherwise(pl.col("text").str.replace_all(",", "", literal=True))
        )
        .to_series()
    )
    return numbers.scatter(indices, cleaned.cast(pl.Float64, strict=False))


def _number_problem(
    raw: str | None,
    value: float | None,
    label: str,
    valid: Callable[[float], bool],
    rule: str,
    *,
    required: bool,
) -> str | None:
    """Why a number cell is unusable, or None; an empty optional cell is fine."""
    if raw is None:
        return f"{label} is empty" if required else None
    if value is None:
        return f"{label} {raw!r} is not a number"
    if not math.isfinite(value) or not valid(value):
        return f"{label} {raw!r} is not {rule}"
    return None


def _row_label(source: str, row: int, parent: str | None, component: str | None) -> str:
    return f"{source} row {row + 1} ({parent or '?'}{PATH_SEPARATOR}{component or '?'})"


def _prepare_rows(
    bom: pl.DataFrame, *, source: str
) -> tuple[pl.DataFrame, list[BomProblem], dict[int, str]]:
    """One row per BOM row with keys and requirement per parent unit; the problems of excluded
    and unusable rows; and the message of each unusable row by row index."""
    columns = resolve_columns(
        bom.columns, source=source, aliases=BOM_ALIASES, required=BOM_REQUIRED
    )
    empty_numbers = pl.Series([None] * bom.height, dtype=pl.Float64)

    def numbers(canonical: str) -> pl.Series:
        return parse_numbers(bom[columns[canonical]]) if canonical in columns else empty_numbers

    parent = _identifiers(bom[columns["parent"]])
    component = _identifiers(bom[columns["component"]])
    quantity = numbers("quantity")
    base = numbers("base_quantity")
    scrap = numbers("scrap_percent")
    category = (
        _texts(bom[columns["item_category"]]).str.to_uppercase()
        if "item_category" in columns
        else pl.Series([None] * bom.height, dtype=pl.String)
    )
    frame = pl.DataFrame(
        {
            "row": pl.int_range(bom.height, dtype=pl.UInt32, eager=True),
            "parent": parent,
            "component": component,
            "category": category,
            "quantity": quantity,
            "base": base,
            "scrap": scrap,
        }
    )
    has_cell = {
        canonical: _texts(bom[columns[canonical]]).is_not_null()
        if canonical in columns
        else pl.Series([False] * bom.height)
        for canonical in ("base_quantity", "scrap_percent")
    }
    frame = frame.with_columns(
        pl.col("category").is_in(EXCLUDED_ITEM_CATEGORIES).fill_null(False).alias("excluded"),
        (
            ~(pl.col("quantity").is_finite() & (pl.col("quantity") > 0)).fill_null(False)
            | pl.col("quantity").is_null()
            | (
                has_cell["base_quantity"] & ~(pl.col("base").is_finite() & (pl.col("base") > 0))
            ).fill_null(True)
            | (
                has_cell["scrap_percent"]
                & ~(pl.col("scrap").is_finite() & (pl.col("scrap") >= 0) & (pl.col("scrap") < 100))
            ).fill_null(True)
            | pl.col("parent").is_null()
            | pl.col("component").is_null()
        ).alias("unusable"),
    ).with_columns(
        (pl.col("unusable") & ~pl.col("excluded")).alias("unusable"),
        pl.when(pl.col("unusable") | pl.col("excluded"))
        .then(None)
        .otherwise(
            pl.col("quantity")
            / pl.col("base").fill_null(1.0)
            * (1.0 + pl.col("scrap").fill_null(0.0) / 100.0)
        )
        .alias("factor"),
    )

    problems: list[BomProblem] = []
    messages: dict[int, str] = {}
    flagged = (frame["excluded"] | frame["unusable"]).arg_true()
    raw = {
        canonical: _texts(bom[columns[canonical]].gather(flagged)).to_list()
        if canonical in columns
        else [None] * len(flagged)
        for canonical in ("quantity", "base_quantity", "scrap_percent")
    }
    picked = frame[flagged]
    for index, (row, parent_key, component_key, item, excluded) in enumerate(
        picked.select("row", "parent", "component", "category", "excluded").iter_rows()
    ):
        label = _row_label(source, row, parent_key, component_key)
        if excluded:
            item_kind = "text" if item == "T" else "document"
            problems.append(
                BomProblem(
                    "excluded_item",
                    None,
                    None,
                    f"{label}: {item_kind} item (category {item}) carries no material; skipped",
                )
            )
            continue
        line_details = [
            f"{name} is empty"
            for name, key in (("parent", parent_key), ("component", component_key))
            if key is None
        ]
        number_details = [
            detail
            for detail in (
                _number_problem(
                    raw["quantity"][index],
                    picked["quantity"][index],
                    "quantity",
                    lambda value: value > 0,
                    "a positive number (negative quantities are SAP by-products, not supported)",
                    required=True,
                ),
                _number_problem(
                    raw["base_quantity"][index],
                    picked["base"][index],
                    "base quantity",
                    lambda value: value > 0,
                    "a positive number",
                    required=False,
                ),
                _number_problem(
                    raw["scrap_percent"][index],
                    picked["scrap"][index],
                    "scrap percentage",
                    lambda value: 0 <= value < 100,
                    "at least 0 and below 100",
                    required=False,
                ),
            )
            if detail is not None
        ]
        kind = "bad_line" if line_details else "bad_quantity"
        message = f"{label}: {'; '.join(line_details + number_details)}"
        messages[row] = message
        consequence = (
            "the row belongs to no product"
            if parent_key is None
            else "every product using it is refused"
        )
        problems.append(BomProblem(kind, None, None, f"{message}; {consequence}"))
    return frame.drop("quantity", "base", "scrap"), problems, messages


# ---------------------------------------------------------------------------------- graph


@dataclass(frozen=True)
class _Graph:
    names: list[str]  # node id → name
    edges: pl.DataFrame  # parent_id, component_id, component, factor, bad_row
    products: pl.DataFrame  # product_order, product, node_id


def _build_graph(rows: pl.DataFrame) -> _Graph:
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
    return _Graph(names=nodes["name"].to_list(), edges=edges, products=products)


# ---------------------------------------------------------------------------------- cycles


def _strongly_connected(successors: dict[int, list[int]], order: list[int]) -> list[list[int]]:
    """Tarjan's strongly connected components, iterative so deep graphs do not recurse."""
    index_of: dict[int, int] = {}
    lowest: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    components: list[list[int]] = []
    for root in order:
        if root in index_of:
            continue
        index_of[root] = lowest[root] = len(index_of)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(successors.get(root, ())))]
        while work:
            node, neighbours = work[-1]
            descended = False
            for neighbour in neighbours:
                if neighbour not in index_of:
                    index_of[neighbour] = lowest[neighbour] = len(index_of)
                    stack.append(neighbour)
                    on_stack.add(neighbour)
                    work.append((neighbour, iter(successors.get(neighbour, ()))))
                    descended = True
                    break
                if neighbour in on_stack:
                    lowest[node] = min(lowest[node], index_of[neighbour])
            if descended:
                continue
            work.pop()
            if work:
                caller = work[-1][0]
                lowest[caller] = min(lowest[caller], lowest[node])
            if lowest[node] == index_of[node]:
                component: list[int] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    return components


@dataclass(frozen=True)
class _Cycles:
    """Nodes on cycles, grouped by strongly connected component (groups in name order)."""

    group_of: dict[int, int]
    groups: tuple[tuple[int, ...], ...]  # members of each group, first by name first
    successors: dict[int, list[int]]  # neighbours in name order

    def node_ids(self) -> pl.Series:
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
        raise AssertionError(f"node {start} is in a cyclic group but on no cycle")


def _find_cycles(graph: _Graph, *, pruning_rounds: int) -> _Cycles:
    """Nodes on cycles, found without exploding.

    Edges into nodes that are nobody's parent cannot lead to a cycle; removing them over and
    over (vectorised, one round per BOM level) leaves, in a real BOM, nothing or only the parts
    near a cycle, where Tarjan's algorithm in Python is cheap.
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
    successors: dict[int, list[int]] = {}
    for parent, component in remaining.iter_rows():
        successors.setdefault(parent, []).append(component)
    for neighbours in successors.values():
        neighbours.sort(key=names.__getitem__)
    order = sorted(successors, key=names.__getitem__)
    groups = [
        tuple(sorted(group, key=names.__getitem__))
        for group in _strongly_connected(successors, order)
        if len(group) > 1 or group[0] in successors.get(group[0], ())
    ]
    groups.sort(key=lambda group: names[group[0]])
    group_of = {node: index for index, group in enumerate(groups) for node in group}
    return _Cycles(group_of=group_of, groups=tuple(groups), successors=successors)


# ------------------------------------------------------------------------------- explosion


def _explode(graph: _Graph, cycles: _Cycles, *, max_depth: int) -> pl.DataFrame:
    """Every path from each product down to where it ends, level by level with joins.

    Nodes on a cycle are not expanded, so every path ends: at a leaf, at a node on a cycle
    (status ``cycle``), at a row without component (``bad_line``) or ``max_depth`` levels
    down (``too_deep``). Quantities multiply down the path; ``bad_row`` is the first unusable
    row on it. Paths otherwise get a null status, decided later from the catalog and sourcing.
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
            pl.coalesce("bad_row", "bad_row_edge").alias("bad_row"),
        )
        depth += 1
    lines = pl.concat(
        [
            *(frame.with_columns(pl.lit(None, dtype=pl.String).alias("status")) for frame in ended),
            frontier.with_columns(pl.lit("too_deep").alias("status")),
        ]
    )
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


# ------------------------------------------------------------------------------- sourcing


@dataclass(frozen=True)
class _Sourcing:
    # material_id, entry, supplier, supplier_country_iso3, share, pair_risk, weighted_risk
    suppliers: pl.DataFrame
    problems: list[BomProblem]
    missing: dict[str, str]  # material_id → why it has no scored supplier


def _display_name(material_id: str) -> str:
    return load_catalog().material(material_id).display_name


def _sourcing_shares(
    scored_sourcing: pl.DataFrame, material_ids: Sequence[str], *, strict: bool
) -> _Sourcing:
    """Scored suppliers of each needed material, with shares that sum to 1."""
    aliases = {
        "material_id": ("material_id",),
        "supplier": SOURCING_ALIASES["supplier"],
        "supplier_country_iso3": ("supplier_country_iso3",),
        "risk_score": ("risk_score",),
        "status": ("status",),
        "reason": ("reason",),
        "share": SOURCING_ALIASES["share"],
    }
    columns = resolve_columns(
        scored_sourcing.columns,
        source=_SCORED_SOURCING,
        aliases=aliases,
        required=("material_id", "supplier", "supplier_country_iso3", "risk_score", "status"),
    )
    height = scored_sourcing.height
    sourcing = pl.DataFrame(
        {
            "entry": pl.int_range(height, dtype=pl.UInt32, eager=True),
            "material_id": scored_sourcing[columns["material_id"]].cast(pl.String),
            "supplier": scored_sourcing[columns["supplier"]].cast(pl.String),
            "supplier_country_iso3": scored_sourcing[columns["supplier_country_iso3"]].cast(
                pl.String
            ),
            "pair_risk": scored_sourcing[columns["risk_score"]].cast(pl.Float64),
            "usable": scored_sourcing[columns["status"]].cast(pl.String) == STATUS_SCORED,
            "reason": (
                scored_sourcing[columns["reason"]].cast(pl.String)
                if "reason" in columns
                else pl.Series([None] * height, dtype=pl.String)
            ),
            # The same parser and the same per-column percent decision as `score`: "80%"
            # is 0.8, and bare 80 / 20 in one column are percentages.
            "given_share": (
                parse_share(
                    scored_sourcing[columns["share"]],
                    column=columns["share"],
                    source=_SCORED_SOURCING,
                ).values
                if "share" in columns
                else pl.Series([None] * height, dtype=pl.Float64)
            ),
        }
    ).filter(pl.col("material_id").is_in(pl.Series(material_ids, dtype=pl.String).implode()))
    usable = pl.col("usable").fill_null(False) & pl.col("pair_risk").is_not_null()
    rejected = sourcing.filter(~usable)
    suppliers = (
        sourcing.filter(usable)
        .with_columns(
            pl.len().over("material_id").alias("suppliers"),
            pl.col("given_share").count().over("material_id").alias("given"),
            pl.col("given_share").sum().over("material_id").alias("given_sum"),
        )
        .with_columns(
            # A missing share takes an equal part of what the given shares leave, or an equal
            # part of the whole when no supplier of the material has a share.
            pl.when(pl.col("given_share").is_not_null())
            .then(pl.col("given_share"))
            .when(pl.col("given") == 0)
            .then(1.0 / pl.col("suppliers"))
            .otherwise(
                (1.0 - pl.col("given_sum")).clip(lower_bound=0.0)
                / (pl.col("suppliers") - pl.col("given"))
            )
            .alias("filled_share")
        )
        .with_columns(pl.col("filled_share").sum().over("material_id").alias("share_total"))
        .with_columns(
            pl.when(pl.col("share_total") > 0)
            .then(pl.col("filled_share") / pl.col("share_total"))
            .otherwise(1.0 / pl.col("suppliers"))
            .alias("share")
        )
        .sort("material_id", "entry")
    )

    rejected_counts = dict(rejected.group_by("material_id").len().iter_rows())
    problems: list[BomProblem] = []
    summary = (
        suppliers.group_by("material_id")
        .agg(pl.col("suppliers", "given", "given_sum", "share_total").first())
        .sort("material_id")
    )
    for material_id, count, given, given_sum, total in summary.iter_rows():
        starved = given < count and given_sum >= 1.0 - SHARE_TOLERANCE
        if abs(total - 1.0) <= SHARE_TOLERANCE and not starved:
            continue
        name = _display_name(material_id)
        if given == count:
            message = f"shares of {name} sum to {given_sum:.4g}, not 1"
        else:
            message = (
                f"shares given for {given} of the {count} suppliers of {name} sum to "
                f"{given_sum:.4g}"
            )
            if starved:
                message += f", leaving nothing for the {count - given} without a share"
        message += "; split equally instead" if total <= 0 else "; normalised to sum to 1"
        if rejected_counts.get(material_id):
            message += f" ({rejected_counts[material_id]} rejected sourcing row(s) left out)"
        problems.append(BomProblem("share_sum", None, None, message))
    if strict and problems:
        raise UserInputError(
            f"{_SCORED_SOURCING}: supply shares do not sum to 1 (strict mode): "
            + "; ".join(problem.message for problem in problems)
        )

    covered = set(suppliers["material_id"].to_list())
    missing: dict[str, str] = {}
    for material_id in material_ids:
        if material_id in covered:
            continue
        rows = rejected.filter(pl.col("material_id") == material_id)
        if rows.height:
            first = next((reason for reason in rows["reason"].to_list() if reason), "no score")
            missing[material_id] = (
                f"all {rows.height} sourcing row(s) of it were rejected (first: {first})"
            )
        else:
            missing[material_id] = "it is not in the sourcing list"
    return _Sourcing(
        suppliers=suppliers.select(
            "material_id",
            "entry",
            "supplier",
            "supplier_country_iso3",
            "share",
            "pair_risk",
            (pl.col("share") * pl.col("pair_risk")).alias("weighted_risk"),
        ),
        problems=problems,
        missing=missing,
    )


# ------------------------------------------------------------------------------ findings


@dataclass
class _Findings:
    """What the stages of :func:`score_bom` found, gathered for the products and problems."""

    product_names: list[str]
    problems: list[BomProblem]
    bad_rows: dict[int, str]  # row index → message
    refusals: list[tuple[int, str]] = field(default_factory=list)  # (product order, reason)
    notes: list[tuple[int, str]] = field(default_factory=list)
    line_reasons: dict[int, str] = field(default_factory=dict)  # cyclic node id → reason

    def refused(self) -> pl.Series:
        return pl.Series(sorted({order for order, _ in self.refusals}), dtype=pl.UInt32)


def _lookup(key: pl.Expr, mapping: dict, dtype: type[pl.DataType] = pl.String) -> pl.Expr:
    if not mapping:
        return pl.lit(None, dtype=dtype)
    return key.replace_strict(mapping, default=None, return_dtype=dtype)


def _list_rows(messages: list[str]) -> str:
    shown = "; ".join(messages[:MAX_LISTED_ROWS])
    if len(messages) > MAX_LISTED_ROWS:
        shown += f"; and {len(messages) - MAX_LISTED_ROWS} more"
    return shown


def _rows_leaving_cycles(graph: _Graph, cycles: _Cycles) -> dict[int, str]:
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
        group: f"these rows from its parts are not exploded: {_list_rows(edges)}"
        for group, edges in rows.iter_rows()
    }


def _report_cycles(
    lines: pl.DataFrame, cycles: _Cycles, graph: _Graph, findings: _Findings
) -> None:
    """One problem per product and cycle, with the path from the product into the cycle, and
    one per cycle no product reaches."""
    names = graph.names
    unexploded = _rows_leaving_cycles(graph, cycles)
    entries = (
        lines.filter(pl.col("status") == "cycle")
        .group_by("product_order", "node_id")
        .agg(pl.col("path").min())
        .sort("product_order", "path")
    )
    reached: set[tuple[int, int]] = set()
    for product_order, node_id, path in entries.iter_rows():
        steps = [names[node] for node in cycles.shortest_cycle(node_id)]
        cycle = PATH_SEPARATOR.join(steps)
        findings.line_reasons[node_id] = f"{names[node_id]} is on the cycle {cycle}"
        group = cycles.group_of[node_id]
        if (product_order, group) in reached:
            continue
        reached.add((product_order, group))
        product = findings.product_names[product_order]
        full_path = PATH_SEPARATOR.join([path, *steps[1:]])
        findings.problems.append(
            BomProblem(
                "cycle",
                product,
                full_path,
                f"{product} contains the cycle {cycle} (via {full_path}); {product} is refused "
                f"and {unexploded[group]}",
            )
        )
        findings.refusals.append((product_order, f"contains the cycle {cycle}"))
    reached_groups = {group for _, group in reached}
    for group, members in enumerate(cycles.groups):
        if group in reached_groups:
            continue
        cycle = PATH_SEPARATOR.join(names[node] for node in cycles.shortest_cycle(members[0]))
        findings.problems.append(
            BomProblem(
                "cycle",
                None,
                cycle,
                f"the cycle {cycle} is reached by no top-level product (each of its parts is a "
                f"component of another), so nothing below it is scored; {unexploded[group]}",
            )
        )


def _report_refusals(lines: pl.DataFrame, findings: _Findings, *, max_depth: int) -> None:
    """Refuse the products cut at ``max_depth`` and those whose paths use an unusable row."""
    deepest = (
        lines.filter(pl.col("status") == "too_deep")
        .group_by("product_order")
        .agg(pl.col("path").min())
        .sort("product_order")
    )
    for product_order, path in deepest.iter_rows():
        product = findings.product_names[product_order]
        findings.problems.append(
            BomProblem(
                "too_deep",
                product,
                path,
                f"{product} is more than {max_depth} levels deep (at {path}); it is refused",
            )
        )
        findings.refusals.append((product_order, f"more than {max_depth} levels deep at {path}"))
    bad_on_paths = (
        lines.select("product_order", "bad_row")
        .drop_nulls()
        .unique()
        .sort("product_order", "bad_row")
        .group_by("product_order", maintain_order=True)
        .agg("bad_row")
    )
    for product_order, bad_rows in bad_on_paths.iter_rows():
        listed = _list_rows([findings.bad_rows[row] for row in bad_rows])
        findings.refusals.append((product_order, listed))


def _attach_materials(
    lines: pl.DataFrame, scored_sourcing: pl.DataFrame, findings: _Findings, *, strict: bool
) -> tuple[pl.DataFrame, _Sourcing, dict[str, str]]:
    """Resolve each distinct leaf once; returns the lines with ``material_id`` and final
    status, the sourcing, and why each unknown leaf is unknown."""
    leafy = pl.col("status").is_null() | (pl.col("status") == "bad_quantity")
    catalog = load_catalog()
    material_of: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for name in sorted(lines.filter(leafy)["material"].unique().to_list()):
        try:
            material_of[name] = catalog.resolve_material(name).material_id
        except UnknownMaterialError as error:
            unknown[name] = str(error)
    sourcing = _sourcing_shares(scored_sourcing, sorted(set(material_of.values())), strict=strict)
    findings.problems.extend(sourcing.problems)
    lines = lines.with_columns(
        pl.when(leafy).then(_lookup(pl.col("material"), material_of)).alias("material_id")
    ).with_columns(
        pl.when(pl.col("status").is_not_null())
        .then(pl.col("status"))
        .when(pl.col("material_id").is_null())
        .then(pl.lit("unknown_leaf"))
        .when(pl.col("material_id").is_in(list(sourcing.missing)))
        .then(pl.lit("no_sourcing"))
        .otherwise(pl.lit(LINE_SCORED))
        .alias("status")
    )
    return lines, sourcing, unknown


def _report_left_out(
    lines: pl.DataFrame, sourcing: _Sourcing, unknown: dict[str, str], findings: _Findings
) -> None:
    """One problem per product and leaf that is unknown or has no scored supplier."""
    left_out = (
        lines.filter(
            pl.col("material").is_in(list(unknown))
            | pl.col("material_id").is_in(list(sourcing.missing))
        )
        .group_by("product_order", "material")
        .agg(pl.col("path").min(), pl.col("material_id").first())
        .sort("product_order", "material")
    )
    for product_order, material, path, material_id in left_out.iter_rows():
        product = findings.product_names[product_order]
        if material_id is None:
            findings.problems.append(
                BomProblem(
                    "unknown_leaf",
                    product,
                    path,
                    f"leaf {material!r} of {product} (at {path}) is neither an assembly of the "
                    f"BOM nor a known material: {unknown[material]}; it is left out of "
                    f"{product}'s roll-up",
                )
            )
            findings.notes.append(
                (product_order, f"not scored: {material!r} is not a known material")
            )
        else:
            name = _display_name(material_id)
            why = sourcing.missing[material_id]
            findings.problems.append(
                BomProblem(
                    "no_sourcing",
                    product,
                    path,
                    f"{name} ({material!r}, at {path}) has no scored supplier: {why}; it is left "
                    f"out of {product}'s roll-up",
                )
            )
            findings.notes.append(
                (product_order, f"not scored: {name} has no scored supplier ({why})")
            )


# -------------------------------------------------------------------------------- roll-up


def _roll_up(
    lines: pl.DataFrame, sourcing: _Sourcing, findings: _Findings
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Risk, exposure and contributions (formulas in :func:`score_bom`).

    Product figures come from one row per product, material and supplier; only the final
    contributions touch the exploded lines. Returns (lines with one row per supplier, product
    figures, the top pairs of each product in order).
    """
    counted = (pl.col("status") == LINE_SCORED) & ~pl.col("product_order").is_in(
        findings.refused().implode()
    )
    material_risk = (
        sourcing.suppliers.group_by("material_id")
        .agg(pl.col("weighted_risk").sum().alias("material_risk"))
        .with_columns(
            (-(-pl.col("material_risk").clip(0.0, _RISK_CEILING_FOR_WEIGHTS)).log1p()).alias(
                "weight"
            )
        )
    )
    uses = (
        lines.filter(counted)
        .group_by("product_order", "material_id")
        .agg(
            pl.col("quantity").sum().alias("material_quantity"),
            pl.len().alias("path_count"),
            # The route carrying most of the material is the one named in the drivers.
            pl.col("path")
            .sort_by(["quantity", "path"], descending=[True, False])
            .first()
            .alias("main_path"),
        )
        .join(material_risk, on="material_id", how="inner")
    )
    product_risk = uses.group_by("product_order").agg(
        # Rounding in 1 − Π(1 − r) can land a hair below the largest r; the bound is exact.
        pl.max_horizontal(
            1.0 - (1.0 - pl.col("material_risk")).product(), pl.col("material_risk").max()
        )
        .clip(0.0, 1.0)
        .alias("risk_score"),
        pl.col("weight").sum().alias("weight_total"),
    )
    uses = uses.join(product_risk, on="product_order").with_columns(
        # The material's part of the product risk, per unit of share × pair risk.
        pl.when((pl.col("weight_total") > 0) & (pl.col("material_risk") > 0))
        .then(
            pl.col("risk_score")
            * pl.col("weight")
            / pl.col("weight_total")
            / pl.col("material_risk")
        )
        .otherwise(0.0)
        .alias("unit_contribution")
    )
    pairs = uses.join(sourcing.suppliers, on="material_id").with_columns(
        (pl.col("unit_contribution") * pl.col("weighted_risk")).alias("contribution"),
        (pl.col("material_quantity") * pl.col("weighted_risk")).alias("exposure"),
    )
    figures = (
        pairs.group_by("product_order")
        .agg(pl.col("pair_risk").max().alias("max_pair_risk"), pl.col("exposure").sum())
        .join(product_risk.select("product_order", "risk_score"), on="product_order")
    )
    top_pairs = (
        pairs.sort(
            ["product_order", "contribution", "exposure", "material_id", "entry"],
            descending=[False, True, True, False, False],
        )
        .group_by("product_order", maintain_order=True)
        .head(MAX_PRODUCT_DRIVERS)
    )

    # Scored lines of refused products show their suppliers too, without a contribution.
    supplier_columns = sourcing.suppliers.rename({"material_id": "supplier_key"})
    lines = (
        lines.sort("product_order", "path", "quantity", nulls_last=True)
        .join(
            uses.select("product_order", "material_id", "material_quantity", "unit_contribution"),
            on=["product_order", "material_id"],
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.when(pl.col("status") == LINE_SCORED)
            .then(pl.col("material_id"))
            .alias("supplier_key")
        )
        .join(supplier_columns, on="supplier_key", how="left", maintain_order="left_right")
        .with_columns(
            (pl.col("quantity") * pl.col("weighted_risk")).alias("exposure"),
            # Paths of a material share its contribution in proportion to their quantity.
            (
                pl.col("unit_contribution")
                * pl.col("weighted_risk")
                * pl.col("quantity")
                / pl.col("material_quantity")
            ).alias("contribution"),
        )
    )
    return lines, figures, top_pairs


def _explain_lines(
    lines: pl.DataFrame,
    sourcing: _Sourcing,
    unknown: dict[str, str],
    findings: _Findings,
    *,
    max_depth: int,
) -> pl.DataFrame:
    missing = _lookup(pl.col("material_id"), sourcing.missing)
    reason = pl.concat_str(
        _lookup(pl.col("node_id"), findings.line_reasons),
        pl.when(pl.col("status") == "too_deep").then(
            pl.lit(f"more than {max_depth} levels deep; not exploded further")
        ),
        _lookup(pl.col("bad_row"), findings.bad_rows),
        _lookup(pl.col("material"), unknown),
        pl.when(missing.is_not_null()).then(pl.concat_str(pl.lit("no scored supplier: "), missing)),
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


# ------------------------------------------------------------------------------- wording


def _plain_number(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    text = f"{value:.3g}"
    if "e" in text:
        text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text


def _driver_texts(top_pairs: pl.DataFrame) -> dict[int, str]:
    """Per product order, its top pairs in words."""
    from riskengine.explain import country_name, percent

    countries: dict[str | None, str] = {}
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
        if country not in countries:
            countries[country] = country_name(country)
        steps = main_path.split(PATH_SEPARATOR)
        # The assembly the material goes into: the last step before it on its main path.
        where = "directly" if len(steps) <= 2 else f"via {steps[-2]}"
        if path_count > 1:
            where += f" and {path_count - 1} other path{'s' if path_count > 2 else ''}"
        texts.setdefault(product_order, []).append(
            f"{_display_name(material_id)} from {supplier} ({countries[country]}): pair risk "
            f"{pair_risk:.2f}, {percent(share)} of its supply, {_plain_number(quantity)} per "
            f"product unit {where}"
        )
    return {order: "; ".join(parts) for order, parts in texts.items()}


def _product_table(
    products: pl.DataFrame,
    lines: pl.DataFrame,
    figures: pl.DataFrame,
    top_pairs: pl.DataFrame,
    findings: _Findings,
) -> pl.DataFrame:
    with_lines = set(lines["product_order"].unique().to_list())
    for product_order in range(products.height):
        if product_order not in with_lines:
            findings.notes.append((product_order, "no material rows (only text or document items)"))
    texts = findings.refusals + findings.notes
    reason_rows = pl.DataFrame(
        {
            "product_order": [order for order, _ in texts],
            "rank": [0] * len(findings.refusals) + [1] * len(findings.notes),
            "text": [text for _, text in texts],
        },
        schema={"product_order": pl.UInt32, "rank": pl.Int8, "text": pl.String},
    )
    # Refusals first, then what was left out; each text once.
    reasons = (
        reason_rows.unique(maintain_order=True)
        .group_by("product_order", maintain_order=True)
        .agg(
            pl.col("text").filter(pl.col("rank") == 0).str.join("; ").alias("refusals"),
            pl.col("text").filter(pl.col("rank") == 1).str.join("; ").alias("notes"),
        )
        .select(
            "product_order",
            pl.concat_str(
                pl.when(pl.col("refusals") != "").then(
                    pl.concat_str(pl.lit("refused: "), "refusals")
                ),
                pl.when(pl.col("notes") != "").then(pl.col("notes")),
                separator="; ",
                ignore_nulls=True,
            ).alias("reason"),
        )
    )
    drivers = _driver_texts(top_pairs)
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
        .join(reasons, on="product_order", how="left", maintain_order="left")
    )
    refused = findings.refused().implode()
    return (
        table.with_columns(
            pl.when(pl.col("product_order").is_in(refused))
            .then(pl.lit(PRODUCT_REFUSED))
            .when(pl.col("risk_score").is_null())
            .then(pl.lit(PRODUCT_UNSCORED))
            .otherwise(pl.lit(PRODUCT_SCORED))
            .alias("status"),
            pl.Series(
                [drivers.get(order) for order in table["product_order"].to_list()],
                dtype=pl.String,
            ).alias("drivers"),
            pl.Series(
                [
                    None if material_id is None else _display_name(material_id)
                    for material_id in table["driving_material_id"].to_list()
                ],
                dtype=pl.String,
            ).alias("driving_material"),
        )
        .with_columns(
            pl.when((pl.col("status") == PRODUCT_SCORED) & pl.col("reason").is_not_null())
            .then(pl.concat_str("reason", pl.lit("; risk_score covers the scored materials only")))
            .otherwise(pl.col("reason"))
            .alias("reason")
        )
        .select(list(PRODUCT_SCHEMA))
        .cast(PRODUCT_SCHEMA)
    )


# --------------------------------------------------------------------------------- scoring


def score_bom(
    bom: pl.DataFrame,
    scored_sourcing: pl.DataFrame,
    *,
    source: str,
    strict: bool = False,
    max_depth: int = 20,
) -> BomResult:
    """Explode a multi-level BOM and roll the pair risks of its leaves up to each product.

    Parameters
    ----------
    bom
        Rows ``parent, component, quantity`` (per ``base_quantity`` units of parent, default 1),
        optional ``base_quantity``, ``scrap_percent`` and ``item_category``; SAP names
        (MATNR, IDNRK, MENGE, BMENG, AUSCH, POSTP) and the other aliases of
        :data:`BOM_ALIASES` are accepted. Cells may be text (decimal comma accepted) or numbers.
        Requirement per parent unit = quantity / base_quantity × (1 + scrap_percent / 100).
        Rows of item category T or D are skipped. Part names are trimmed, and all-digit ones
        lose their leading zeros ("000123" is "123"). Several rows for the same parent and
        component (separate BOM items) are separate lines and add up.
    scored_sourcing
        The output of :func:`riskengine.scoring.score_pairs`; only ``scored`` rows are used,
        joined to the leaves by ``material_id``. ``share`` is the fraction of the material
        bought from that supplier; missing shares split what the given ones leave equally.
    source
        The BOM's name for messages ("bom.csv").
    strict
        Raise instead of normalising when a material's shares do not sum to 1 (± 0.01).
    max_depth
        Levels below a product after which its explosion stops and it is refused.

    Returns
    -------
    BomResult
        ``products``: one row per top-level product (a parent that is never a component), in
        order of first appearance. ``risk_score`` = 1 − Π over its distinct materials m of
        (1 − r_m), with r_m = Σ over the material's suppliers of share × pair risk: the chance
        that at least one material is disrupted, **assuming disruptions of different materials
        are independent**. They are not when one country dominates several materials; the
        score then overstates the chance of any disruption. It is never below the largest r_m.
        A material counts once however many paths use it; quantities enter ``exposure`` = Σ
        over lines of quantity per product unit × share × pair risk (in the BOM's own units,
        so comparable only across products of like units). A line's ``contribution`` is its
        part of ``risk_score``: materials share it in proportion to −log(1 − r_m), suppliers
        within a material by share × pair risk, paths of a material by quantity; a product's
        contributions sum to its ``risk_score``, and the pair with the largest contribution
        is its driving material and supplier.

        ``status`` is ``refused`` when the product reaches a cycle (paths stop at the first
        part on a cycle), a row with an unusable quantity or component, or ``max_depth``;
        ``unscored`` when none of its materials could be scored; else ``scored``. A product
        with an unknown leaf or a material without scored suppliers is scored from its other
        materials, and its ``reason`` names what was left out (its ``risk_score`` is then a
        lower bound).

        ``lines``: one row per exploded path and supplier (one row with no supplier when the
        path has none), each with its own ``status`` (:data:`LINE_STATUSES`) and ``reason``.

        ``problems``: every excluded or unusable row, cycle, cut-off product, unknown leaf,
        material without scored suppliers and share sum off 1.

    Raises
    ------
    MissingColumnsError
        When the BOM or the scored sourcing list lacks a required column.
    UserInputError
        In ``strict`` mode, when the shares of a material used by the BOM do not sum to 1.
    """
    if max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, not {max_depth}")
    rows, problems, bad_rows = _prepare_rows(bom, source=source)
    graph = _build_graph(rows)
    findings = _Findings(
        product_names=graph.products["product"].to_list(), problems=problems, bad_rows=bad_rows
    )
    cycles = _find_cycles(graph, pruning_rounds=max_depth + 2)
    lines = _explode(graph, cycles, max_depth=max_depth)
    _report_cycles(lines, cycles, graph, findings)
    _report_refusals(lines, findings, max_depth=max_depth)
    lines, sourcing, unknown = _attach_materials(lines, scored_sourcing, findings, strict=strict)
    _report_left_out(lines, sourcing, unknown, findings)
    lines, figures, top_pairs = _roll_up(lines, sourcing, findings)
    lines = _explain_lines(lines, sourcing, unknown, findings, max_depth=max_depth)
    products = _product_table(graph.products, lines, figures, top_pairs, findings)
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
    return BomResult(products=products, lines=lines, problems=tuple(findings.problems))
