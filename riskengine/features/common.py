"""Pieces shared by several feature families: severity scale, policy coverage, and the
distinct key combinations a builder (or the model) works on once each."""

from __future__ import annotations

from datetime import date
from functools import cache

import polars as pl

from riskengine.catalog import Catalog, load_catalog

SEVERITY_BY_MEASURE: dict[str, int] = {
    "export_licensing": 1,
    "export_tax": 2,
    "export_quota": 2,
    "export_ban": 3,
}


def severity_expression(measure_column: str = "measure") -> pl.Expr:
    """Severity of a measure: licensing 1 < quota or tax 2 < ban 3; anything else 0."""
    return (
        pl.col(measure_column)
        .replace_strict(SEVERITY_BY_MEASURE, default=0, return_dtype=pl.Int8)
        .alias("severity")
    )


def ordered_sum(values: pl.Expr) -> pl.Expr:
    """The sum of ``values`` (nulls skipped, 0 when none), added one by one in ascending order.

    Polars sums a group in pieces whose boundaries follow the thread count, and floating-point
    addition is not associative, so ``.sum()`` can differ in the last digit between runs and
    machines; even ``.sort().sum()`` did, as the sort does not fix how the sum is split. A
    cumulative sum is sequential, so the sorted values always add up in the same order and
    features are byte-identical across runs and ``POLARS_MAX_THREADS``.
    """
    return values.drop_nulls().sort().cum_sum().last().fill_null(0.0)


def event_known_from() -> pl.Expr:
    """The first day a policy event is known to the engine.

    That is its announcement (or, without one, its entry into force). A source that dates the
    event only to the month or the year gives the period's first day; the event then counts as
    known from the period's last day, so no feature sees it before it could have been known.
    """
    first_date = pl.coalesce("announced", "effective")
    return (
        pl.when(pl.col("date_precision") == "month")
        .then(first_date.dt.month_end())
        .when(pl.col("date_precision") == "year")
        .then(pl.date(first_date.dt.year(), 12, 31))
        .otherwise(first_date)
    )


def event_material_coverage(events: pl.LazyFrame, catalog: Catalog | None = None) -> pl.LazyFrame:
    """Which catalog materials each event covers: one row per (event_id, material_id).

    An event's ``materials`` tags resolve through the catalog tree (a measure on rare earths
    covers dysprosium oxide) and the tag's own stages; the event's ``stages`` column narrows it
    further (Vietnam's ban on unprocessed rare earths covers concentrate, not oxide).
    """
    catalog = catalog or load_catalog()
    tag_rows = _tag_coverage_frame(catalog)
    material_commodities = _material_commodities(catalog).lazy()
    return (
        events.select(
            "event_id",
            pl.col("materials").str.split(";").alias("tag"),
            pl.col("stages").fill_null("").str.split(";").alias("event_stages"),
        )
        .explode("tag")
        .with_columns(pl.col("tag").str.strip_chars())
        .join(tag_rows.lazy(), on="tag")
        .join(material_commodities, on="commodity_id")
        .filter(
            (pl.col("tag_stages").list.len() == 0)
            | pl.col("tag_stages").list.contains(pl.col("stage"))
        )
        .filter(
            (pl.col("event_stages").list.first() == "")
            | pl.col("event_stages").list.contains(pl.col("stage"))
        )
        .select("event_id", "material_id")
        .unique()
    )


@cache
def _material_commodities(catalog: Catalog) -> pl.DataFrame:
    """Every (material, commodity it contains, stage) of the catalog; static, so computed once."""
    return pl.DataFrame(
        [
            {"material_id": material_id, "commodity_id": commodity, "stage": material.stage}
            for material_id in catalog.material_ids
            for material in (catalog.material(material_id),)
            for commodity in material.commodities
        ]
    )


@cache
def _tag_coverage_frame(catalog: Catalog) -> pl.DataFrame:
    rows = []
    for tag in catalog.known_tags():
        commodities, stages = catalog.tag_coverage(tag)
        for commodity in sorted(commodities):
            rows.append({"tag": tag, "commodity_id": commodity, "tag_stages": sorted(stages)})
    return pl.DataFrame(
        rows,
        schema={"tag": pl.String, "commodity_id": pl.String, "tag_stages": pl.List(pl.String)},
    )


def months_before(as_of: date, months: int) -> date:
    """The same day ``months`` months earlier (clipped to the month's last day)."""
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    month += 1
    for day in (as_of.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has a 28th")


def distinct_rows(frame: pl.DataFrame, keys: list[str]) -> tuple[pl.DataFrame, pl.Series]:
    """The distinct combinations of ``keys`` in ``frame``, in order of first appearance, and
    for each row of ``frame`` the position of its combination among them: what is worked out
    once per combination is then gathered for every row. Nulls are one value.

    One grouping does what a ``unique`` and a join back on the same columns do, in 35-45 %
    less time on the 1M bench list's keys (bench/README, eighth session).
    """
    import numpy as np

    groups = (
        frame.select(keys)
        .with_row_index("__row")
        .group_by(keys, maintain_order=True)
        .agg(pl.col("__row"))
    )
    rows = groups["__row"]
    group_of_row = np.empty(frame.height, dtype=np.uint32)
    group_of_row[rows.explode().to_numpy()] = np.repeat(
        np.arange(groups.height, dtype=np.uint32), rows.list.len().to_numpy()
    )
    return groups.drop("__row"), pl.Series(group_of_row)
