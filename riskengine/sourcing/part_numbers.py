"""Part numbers of a sourcing list (SAP MATNR, Oracle Item): as written, as ERP systems compare
them, and the team's mapping applied by part number and then by material text."""

from __future__ import annotations

import polars as pl

from riskengine.io.columns import resolve_columns
from riskengine.mapping import PART_NUMBER_ALIASES, MaterialMapping


def written_part_numbers(raw: pl.DataFrame, source: str) -> pl.Series | None:
    """Each row's part number as written (trimmed; empty is null), or None when the input has
    no part-number column."""
    part_columns = resolve_columns(
        raw.columns,
        source=source,
        aliases={"part_number": PART_NUMBER_ALIASES},
        required=(),
        fallbacks={},
    )
    if "part_number" not in part_columns:
        return None
    return raw[part_columns["part_number"]].cast(pl.String).str.strip_chars().replace("", None)


def part_number_keys(raw: pl.DataFrame, source: str) -> pl.Series:
    """Each row's part number (SAP MATNR, Oracle Item) as ERP systems compare it (leading
    zeros ignored), or null when the input has none."""
    written = written_part_numbers(raw, source)
    if written is None:
        return pl.repeat(None, raw.height, dtype=pl.String, eager=True)
    # riskengine.mapping.part_number_key as one expression (no Python call per row).
    return (
        written.to_frame("part")
        .select(without_padding_zeros(pl.col("part").str.to_uppercase()))
        .to_series()
    )


def without_padding_zeros(text: pl.Expr) -> pl.Expr:
    """An all-digit identifier without the leading zeros SAP pads it with (ALPHA conversion;
    exports may or may not carry them, so 0000001234 is 1234, and all zeros are "0"); any
    other text as it is."""
    unpadded = text.str.strip_chars_start("0")
    return (
        pl.when(text.str.contains(r"^[0-9]+$"))
        .then(pl.when(unpadded == "").then(pl.lit("0")).otherwise(unpadded))
        .otherwise(text)
    )


def apply_mapping(
    resolved: pl.DataFrame, raw: pl.DataFrame, mapping: MaterialMapping, *, source: str
) -> pl.DataFrame:
    """Material ids from the team's mapping, looked up by part number (SAP MATNR, Oracle
    Item) and then by the material text, replace the catalog's: an ``accepted`` or
    ``proposed`` row gives the id, a ``review`` row refuses the row naming the mapping's line,
    and a row the mapping does not know keeps the catalog's resolution."""
    part = written_part_numbers(raw, source)
    if part is None:
        part = pl.repeat(None, raw.height, dtype=pl.String, eager=True)
    keyed = resolved.with_columns(part.alias("mapping_part_number"))
    ids: dict[tuple[str | None, str | None], str | None] = {}
    reasons: dict[tuple[str | None, str | None], str | None] = {}
    for part_number, written in keyed.select("mapping_part_number", "material").unique().rows():
        entry = mapping.lookup(part_number, written)
        if entry is None:
            continue
        ids[(part_number, written)] = entry.material_id if entry.applied else None
        reasons[(part_number, written)] = (
            None if entry.applied else mapping.review_reason(entry, written or part_number or "")
        )
    if not ids:
        return keyed
    found = pl.DataFrame(
        {
            "mapping_part_number": [key[0] for key in ids],
            "material": [key[1] for key in ids],
            "mapped_id": list(ids.values()),
            "mapped_reason": [reasons[key] for key in ids],
            "mapped": [True] * len(ids),
        },
        schema={
            "mapping_part_number": pl.String,
            "material": pl.String,
            "mapped_id": pl.String,
            "mapped_reason": pl.String,
            "mapped": pl.Boolean,
        },
    )
    mapped = pl.col("mapped").fill_null(False)
    return (
        keyed.join(
            found,
            on=["mapping_part_number", "material"],
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .with_columns(
            pl.when(mapped)
            .then(pl.col("mapped_id"))
            .otherwise(pl.col("material_id"))
            .alias("material_id"),
            pl.when(mapped)
            .then(pl.col("mapped_reason"))
            .otherwise(pl.col("material_reason"))
            .alias("material_reason"),
        )
        .drop("mapped_id", "mapped_reason", "mapped")
    )
