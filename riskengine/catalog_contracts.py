"""The contracts of the catalog tables (``riskengine/catalog_data/*.csv``) as pandera schemas.

The tables are read as text with blank cells as null. Each schema holds the columns, which
must not be blank, the identifier and HS-code spellings, unique ids, the allowed stages, and
the references between tables (a parent, a material's or tag's commodities). A check's
``error`` is its rule in words, with ``{value}`` standing for the offending cell.

What needs the whole tree or name normalisation (cycles, names claimed by two materials,
aliases contradicting ISO codes) stays with :class:`riskengine.catalog.Catalog`.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from riskengine.pandera_polars import PolarsData, pa

STAGES: tuple[str, ...] = ("ore_concentrate", "oxide_compound", "metal_alloy", "magnet_product")
ALL_ROOT_COMMODITIES = "*"
LIST_SEPARATOR = ";"

_IDENTIFIER = r"^[a-z0-9_]+$"
_HS_CODE = r"^\d{4}\.\d{2}$"
_IDENTIFIER_RULE = "{value} must be lowercase letters, digits and _"


def _list_items(column: str) -> pl.Expr:
    """The ``;``-separated items of a list cell, stripped, without empty ones."""
    return (
        pl.col(column)
        .str.split(LIST_SEPARATOR)
        .list.eval(pl.element().str.strip_chars())
        .list.eval(pl.element().filter(pl.element() != ""))
    )


def _identifier(*checks: pa.Check) -> pa.Column:
    return pa.Column(
        pl.String,
        [
            pa.Check.str_matches(_IDENTIFIER, error=_IDENTIFIER_RULE),
            *checks,
        ],
        unique=True,
    )


def _items_are(allowed: Collection[str], error: str) -> pa.Check:
    known = sorted(allowed)

    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            _list_items(data.key).list.eval(pl.element().is_in(known)).list.all()
        )

    return pa.Check(check, error=error)


def _is_a_commodity_of_this_table(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(pl.col("commodity_id").implode()))


def _not_empty_list(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(_list_items(data.key).list.len() > 0)


def _hs_codes_spelled(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        _list_items(data.key).list.eval(pl.element().str.contains(_HS_CODE)).list.all()
    )


def _all_alone(data: PolarsData) -> pl.LazyFrame:
    items = _list_items(data.key)
    return data.lazyframe.select(
        ~items.list.contains(ALL_ROOT_COMMODITIES) | (items.list.len() == 1)
    )


def commodities_schema() -> pa.DataFrameSchema:
    """``commodities.csv``: the commodity tree."""
    return pa.DataFrameSchema(
        {
            "commodity_id": _identifier(),
            "parent_id": pa.Column(
                pl.String,
                pa.Check(
                    _is_a_commodity_of_this_table,
                    error="unknown parent_id {value} (not a commodity_id of this table)",
                ),
                nullable=True,
            ),
            "display_name": pa.Column(pl.String),
            "production_mine": pa.Column(pl.String, nullable=True),
            "production_refining": pa.Column(pl.String, nullable=True),
        },
        name="commodities.csv",
    )


def materials_schema(commodity_ids: Collection[str]) -> pa.DataFrameSchema:
    """``materials.csv``, given the commodity ids of ``commodities.csv``."""
    return pa.DataFrameSchema(
        {
            "material_id": _identifier(),
            "display_name": pa.Column(pl.String),
            "commodities": pa.Column(
                pl.String,
                [
                    pa.Check(_not_empty_list, error="no commodities in {value}"),
                    _items_are(commodity_ids, error="{value} names an unknown commodity"),
                ],
            ),
            "stage": pa.Column(
                pl.String,
                pa.Check.isin(list(STAGES), error=f"{{value}} is not one of {', '.join(STAGES)}"),
            ),
            "hs_codes": pa.Column(
                pl.String,
                pa.Check(_hs_codes_spelled, error="HS codes {value} are not written like 2846.90"),
                nullable=True,
            ),
            "aliases": pa.Column(pl.String, nullable=True),
        },
        name="materials.csv",
    )


def policy_tags_schema(commodity_ids: Collection[str]) -> pa.DataFrameSchema:
    """``policy_tags.csv``, given the commodity ids of ``commodities.csv``."""
    return pa.DataFrameSchema(
        {
            # A row named like a commodity would silently replace the implicit meaning.
            "tag": _identifier(
                pa.Check.notin(
                    sorted(commodity_ids), error="tag {value} is a commodity id and needs no row"
                )
            ),
            "commodities": pa.Column(
                pl.String,
                [
                    _items_are(
                        {*commodity_ids, ALL_ROOT_COMMODITIES},
                        error="{value} names an unknown commodity",
                    ),
                    pa.Check(_all_alone, error="'*' cannot be combined with other commodities"),
                ],
                nullable=True,
            ),
            "stages": pa.Column(
                pl.String,
                _items_are(STAGES, error=f"{{value}} names a stage not in {', '.join(STAGES)}"),
                nullable=True,
            ),
        },
        name="policy_tags.csv",
    )


def country_aliases_schema(alpha_3: Collection[str]) -> pa.DataFrameSchema:
    """``country_aliases.csv``, given the known alpha-3 codes."""
    return pa.DataFrameSchema(
        {
            "alias": pa.Column(pl.String),
            "iso3": pa.Column(
                pl.String,
                pa.Check.isin(sorted(alpha_3), error="{value} is not an ISO alpha-3 code"),
            ),
            "note": pa.Column(pl.String, nullable=True),
        },
        name="country_aliases.csv",
    )
