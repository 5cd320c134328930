"""Supplier countries looked up by supplier site (``--supplier-sites``).

An Oracle approved-supplier list names each source's "Supplier Site" (a site code such as
"Takefu Plant"), not its country; the country is held on the site record
(AP_SUPPLIER_SITES_ALL.COUNTRY, the Supplier Sites export's "Country"). Given that export, a
sourcing row without a country of its own takes its site's: supplier names compared through
the one name normaliser (:func:`riskengine.names.canonical_name`), site codes likewise, so case
and spacing do not matter. A site that is not in the export, or that the export gives two
countries, leaves the row rejected with the site and the file named; nothing is guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from riskengine.catalog import normalise_country
from riskengine.errors import CountryError
from riskengine.io.columns import (
    SUPPLIER_SITES_ALIASES,
    SUPPLIER_SITES_REQUIRED,
    named_columns,
    resolve_columns,
)
from riskengine.names import canonical_names

#: How many of a site's conflicting countries a reason names.
COUNTRIES_NAMED = 5

_LOOKUP_SCHEMA = pl.Schema(
    {
        "site_supplier_key": pl.String,
        "site_key": pl.String,
        "site_country": pl.String,
        "site_problem": pl.String,
    }
)


@dataclass(frozen=True)
class SupplierSites:
    """A supplier-site export read as a lookup: one row per (supplier, site), as the name
    normaliser reads both, with its country as written or why it has none to give."""

    source: str
    """The file's name, as reasons give it."""
    lookup: pl.DataFrame
    """site_supplier_key, site_key, site_country (the first written, when all of the site's
    rows agree), site_problem (why not: no country, or several)."""

    @classmethod
    def from_table(cls, frame: pl.DataFrame, *, source: str) -> SupplierSites:
        """The lookup of an export's rows (any column order; other columns are ignored).

        Rows of one supplier and site whose countries are the same country written two ways
        ("JP", "Japan") agree; a row without a country adds none.

        Raises
        ------
        MissingColumnsError
            When the supplier, supplier site or country column is absent (naming each, with
            the headers accepted).
        UserInputError
            When two of the export's columns mean one of them.
        """
        # ``--columns`` names the sourcing list's headers, not this file's.
        with named_columns(None):
            columns = resolve_columns(
                frame.columns,
                source=source,
                aliases=SUPPLIER_SITES_ALIASES,
                required=SUPPLIER_SITES_REQUIRED,
                fallbacks={},
            )
        text = frame.select(
            pl.col(columns[name]).cast(pl.String).str.strip_chars().replace("", None).alias(name)
            for name in SUPPLIER_SITES_REQUIRED
        )
        keyed = text.select(
            *_site_keys(),
            pl.col("country"),
            pl.col("country")
            .replace_strict(
                _country_identities(text["country"]), default=None, return_dtype=pl.String
            )
            .alias("identity"),
        ).filter(pl.col("site_supplier_key").is_not_null() & pl.col("site_key").is_not_null())
        grouped = keyed.group_by("site_supplier_key", "site_key", maintain_order=True).agg(
            pl.col("country").drop_nulls().first().alias("site_country"),
            pl.col("identity").drop_nulls().n_unique().alias("countries"),
            pl.col("country").drop_nulls().unique().sort().alias("written"),
        )
        shown = pl.col("written").list.head(COUNTRIES_NAMED).list.join(", ")
        lookup = grouped.select(
            "site_supplier_key",
            "site_key",
            pl.when(pl.col("countries") == 1).then(pl.col("site_country")).alias("site_country"),
            pl.when(pl.col("countries") == 0)
            .then(pl.lit(f"has no country in {source}"))
            .when(pl.col("countries") > 1)
            .then(
                pl.format("has {} countries in {} ({})", pl.col("countries"), pl.lit(source), shown)
            )
            .alias("site_problem"),
        ).cast(_LOOKUP_SCHEMA)
        return cls(source=source, lookup=lookup)

    def fill_countries(self, text: pl.DataFrame) -> pl.DataFrame:
        """``text`` (canonical sourcing columns: supplier, supplier_site, and supplier_country
        when the list has one) with each empty supplier country taken from the row's site, a
        ``site_reason`` where the row has no country and its site gives none, and
        ``site_shown`` (the site and supplier, for messages) on the rows whose country came
        from the export. A row's own country wins."""
        if "supplier_country" not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias("supplier_country"))
        if "supplier_site" not in text.columns:
            text = text.with_columns(pl.lit(None, dtype=pl.String).alias("supplier_site"))
        matched = text.with_columns(*_site_keys()).join(
            self.lookup.with_columns(pl.lit(True).alias("site_found")),
            on=["site_supplier_key", "site_key"],
            how="left",
            maintain_order="left",
        )
        own = pl.col("supplier_country")
        site = pl.col("supplier_site")
        named = pl.format("supplier site '{}' of '{}'", site, pl.col("supplier"))
        # A row without a supplier is refused for that already; it has no site to look up.
        looked_up = own.is_null() & pl.col("supplier").is_not_null()
        reason = (
            pl.when(looked_up & site.is_null())
            .then(pl.lit(f"no supplier country, and no supplier site to look up in {self.source}"))
            .when(looked_up & pl.col("site_found").is_null())
            .then(pl.format("no supplier country: {} is not in {}", named, pl.lit(self.source)))
            .when(looked_up & pl.col("site_problem").is_not_null())
            .then(pl.format("no supplier country: {} {}", named, pl.col("site_problem")))
        )
        return matched.with_columns(
            pl.coalesce(own, pl.col("site_country")).alias("supplier_country"),
            reason.alias("site_reason"),
            pl.when(looked_up & pl.col("site_country").is_not_null())
            .then(pl.format("{} in {}", named, pl.lit(self.source)))
            .alias("site_shown"),
        ).drop("site_supplier_key", "site_key", "site_country", "site_problem", "site_found")


def _country_identities(countries: pl.Series) -> dict[str, str]:
    """Each distinct country text as the country it names (its ISO code), so "JP" and "Japan"
    agree; a text that names none stays itself (folded), so two such texts still differ."""
    identities: dict[str, str] = {}
    for value in countries.drop_nulls().unique().to_list():
        try:
            identities[value] = normalise_country(value)
        except CountryError:
            identities[value] = value.casefold()
    return identities


def _site_keys() -> tuple[pl.Expr, pl.Expr]:
    """A row's supplier and site as the name normaliser compares them: the lookup's key."""
    return (
        pl.col("supplier")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("site_supplier_key"),
        pl.col("supplier_site")
        .map_batches(canonical_names, return_dtype=pl.String)
        .alias("site_key"),
    )
