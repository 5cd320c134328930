"""Units of BOM quantities: each converted to one base per kind (kilograms for mass, pieces for
counts), or refused.

A BOM row's ``unit`` (SAP STPO/MARA MEINS) says what its quantity counts. "1000 G" and "1 KG"
of one material are the same amount, so quantities of mass are read in kilograms; pieces
stay pieces. Pieces and mass cannot be compared, so a component counted both ways across the
BOM is refused, as is a unit not listed here (a barrel or a "ton" of unknown kind would be a
guess). Conversion factors are exact by definition (NIST SP 811, appendix B: 1 lb =
0.45359237 kg, 1 oz = 1/16 lb).
"""

from __future__ import annotations

import polars as pl

MASS = "mass"
PIECES = "pieces"
UNSTATED = "no unit"

#: Unit as written (casefolded, full stops dropped) → (kind, factor to the kind's base unit).
UNITS: dict[str, tuple[str, float]] = {
    "mg": (MASS, 1e-6),
    "g": (MASS, 1e-3),
    "gram": (MASS, 1e-3),
    "grams": (MASS, 1e-3),
    "kg": (MASS, 1.0),
    "kgs": (MASS, 1.0),
    "kilogram": (MASS, 1.0),
    "kilograms": (MASS, 1.0),
    "t": (MASS, 1e3),
    "to": (MASS, 1e3),  # SAP's ISO code for the metric tonne
    "tonne": (MASS, 1e3),
    "tonnes": (MASS, 1e3),
    "metric ton": (MASS, 1e3),
    "lb": (MASS, 0.45359237),
    "lbs": (MASS, 0.45359237),
    "pound": (MASS, 0.45359237),
    "pounds": (MASS, 0.45359237),
    "oz": (MASS, 0.028349523125),
    "ounce": (MASS, 0.028349523125),
    "ounces": (MASS, 0.028349523125),
    "pc": (PIECES, 1.0),
    "pcs": (PIECES, 1.0),
    "pce": (PIECES, 1.0),
    "piece": (PIECES, 1.0),
    "pieces": (PIECES, 1.0),
    "ea": (PIECES, 1.0),
    "each": (PIECES, 1.0),
    "st": (PIECES, 1.0),  # SAP's German "Stück", the default piece unit
    # UN/ECE recommendation 20 codes, which EDI and some ERP exports carry.
    "grm": (MASS, 1e-3),
    "kgm": (MASS, 1.0),
    "tne": (MASS, 1e3),
    "lbr": (MASS, 0.45359237),
    "onz": (MASS, 0.028349523125),
    "h87": (PIECES, 1.0),
    "c62": (PIECES, 1.0),
}
BASE_UNITS = {MASS: "kg", PIECES: "pcs"}


def unit_key(units: pl.Series) -> pl.Series:
    """Units as :data:`UNITS` keys them: trimmed, casefolded, full stops and repeated spaces
    dropped ("Pcs." is "pcs"); null when empty."""
    key = (
        units.cast(pl.String)
        .str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(".", "", literal=True)
        .str.replace_all(r"\s+", " ")
    )
    return key.set(key == "", None)


def read_units(units: pl.Series, *, header: str) -> pl.DataFrame:
    """Per row: ``unit_kind`` (mass, pieces, or "no unit" for an empty cell), ``unit_scale``
    (factor to kilograms or pieces) and ``unit_detail`` (why the unit cannot be used, or null).
    """
    key = unit_key(units)
    kinds = {unit: kind for unit, (kind, _) in UNITS.items()}
    scales = {unit: scale for unit, (_, scale) in UNITS.items()}
    known = "mass: mg, g, kg, t, lb, oz; pieces: pcs, pc, ea, st; or their UN/ECE codes"
    frame = pl.DataFrame({"raw": units.cast(pl.String).str.strip_chars(), "key": key})
    return frame.select(
        pl.when(pl.col("key").is_null())
        .then(pl.lit(UNSTATED))
        .otherwise(pl.col("key").replace_strict(kinds, default=None, return_dtype=pl.String))
        .alias("unit_kind"),
        pl.col("key")
        .replace_strict(scales, default=None, return_dtype=pl.Float64)
        .fill_null(1.0)
        .alias("unit_scale"),
        pl.when(pl.col("key").is_not_null() & ~pl.col("key").is_in(list(UNITS)))
        .then(
            pl.format(
                f"column {header!r}: '{{}}' is not a unit the roll-up converts ({known})", "raw"
            )
        )
        .alias("unit_detail"),
    )


def mixed_kind_details(frame: pl.DataFrame) -> pl.Series:
    """Per row (``row``, ``component``, ``unit_kind``, ``usable``), why its component is counted
    in kinds of unit that cannot be compared across the BOM (mass and pieces, or a unit on
    some rows and none on others), naming each kind's rows; null otherwise."""
    used = pl.col("usable") & pl.col("component").is_not_null() & pl.col("unit_kind").is_not_null()
    kinds_of = (
        frame.filter(used)
        .group_by("component", "unit_kind", maintain_order=True)
        .agg(pl.col("row").min().alias("first"), (pl.col("row") + 1).sort().alias("rows"))
        .sort("component", "first")
        .group_by("component", maintain_order=True)
        .agg(
            pl.len().alias("kinds"),
            pl.format(
                "{} on row(s) {}",
                pl.col("unit_kind"),
                pl.col("rows").list.head(5).cast(pl.List(pl.String)).list.join(", "),
            )
            .str.join("; ")
            .alias("where"),
        )
        .filter(pl.col("kinds") > 1)
        .select(
            "component",
            pl.format(
                "component '{}' is counted in units that cannot be compared ({}); "
                "give it one kind of unit",
                "component",
                "where",
            ).alias("detail"),
        )
    )
    return (
        frame.select("component", used.alias("used"))
        .join(kinds_of, on="component", how="left", maintain_order="left")
        .select(pl.when("used").then(pl.col("detail")))
        .to_series()
        .alias("unit_mix")
    )
