"""The contracts of the reference tables: one pandera (polars) schema per table.

Each schema holds the table's columns with their types, which may be blank, the values and
ranges allowed, and the rules between columns. :mod:`riskengine.reference.loader` reads a file
as text, parses each cell to the schema's type, then validates the typed frame against it.

A schema's ``name`` is the table's file name; ``metadata["summary_dates"]`` lists the date
columns whose range ``riskengine reference check`` reports. A check's ``error`` is its rule in
words, with ``{value}`` standing for the offending value as written in the file.
"""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

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


@cache
def valid_country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-3 codes and the pseudo-codes the reference data uses (ROW, WLD, XKX)."""
    import pycountry

    return frozenset(country.alpha_3 for country in pycountry.countries) | PSEUDO_COUNTRY_CODES


def _is_country_code(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(sorted(valid_country_codes())))


def _ends_after_it_takes_effect(data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("ended") >= pl.col("effective"))


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


def _date(required: bool) -> pa.Column:
    return pa.Column(pl.Date, nullable=not required)


_SHARE = pa.Column(
    pl.Float64, pa.Check.in_range(0.0, 1.0, error="must lie in [0, 1], not {value}"), nullable=True
)
_QUANTITY = pa.Column(
    pl.Float64, pa.Check.ge(0.0, error="must not be negative, not {value}"), nullable=True
)

PRODUCTION = pa.DataFrameSchema(
    {
        "material": _text(required=True),
        "stage": pa.Column(pl.String, _one_of(PRODUCTION_STAGES)),
        "country_iso3": _country(required=True),
        "year": pa.Column(pl.Int32),
        "quantity": _QUANTITY,
        "unit": _text(required=False),
        "share": _SHARE,
        "published": _date(required=True),
        "source": _text(required=True),
    },
    name="production.csv",
    metadata={"summary_dates": ("published",)},
)

POLICY_EVENTS = pa.DataFrameSchema(
    {
        "event_id": pa.Column(pl.String, unique=True),
        "country_iso3": _country(required=True),
        "measure": pa.Column(pl.String, _one_of(MEASURES)),
        "materials": _text(required=True),
        "target_country_iso3": _country(required=False),
        "announced": _date(required=False),
        "effective": _date(required=False),
        "ended": pa.Column(
            pl.Date,
            pa.Check(
                _ends_after_it_takes_effect,
                error="the measure ends ({value}) before it takes effect",
            ),
            nullable=True,
        ),
        "stages": _text(required=False),
        "scope": pa.Column(pl.String, _one_of(EVENT_SCOPES)),
        "description": _text(required=False),
        "source": _text(required=True),
        # How precise the dates given are (a month or year date is the period's first day).
        "date_precision": pa.Column(pl.String, _one_of(("day", "month", "year"))),
        "superseded_by": pa.Column(
            pl.String,
            pa.Check(
                lambda data: data.lazyframe.select(
                    pl.col(data.key).is_in(pl.col("event_id").implode())
                ),
                error="superseded_by {value} is not an event_id of the table",
            ),
            nullable=True,
        ),
        "confidence": pa.Column(pl.String, _one_of(("primary", "secondary")), nullable=True),
    },
    name="policy_events.csv",
    metadata={"summary_dates": ("announced", "effective", "ended")},
)

LISTED_ENTITIES = pa.DataFrameSchema(
    {
        "list_name": _text(required=True),
        "listing_authority_iso3": _country(required=True),
        "entity_name": _text(required=True),
        "entity_country_iso3": _country(required=False),
        "listed_on": _date(required=True),
        "reason": _text(required=False),
        "source": _text(required=True),
    },
    name="listed_entities.csv",
    metadata={"summary_dates": ("listed_on",)},
)

GOVERNANCE = pa.DataFrameSchema(
    {
        "country_iso3": _country(required=True),
        "year": pa.Column(pl.Int32),
        "wgi_score": pa.Column(pl.Float64),
        "published": _date(required=True),
        "source": _text(required=True),
    },
    name="governance_wgi.csv",
    metadata={"summary_dates": ("published",)},
)

IMPORTER_BREAKDOWNS = pa.DataFrameSchema(
    {
        "importer_iso3": _country(required=True),
        "material": _text(required=True),
        "commodity": _text(required=False),
        "period": _text(required=True),
        "origin_iso3": _country(required=True),
        "quantity": _QUANTITY,
        "unit": _text(required=False),
        "share": _SHARE,
        "published": _date(required=True),
        "basis": _text(required=False),
        "source": _text(required=True),
    },
    name="importer_breakdowns.csv",
    metadata={"summary_dates": ("published",)},
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
