"""BOM rows: which column is which, quantities per parent unit, item categories, bad rows.

Headers are resolved by :func:`riskengine.schemas.resolve_columns` and numbers read by
:func:`riskengine.io.cells.parse_decimal`, the same code the sourcing path uses, so a BOM and
a sourcing list from one export are read alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import polars as pl

from riskengine.bom.results import PATH_SEPARATOR, BomProblem
from riskengine.bom.units import mixed_kind_details, read_units
from riskengine.errors import ECHO_LIMIT, UserInputError
from riskengine.io.cells import detect_decimal_separator, parse_decimal
from riskengine.io.columns import BOM_ALIASES, BOM_REQUIRED, resolve_columns

# SAP item categories (STPO.POSTP) that carry no material: text and document items.
EXCLUDED_ITEM_CATEGORIES = ("T", "D")

# (canonical column, required, rule the value must meet, the rule in words)
_NUMBER_RULES: tuple[tuple[str, bool, pl.Expr, str], ...] = (
    (
        "quantity",
        True,
        # 0 is allowed here: such a line is skipped with a problem (read_rows), not fatal.
        pl.col("value") >= 0,
        "a positive number (negative quantities are SAP by-products, not supported)",
    ),
    ("base_quantity", False, pl.col("value") > 0, "a positive number"),
    (
        "scrap_percent",
        False,
        (pl.col("value") >= 0) & (pl.col("value") < 100),
        "at least 0 and below 100",
    ),
    ("unit_value", False, pl.col("value") >= 0, "a number of at least 0"),
)


class BomRows(NamedTuple):
    """The BOM read: one row per BOM row, the problems of skipped and unusable rows, and the
    message of each unusable row by row index (products using it are refused with it)."""

    frame: pl.DataFrame
    problems: tuple[BomProblem, ...]
    bad_rows: Mapping[int, str]


def texts(values: pl.Series) -> pl.Series:
    """Cells as trimmed text, null when empty."""
    text = values.cast(pl.String).str.strip_chars()
    return text.set(text == "", None)


def identifiers(values: pl.Series) -> pl.Series:
    """Part names, trimmed, with all-digit (0-9) ones stripped of leading zeros, as
    :func:`riskengine.mapping.part_number_key` strips them."""
    text = texts(values)
    # SAP exports numeric material numbers zero-padded or not (ALPHA conversion), sometimes
    # both in one file; one form for both so "000123" and "123" are the same part.
    padded = text.str.starts_with("0") & text.str.contains(r"^[0-9]+$")
    if not padded.any():
        return text
    unpadded = text.str.strip_chars_start("0")
    return text.zip_with(~padded.fill_null(False), unpadded.set(unpadded == "", "0"))


def row_label(source: str, row: int, parent: str | None, component: str | None) -> str:
    """How messages name a BOM row: "``source`` row N (parent > component)", N from 1."""
    return f"{source} row {row + 1} ({parent or '?'}{PATH_SEPARATOR}{component or '?'})"


def _numbers(
    bom: pl.DataFrame, columns: Mapping[str, str], *, source: str
) -> tuple[dict[str, pl.Series], pl.Series]:
    """The number columns as Float64 and, per row, what is wrong with them (or null)."""
    text_columns = [
        bom[columns[name]].cast(pl.String)
        for name, *_ in _NUMBER_RULES
        if name in columns and not bom[columns[name]].dtype.is_numeric()
    ]
    # One export writes all its numbers alike: a "0,025" in the quantities says that a
    # "1,000" in the base quantities is one, not a thousand.
    separator = detect_decimal_separator(pl.concat(text_columns)) if text_columns else None
    values: dict[str, pl.Series] = {}
    details: list[pl.Series] = []
    for name, required, rule, words in _NUMBER_RULES:
        if name not in columns:
            values[name] = pl.Series(name, [None] * bom.height, dtype=pl.Float64)
            continue
        header = columns[name]
        parsed, errors = parse_decimal(
            bom[header], column=header, source=source, decimal_separator=separator
        )
        cell = pl.DataFrame({"raw": texts(bom[header]), "value": parsed, "error": errors})
        detail = cell.select(
            pl.when(pl.col("raw").is_null())
            .then(pl.lit(f"column {header!r} is empty" if required else None, dtype=pl.String))
            # The parser's message names the file first; the row label already does.
            .when(pl.col("error").is_not_null())
            .then(pl.col("error").str.strip_prefix(f"{source}: "))
            .when(~rule.fill_null(False))
            .then(
                pl.format(
                    f"column {header!r}: '{{}}' is not {words}",
                    pl.col("raw").str.slice(0, ECHO_LIMIT),
                )
            )
        ).to_series()
        values[name] = parsed.alias(name)
        details.append(detail.alias(name))
    joined = pl.DataFrame(details).select(
        pl.concat_str(pl.all(), separator="; ", ignore_nulls=True).alias("details")
    )["details"]
    return values, joined.set(joined == "", None)


#: Headers of an indented BOM's level: Oracle's indented bill ("Level"), SAP CS12's multi-level
#: list ("Stufe", "Explosion level"; ".1", "..2" or 1, 2).
LEVEL_ALIASES = ("level", "bom_level", "explosion_level", "stufe", "lvl")
#: An indented BOM's component: the row's own item (Oracle "Item", CS12 "Komponente").
INDENTED_COMPONENT_ALIASES = (
    *BOM_ALIASES["component"],
    "item",
    "item_number",
    "komponente",
    "component_number",
)
_SOURCE_ROW = "__source_row"


#: The CS12 list's header line naming the exploded material, above the table: "Material
#: 1000123 Elektromotor" (its cells joined by spaces; "Material:" and "Materialnummer" too).
_TITLE_MATERIAL = re.compile(
    r"^\s*(?:material(?:nummer)?|material number)\s*[:.]?\s+(\S+)", re.IGNORECASE
)


def product_from_title(title: Sequence[str]) -> str | None:
    """The top material a CS12 export names in its header lines ("Material 1000123 …"), or
    None when no line names one. Two lines naming different materials name none: the list
    would be ambiguous."""
    found = {match.group(1) for line in title if (match := _TITLE_MATERIAL.match(line))}
    return found.pop() if len(found) == 1 else None


def parent_child_rows(
    bom: pl.DataFrame, *, source: str, product: str | None = None
) -> pl.DataFrame:
    """An indented BOM (a level column and no parent column) as parent-component rows.

    Each row's parent is the nearest row above it one level up; rows at the top level (0 in
    Oracle's indented bill) are the products themselves and give no row. A CS12 list starts
    at level 1 below the material it explodes: ``product`` (``--product``, or the list's
    "Material …" header line) is the parent of level-1 rows with no level-0 row above them.
    The original row numbers are kept for messages. Any other BOM is returned as it is.

    Raises
    ------
    UserInputError
        When a row is more than one level below the row above it, or a level-1 row has no
        product above it and none is named.
    """
    found = resolve_columns(
        bom.columns,
        source=source,
        aliases={
            "parent": BOM_ALIASES["parent"],
            "level": LEVEL_ALIASES,
            "component": INDENTED_COMPONENT_ALIASES,
        },
        required=(),
        fallbacks={"component": ("item", "item_number", "komponente", "component_number")},
    )
    if "parent" in found or "level" not in found or "component" not in found:
        return bom
    levels = texts(bom[found["level"]])
    names = identifiers(bom[found["component"]])
    parents: list[str | None] = []
    # Part numbers as BOM rows write them (leading zeros dropped), so the product links.
    top = identifiers(pl.Series([product], dtype=pl.String))[0] if product else None
    above: dict[int, str] = {} if top is None else {0: top}
    roots: list[int] = []
    for index, (written, name) in enumerate(zip(levels, names, strict=True)):
        label = f"{source} row {index + 1}"
        level = _level(written)
        if level is None or name is None:
            raise UserInputError(
                f"{label}: an indented BOM row needs a level and an item "
                f"(found {written!r}, {name!r})"
            )
        if level == 0:
            roots.append(index)
            parents.append(None)
        elif level - 1 not in above:
            hint = (
                " (a CS12 list starts at level 1 below the material it explodes: keep the "
                "list's 'Material …' header line, name it with --product NAME, or add the "
                "product as a row at level 0)"
            )
            raise UserInputError(
                f"{label}: level {level} has no row one level up above it"
                + (hint if level == 1 else "")
            )
        else:
            parents.append(above[level - 1])
        above = {depth: item for depth, item in above.items() if depth < level}
        above[level] = name
    converted = bom.with_columns(
        pl.Series("parent", parents, dtype=pl.String),
        pl.Series(_SOURCE_ROW, range(bom.height), dtype=pl.UInt32),
    ).drop(found["level"])
    if found["component"] != "component":
        converted = converted.rename({found["component"]: "component"})
    return converted.filter(~pl.col(_SOURCE_ROW).is_in(roots))


def _level(written: str | None) -> int | None:
    """ ".1" and "..2" (CS12), "1" and "2" (Oracle): the level as a number."""
    if written is None:
        return None
    digits = "".join(character for character in written if character.isdigit())
    if digits:
        return int(digits)
    return len(written) if set(written) == {"."} else None


def read_rows(bom: pl.DataFrame, *, source: str) -> BomRows:
    """One row per BOM row with its keys and requirement per parent unit (``factor``).

    Requirement = quantity / base_quantity × (1 + scrap_percent / 100), in the row's own unit;
    ``unit_scale`` converts it to kilograms or pieces where the row ends a path
    (:mod:`riskengine.bom.units`), and ``unit_value`` is already per kilogram or piece. An
    unknown unit, or a component counted in mass on some rows and pieces (or no unit) on
    others, makes the row unusable. Text and document
    items are skipped with a problem; a row with an unusable number or without parent or
    component is kept (marked ``unusable``) so the products using it can be refused.

    Raises
    ------
    MissingColumnsError
        When ``parent``, ``component`` or ``quantity`` has no column.
    """
    columns = resolve_columns(
        bom.columns, source=source, aliases=BOM_ALIASES, required=BOM_REQUIRED, fallbacks={}
    )
    numbers, number_details = _numbers(bom, columns, source=source)
    if "unit" in columns:
        units = read_units(bom[columns["unit"]], header=columns["unit"])
    else:
        units = pl.DataFrame(
            {
                "unit_kind": pl.Series([None] * bom.height, dtype=pl.String),
                "unit_scale": pl.Series([1.0] * bom.height, dtype=pl.Float64),
                "unit_detail": pl.Series([None] * bom.height, dtype=pl.String),
            }
        )
    frame = pl.DataFrame(
        {
            # An indented BOM keeps the numbers of its rows (parent_child_rows).
            "row": (
                bom[_SOURCE_ROW]
                if _SOURCE_ROW in bom.columns
                else pl.int_range(bom.height, dtype=pl.UInt32, eager=True)
            ),
            "parent": identifiers(bom[columns["parent"]]),
            "component": identifiers(bom[columns["component"]]),
            "plant": (
                texts(bom[columns["plant"]])
                if "plant" in columns
                else pl.Series([None] * bom.height, dtype=pl.String)
            ),
            "category": (
                texts(bom[columns["item_category"]]).str.to_uppercase()
                if "item_category" in columns
                else pl.Series([None] * bom.height, dtype=pl.String)
            ),
            "number_details": number_details,
            **numbers,
        }
    ).hstack(units)
    # A quantity-0 line (an engineering change parked at 0, a phantom position) carries no
    # material: it is skipped with a problem, as a text item is, not a refusal of the product.
    zero = (pl.col("quantity") == 0).fill_null(False) & pl.col("number_details").is_null()
    frame = frame.with_columns(zero.alias("zero_quantity"))
    excluded = pl.col("category").is_in(EXCLUDED_ITEM_CATEGORIES).fill_null(False) | pl.col(
        "zero_quantity"
    )
    frame = frame.with_columns(
        pl.concat_str("number_details", "unit_detail", separator="; ", ignore_nulls=True)
        .replace("", None)
        .alias("number_details")
    )
    unit_mix = mixed_kind_details(
        frame.select(
            "row",
            "component",
            "unit_kind",
            (~excluded & pl.col("parent").is_not_null()).alias("usable"),
        )
    )
    frame = frame.with_columns(
        pl.concat_str("number_details", unit_mix, separator="; ", ignore_nulls=True)
        .replace("", None)
        .alias("number_details"),
        # A value is per the row's own unit; per kilogram or piece, as its quantity becomes.
        (pl.col("unit_value") / pl.col("unit_scale")).alias("unit_value"),
    )
    unusable = ~excluded & (
        pl.col("number_details").is_not_null()
        | pl.col("parent").is_null()
        | pl.col("component").is_null()
    )
    frame = frame.with_columns(excluded.alias("excluded"), unusable.alias("unusable"))
    frame = frame.with_columns(
        pl.when(pl.col("unusable") | pl.col("excluded"))
        .then(None)
        .otherwise(
            pl.col("quantity")
            / pl.col("base_quantity").fill_null(1.0)
            * (1.0 + pl.col("scrap_percent").fill_null(0.0) / 100.0)
        )
        .alias("factor"),
    )

    problems: list[BomProblem] = []
    bad_rows: dict[int, str] = {}
    flagged = frame.filter(pl.col("excluded") | pl.col("unusable"))
    for row, parent, component, category, excluded_row, zero_row, details in flagged.select(
        "row", "parent", "component", "category", "excluded", "zero_quantity", "number_details"
    ).iter_rows():
        label = row_label(source, row, parent, component)
        if zero_row and category not in EXCLUDED_ITEM_CATEGORIES:
            problems.append(
                BomProblem(
                    "zero_quantity",
                    None,
                    None,
                    f"{label}: quantity 0 carries no material; line skipped",
                )
            )
            continue
        if excluded_row:
            item_kind = "text" if category == "T" else "document"
            problems.append(
                BomProblem(
                    "excluded_item",
                    None,
                    None,
                    f"{label}: {item_kind} item (category {category}) carries no material; skipped",
                )
            )
            continue
        line_details = [
            f"{name} is empty"
            for name, key in (("parent", parent), ("component", component))
            if key is None
        ]
        kind = "bad_line" if line_details else "bad_quantity"
        message = f"{label}: {'; '.join([*line_details, *([details] if details else [])])}"
        bad_rows[row] = message
        consequence = (
            "the row belongs to no product"
            if parent is None
            else "every product using it is refused"
        )
        problems.append(BomProblem(kind, None, None, f"{message}; {consequence}"))
    return BomRows(
        frame.drop(
            "quantity",
            "base_quantity",
            "scrap_percent",
            "number_details",
            "unit_kind",
            "unit_detail",
            "zero_quantity",
        ),
        tuple(problems),
        bad_rows,
    )
