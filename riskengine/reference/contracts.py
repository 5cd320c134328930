"""The contracts of the reference tables: one pandera (polars) schema per table.

Each schema holds the table's columns with their types, which may be blank, the values and
ranges allowed, and the rules between columns. :mod:`riskengine.reference.loader` reads a file
as text, parses each cell to the schema's type, then validates the typed frame against it.

A schema's ``name`` is the table's file name; ``metadata["summary_dates"]`` lists the date
columns whose range ``riskengine reference check`` reports and ``metadata["key"]`` the columns
that identify a row (unique in the table; ``riskengine reference diff`` matches rows by it). A
check's ``error`` is its rule in words, with ``{value}`` standing for the offending value as
written in the file; a check over whole rows names the row by its key instead.

Two levels of rules:

- errors (:data:`TABLE_SCHEMAS`): data that would break or silently distort scoring. Loading
  for scoring applies them too, so a score is never computed on such data.
- warnings (:data:`WARNING_SCHEMAS`): facts no feature can use as they stand (an undated
  event, a material the catalog lacks, a quota with no end date for years). ``reference check``
  prints them; loading accepts them.

The rules that look beyond one table (material ids against the catalog) are gathered in the
section "Rules against the catalog" below.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache

import polars as pl

from riskengine.catalog import PRODUCTION_STAGE_KINDS, load_catalog
from riskengine.names import has_distinctive_word
from riskengine.pandera_polars import PolarsData, pa

PSEUDO_COUNTRY_CODES = frozenset({"ROW", "WLD", "XKX"})
RESTRICTIVE_MEASURES = ("export_licensing", "export_tax", "export_quota", "export_ban")
MEASURES = (*RESTRICTIVE_MEASURES, "entity_listing", "import_ban", "other")
EVENT_SCOPES = (
    "flow",
    "military_end_use",
    "listed_entities",
    "technology",
    "relaxation",
    "proposal",
    "statement",
    "non_state",
)
PRODUCTION_STAGES = ("mine", "refining")
#: The ``list_name`` of a ``listed_entities`` row that records a corporate family link only: the
#: entity is not listed; it is screened only through the listings of its ``parent_entity``.
FAMILY_LINK_LIST = "Corporate family link (not a listing)"
WORLD = "WLD"

#: Shares of one breakdown may sum a little over 1 from rounding (the shipped 2024 shares of
#: USGS MCS 2025 reach 1.0002); more than this is an error in the data.
SHARE_SUM_TOLERANCE = 1.005
#: The World Bank gives WGI estimates in units of a standard normal, "ranging from approximately
#: -2.5 (weak) to 2.5 (strong)"; the governance features rescale exactly this range to 0-10.
WGI_RANGE = (-2.5, 2.5)
#: Quotas are set for a year or two at a time: one with no end date older than this is more
#: likely an end not recorded than a quota still in force.
STALE_QUOTA_YEARS = 2


@cache
def valid_country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes and the pseudo-codes the reference data uses (ROW, WLD, XKX)."""
    import pycountry

    return frozenset(country.alpha_3 for country in pycountry.countries) | PSEUDO_COUNTRY_CODES


def _is_country_code(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(sorted(valid_country_codes())))


def _ends_after_it_takes_effect(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("ended") >= pl.col("effective"))


def _ends_after_it_is_announced(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col("announced").is_null()
        | pl.col("ended").is_null()
        | (pl.col("ended") >= pl.col("announced"))
    )


def _row_rule(expression: Callable[[], pl.Expr], error: str) -> pa.Check:
    """A rule over whole rows: ``expression`` is true for each row that keeps it."""
    return pa.Check(lambda data: data.lazyframe.select(expression().alias("kept")), error=error)


def _year_not_after(date_column: str) -> pl.Expr:
    return pl.col("year") <= pl.col(date_column).dt.year()


def _not_after_today(data: PolarsData) -> pl.LazyFrame:
    # Evaluated at validation time, so a long-running process keeps the right day.
    return data.lazyframe.select(pl.col(data.key) <= date.today())


def _names_an_entity(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col(data.key).map_elements(has_distinctive_word, return_dtype=pl.Boolean)
    )


def _shares_sum_at_most_one(group: tuple[str, ...], origin_column: str) -> pl.Expr:
    """Country shares of one breakdown (``WLD`` rows aside) sum to at most 1 (with rounding)."""
    counted = pl.col(origin_column) != WORLD
    total = pl.when(counted).then(pl.col("share")).sum().over(group)
    return ~counted | (total <= SHARE_SUM_TOLERANCE)


def _period_not_after_publication() -> pl.Expr:
    """The last year a period names ("2020-2023", "2024-01/2024-06") is not after publication."""
    last_year = (
        pl.col("period").str.extract_all(r"\d{4}").list.eval(pl.element().cast(pl.Int32)).list.max()
    )
    return last_year.is_null() | (last_year <= pl.col("published").dt.year())


def _country(required: bool) -> pa.Column:
    return pa.Column(
        pl.String,
        pa.Check(_is_country_code, error="unknown ISO 3166 alpha-3 {value}"),
        nullable=not required,
    )


def _one_of(allowed: tuple[str, ...]) -> pa.Check:
    return pa.Check.isin(list(allowed), error=f"{{value}} is not one of {', '.join(allowed)}")


def _text(required: bool) -> pa.Column:
    return pa.Column(pl.String, nullable=not required)


def _key_of_the_table(column: str, key_column: str) -> pa.Column:
    """An optional column whose values must be ``key_column`` values of the same table."""
    return pa.Column(
        pl.String,
        pa.Check(
            lambda data: data.lazyframe.select(
                pl.col(data.key).is_in(pl.col(key_column).implode())
            ),
            error=f"{column} {{value}} is not an {key_column} of the table",
        ),
        nullable=True,
    )


def _date(required: bool) -> pa.Column:
    return pa.Column(pl.Date, nullable=not required)


# ------------------------------------------------------------------ rules against the catalog
# A reference row names materials by catalog ids; one the catalog does not know joins to
# nothing, so a misspelt id silently drops the row (a ban that never applies). These are the
# rules that look beyond a single table; the catalog is read when a table is first validated
# (cached), not when this module is imported.


@cache
def _commodities() -> frozenset[str]:
    """Every commodity id of the catalog tree."""
    catalog = load_catalog()
    found = set()
    for tag in catalog.known_tags():
        try:
            catalog.commodity_lineage(tag)
        except KeyError:
            continue  # a policy tag, not a commodity
        found.add(tag)
    return frozenset(found)


@cache
def _production_datasets() -> frozenset[str]:
    """Every production dataset id the catalog attaches to a commodity."""
    catalog = load_catalog()
    datasets = {
        catalog.production_dataset(commodity, kind)
        for commodity in _commodities()
        for kind in PRODUCTION_STAGE_KINDS
    }
    return frozenset(dataset for dataset in datasets if dataset is not None)


@cache
def _policy_tags() -> frozenset[str]:
    """Every tag an event may name: commodity ids (with their descendants) and policy tags."""
    return frozenset(load_catalog().known_tags())


@cache
def _tags_covering_nothing() -> frozenset[str]:
    """Known tags that cover no catalog commodity (coal, fertilisers, silver...)."""
    catalog = load_catalog()
    return frozenset(tag for tag in catalog.known_tags() if not catalog.tag_coverage(tag)[0])


def split_tags(cell: str) -> list[str]:
    """The tags of a ``;``-separated materials cell, as the features read them."""
    return [tag.strip() for tag in cell.split(";")]


def _catalog_check(known: Callable[[], frozenset[str]], kind: str) -> pa.Check:
    """Every ``;``-separated id of the cell is in ``known()``."""

    def check(data: PolarsData) -> pl.LazyFrame:
        ids = known()
        return data.lazyframe.select(
            pl.col(data.key).map_elements(
                lambda cell: all(tag in ids for tag in split_tags(cell)), return_dtype=pl.Boolean
            )
        )

    return pa.Check(check, error=f"{{value}} is not {kind} the catalog knows (a misspelt id?)")


_SHARE = pa.Column(
    pl.Float64, pa.Check.in_range(0.0, 1.0, error="must lie in [0, 1], not {value}"), nullable=True
)
_QUANTITY = pa.Column(
    pl.Float64, pa.Check.ge(0.0, error="must not be negative, not {value}"), nullable=True
)

PRODUCTION = pa.DataFrameSchema(
    {
        "material": pa.Column(
            pl.String, _catalog_check(_production_datasets, "a production dataset")
        ),
        "stage": pa.Column(pl.String, _one_of(PRODUCTION_STAGES)),
        "country_iso3": _country(required=True),
        "year": pa.Column(pl.Int32),
        "quantity": _QUANTITY,
        "unit": _text(required=False),
        "share": _SHARE,
        "published": _date(required=True),
        "source": _text(required=True),
    },
    checks=[
        _row_rule(
            lambda: _year_not_after("published"),
            error="the data year is after the year the figures were published",
        ),
        _row_rule(
            lambda: _shares_sum_at_most_one(
                ("material", "stage", "year", "published"), "country_iso3"
            ),
            error=f"the shares of this material, stage, year and edition sum to more than "
            f"{SHARE_SUM_TOLERANCE}",
        ),
    ],
    unique=["material", "stage", "country_iso3", "year", "published"],
    name="production.csv",
    metadata={
        "summary_dates": ("published",),
        "key": ("material", "stage", "country_iso3", "year", "published"),
    },
)

POLICY_EVENTS = pa.DataFrameSchema(
    {
        "event_id": pa.Column(pl.String, unique=True),
        "country_iso3": _country(required=True),
        "measure": pa.Column(pl.String, _one_of(MEASURES)),
        "materials": pa.Column(pl.String, _catalog_check(_policy_tags, "a catalog tag")),
        "target_country_iso3": _country(required=False),
        "announced": _date(required=False),
        "effective": _date(required=False),
        "ended": pa.Column(
            pl.Date,
            [
                pa.Check(
                    _ends_after_it_takes_effect,
                    error="the measure ends ({value}) before it takes effect",
                ),
                pa.Check(
                    _ends_after_it_is_announced,
                    error="the measure ends ({value}) before it is announced",
                ),
            ],
            nullable=True,
        ),
        "stages": _text(required=False),
        "scope": pa.Column(pl.String, _one_of(EVENT_SCOPES)),
        "description": _text(required=False),
        "source": _text(required=True),
        # How precise the dates given are (a month or year date is the period's first day).
        "date_precision": pa.Column(pl.String, _one_of(("day", "month", "year"))),
        "superseded_by": _key_of_the_table("superseded_by", "event_id"),
        "confidence": pa.Column(pl.String, _one_of(("primary", "secondary")), nullable=True),
    },
    name="policy_events.csv",
    metadata={"summary_dates": ("announced", "effective", "ended"), "key": ("event_id",)},
)

LISTED_ENTITIES = pa.DataFrameSchema(
    {
        "list_name": _text(required=True),
        "listing_authority_iso3": _country(required=True),
        "entity_name": pa.Column(
            pl.String,
            pa.Check(
                _names_an_entity,
                error="{value} is only a legal form: no word names the entity",
            ),
        ),
        "entity_country_iso3": _country(required=False),
        "listed_on": pa.Column(
            pl.Date, pa.Check(_not_after_today, error="listed on {value}, after today")
        ),
        "reason": _text(required=False),
        "source": _text(required=True),
        # Issue 12: ``;``-separated other names; the corporate family (the parent must be a
        # listed entity_name of the table, on any list); how sure the source is.
        "aliases": _text(required=False),
        "parent_entity": _key_of_the_table("parent_entity", "entity_name"),
        "relation": _text(required=False),
        "confidence": pa.Column(pl.String, _one_of(("primary", "secondary")), nullable=True),
        # The listing counts from listed_on until the day before removed_on (a removal, or a
        # stop to applying the measures); removal_source cites it.
        "removed_on": _date(required=False),
        "removal_source": _text(required=False),
    },
    checks=[
        _row_rule(
            lambda: pl.col("removed_on").is_null() | (pl.col("removed_on") > pl.col("listed_on")),
            error="the listing is removed on or before the day it is listed",
        ),
        _row_rule(
            lambda: pl.col("removed_on").is_null() | pl.col("removal_source").is_not_null(),
            error="a removal date needs its removal_source",
        ),
        _row_rule(
            lambda: (
                (pl.col("list_name") != FAMILY_LINK_LIST)
                | pl.col("parent_entity").is_not_null()
                | pl.col("entity_name").is_in(pl.col("parent_entity").implode())
            ),
            error="a family link row names no parent and is named as no one's parent",
        ),
    ],
    unique=["list_name", "entity_name"],
    name="listed_entities.csv",
    metadata={"summary_dates": ("listed_on", "removed_on"), "key": ("list_name", "entity_name")},
)

GOVERNANCE = pa.DataFrameSchema(
    {
        "country_iso3": _country(required=True),
        "year": pa.Column(pl.Int32),
        "wgi_score": pa.Column(
            pl.Float64,
            pa.Check.in_range(
                *WGI_RANGE,
                error=f"a WGI estimate lies in [{WGI_RANGE[0]}, {WGI_RANGE[1]}], not {{value}}",
            ),
        ),
        "published": _date(required=True),
        "source": _text(required=True),
    },
    checks=[
        _row_rule(
            lambda: _year_not_after("published"),
            error="the data year is after the year the scores were published",
        )
    ],
    unique=["country_iso3", "year"],
    name="governance_wgi.csv",
    metadata={"summary_dates": ("published",), "key": ("country_iso3", "year")},
)

IMPORTER_BREAKDOWNS = pa.DataFrameSchema(
    {
        "importer_iso3": _country(required=True),
        "material": _text(required=True),
        "commodity": pa.Column(
            pl.String, _catalog_check(_commodities, "a catalog commodity"), nullable=True
        ),
        "period": _text(required=True),
        "origin_iso3": _country(required=True),
        "quantity": _QUANTITY,
        "unit": _text(required=False),
        "share": _SHARE,
        "published": _date(required=True),
        "basis": _text(required=False),
        "source": _text(required=True),
    },
    checks=[
        _row_rule(
            _period_not_after_publication,
            error="the period ends in a year after the figures were published",
        ),
        _row_rule(
            lambda: _shares_sum_at_most_one(
                ("importer_iso3", "material", "period", "published"), "origin_iso3"
            ),
            error=f"the origin shares of this breakdown sum to more than {SHARE_SUM_TOLERANCE}",
        ),
    ],
    unique=["importer_iso3", "material", "period", "origin_iso3", "published"],
    name="importer_breakdowns.csv",
    metadata={
        "summary_dates": ("published",),
        "key": ("importer_iso3", "material", "period", "origin_iso3", "published"),
    },
)

#: Every reference table by its name in :class:`riskengine.reference.loader.ReferenceData`.
TABLE_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "production": PRODUCTION,
    "policy_events": POLICY_EVENTS,
    "listed_entities": LISTED_ENTITIES,
    "governance": GOVERNANCE,
    "importer_breakdowns": IMPORTER_BREAKDOWNS,
}


def file_name(schema: pa.DataFrameSchema) -> str:
    """The file a reference table is read from."""
    return str(schema.name)


def column_types(schema: pa.DataFrameSchema) -> dict[str, pl.DataType]:
    """Each column's polars type, in file order."""
    return {name: column.dtype.type for name, column in schema.columns.items()}


def summary_date_columns(schema: pa.DataFrameSchema) -> tuple[str, ...]:
    """The date columns whose range summarises the table."""
    return tuple((schema.metadata or {}).get("summary_dates", ()))


# ---------------------------------------------------------------------------------- warnings
# Facts that no feature can use as they stand. They do not distort a score (they are left out),
# so loading accepts them and ``reference check`` lists them for review.


def _is_dated() -> pl.Expr:
    return pl.col("announced").is_not_null() | pl.col("effective").is_not_null()


def _names_only_catalog_materials(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col(data.key).map_elements(
            lambda cell: not any(tag in _tags_covering_nothing() for tag in split_tags(cell)),
            return_dtype=pl.Boolean,
        )
    )


def _quota_is_not_stale() -> pl.Expr:
    today = date.today()
    # The 28th exists in every month, so the cut-off is a valid date in any year.
    cutoff = date(today.year - STALE_QUOTA_YEARS, today.month, min(today.day, 28))
    stale = (
        (pl.col("measure") == "export_quota")
        & (pl.col("scope") == "flow")
        & pl.col("ended").is_null()
        & (pl.col("effective") < cutoff)
    )
    return ~stale.fill_null(False)


POLICY_EVENT_WARNINGS = pa.DataFrameSchema(
    {
        "materials": pa.Column(
            pl.String,
            pa.Check(
                _names_only_catalog_materials,
                error="names a material the catalog lacks: no feature sees it for that material",
            ),
        ),
    },
    checks=[
        _row_rule(
            _is_dated,
            error="undated: neither announced nor effective, so no feature or label sees it",
        ),
        _row_rule(
            _quota_is_not_stale,
            error=f"a quota with no end date, in force for over {STALE_QUOTA_YEARS} years: "
            "is its end missing?",
        ),
    ],
    name="policy_events.csv",
    metadata={"key": ("event_id",)},
)

#: Warning rules by table name (tables without any are absent).
WARNING_SCHEMAS: dict[str, pa.DataFrameSchema] = {"policy_events": POLICY_EVENT_WARNINGS}


def table_key(schema: pa.DataFrameSchema) -> tuple[str, ...]:
    """The columns that identify a row of the table (unique within it)."""
    return tuple((schema.metadata or {})["key"])
