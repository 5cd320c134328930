"""Concentration of world supply: who produces the material, and how concentrated that is.

Production data attach to the catalog tree at the level they were published. A material uses
the first dataset known at ``as_of`` in this order: its own stage kind (refining for processed
stages, mine for ore and concentrate), walking up its commodity's lineage, then mine-stage data
walking up again. So dysprosium oxide uses the heavy rare-earth separation shares once they are
published, and world rare-earth mine output before that.

Shares are each country's output over the sum of country rows (``WLD`` excluded); ``ROW`` (the
rest of the world) counts in that total but not as one country in the HHI, since it lumps many
small producers together.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.registry import PAIR_KEY, feature

NEUTRAL_GOVERNANCE = 5.0
REST_OF_WORLD = "ROW"
WORLD = "WLD"


def governance_scale(wgi_score: pl.Expr) -> pl.Expr:
    """Rescale a WGI mean (about -2.5 weak to +2.5 strong) to 0-10 with 10 the weakest.

    Linear: ``(2.5 - wgi) * 2``, clipped to [0, 10], as in the EU criticality method.
    """
    return ((2.5 - wgi_score) * 2.0).clip(0.0, 10.0)


@cache
def _dataset_preferences() -> pl.DataFrame:
    catalog = load_catalog()
    rows = []
    for material_id in catalog.material_ids:
        material = catalog.material(material_id)
        kinds = ("mine",) if material.stage == "ore_concentrate" else ("refining", "mine")
        rank = 0
        for kind in kinds:
            for commodity in catalog.commodity_lineage(material.primary_commodity):
                dataset = catalog.production_dataset(commodity, kind)
                if dataset is not None:
                    rows.append(
                        {
                            "material_id": material_id,
                            "rank": rank,
                            "dataset": dataset,
                            "production_stage": "refining" if kind == "refining" else "mine",
                        }
                    )
                    rank += 1
    return pl.DataFrame(
        rows,
        schema={
            "material_id": pl.String,
            "rank": pl.Int32,
            "dataset": pl.String,
            "production_stage": pl.String,
        },
    )


def latest_country_shares(production: pl.LazyFrame) -> pl.LazyFrame:
    """Country shares for the latest known year of each dataset and stage.

    For a year reported by several editions, the latest edition (by ``published``) wins.
    """
    group = ["material", "stage"]
    rows = production.filter(pl.col("country_iso3") != WORLD)
    latest = (
        rows.filter(pl.col("year") == pl.col("year").max().over(group))
        .filter(pl.col("published") == pl.col("published").max().over([*group, "year"]))
        .with_columns(pl.col("quantity").sum().over(group).alias("total_quantity"))
    )
    return latest.select(
        pl.col("material").alias("dataset"),
        pl.col("stage").alias("production_stage"),
        "year",
        "published",
        "country_iso3",
        pl.coalesce(
            pl.when(pl.col("total_quantity") > 0).then(
                pl.col("quantity") / pl.col("total_quantity")
            ),
            pl.col("share"),
        ).alias("share"),
        "source",
    )


def _pair_basis(spine: pl.LazyFrame, shares: pl.LazyFrame) -> pl.LazyFrame:
    available = shares.select("dataset", "production_stage", "year").unique()
    return (
        spine.select(PAIR_KEY, "material_id", "supplier_country")
        .join(_dataset_preferences().lazy(), on="material_id")
        .join(available, on=["dataset", "production_stage"])
        .filter(pl.col("rank") == pl.col("rank").min().over(PAIR_KEY))
        .select(PAIR_KEY, "supplier_country", "dataset", "production_stage", "year")
    )


def _dataset_summary(shares: pl.LazyFrame, governance: pl.LazyFrame | None) -> pl.LazyFrame:
    countries = shares.filter(pl.col("country_iso3") != REST_OF_WORLD)
    if governance is not None:
        scaled = governance.select(
            "country_iso3", governance_scale(pl.col("wgi_score")).alias("governance")
        )
        countries = countries.join(scaled, on="country_iso3", how="left")
    else:
        countries = countries.with_columns(pl.lit(None, dtype=pl.Float64).alias("governance"))
    return countries.group_by("dataset", "production_stage").agg(
        (pl.col("share") ** 2).sum().alias("material_hhi"),
        pl.col("share").max().alias("top_producer_share"),
        ((pl.col("share") ** 2) * pl.col("governance").fill_null(NEUTRAL_GOVERNANCE))
        .sum()
        .alias("material_hhi_wgi"),
    )


def _pair_summary(
    spine: pl.LazyFrame, production: pl.LazyFrame, governance: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    shares = latest_country_shares(production)
    return (
        spine.select(PAIR_KEY)
        .join(_pair_basis(spine, shares), on=PAIR_KEY, how="left")
        .join(_dataset_summary(shares, governance), on=["dataset", "production_stage"], how="left")
    )


@feature(
    family="concentration",
    description="Herfindahl-Hirschman index (0-1) of world production of the material, "
    "latest year known at as-of",
    sources=("production",),
    dtype=pl.Float64,
)
def material_hhi(spine: pl.LazyFrame, production: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    return _pair_summary(spine, production).select(PAIR_KEY, "material_hhi")


@feature(
    family="concentration",
    description="Share of the largest producing country in world production of the material",
    sources=("production",),
    dtype=pl.Float64,
)
def top_producer_share(
    spine: pl.LazyFrame, production: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _pair_summary(spine, production).select(PAIR_KEY, "top_producer_share")


@feature(
    family="concentration",
    description="Governance-weighted HHI (EU criticality method): sum of share squared times "
    "the producer's WGI rescaled 0-10 (10 weakest); unknown governance counts as 5",
    sources=("production", "governance"),
    dtype=pl.Float64,
)
def material_hhi_wgi(
    spine: pl.LazyFrame, production: pl.LazyFrame, governance: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return _pair_summary(spine, production, governance).select(PAIR_KEY, "material_hhi_wgi")


@feature(
    family="concentration",
    description="The supplier country's share of world production of the material (0 when it "
    "is not a listed producer)",
    sources=("production",),
    dtype=pl.Float64,
)
def supplier_country_share(
    spine: pl.LazyFrame, production: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    shares = latest_country_shares(production).select(
        "dataset", "production_stage", pl.col("country_iso3").alias("supplier_country"), "share"
    )
    return (
        spine.select(PAIR_KEY)
        .join(_pair_basis(spine, latest_country_shares(production)), on=PAIR_KEY, how="left")
        .join(shares, on=["dataset", "production_stage", "supplier_country"], how="left")
        .select(
            PAIR_KEY,
            pl.when(pl.col("dataset").is_not_null())
            .then(pl.col("share").fill_null(0.0))
            .alias("supplier_country_share"),
        )
    )


@feature(
    family="concentration",
    description="Governance of the supplier country: WGI rescaled 0-10, 10 the weakest",
    sources=("governance",),
    dtype=pl.Float64,
)
def supplier_country_governance(
    spine: pl.LazyFrame, governance: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    latest = governance.filter(pl.col("year") == pl.col("year").max().over("country_iso3"))
    return (
        spine.select(PAIR_KEY, "supplier_country")
        .join(
            latest.select(
                pl.col("country_iso3").alias("supplier_country"),
                governance_scale(pl.col("wgi_score")).alias("supplier_country_governance"),
            ),
            on="supplier_country",
            how="left",
        )
        .select(PAIR_KEY, "supplier_country_governance")
    )


@feature(
    family="concentration",
    description="Years between the as-of date and the production year the shares describe",
    sources=("production",),
    dtype=pl.Int32,
)
def production_data_age_years(
    spine: pl.LazyFrame, production: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    return (
        spine.select(PAIR_KEY)
        .join(_pair_basis(spine, latest_country_shares(production)), on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY,
            (pl.lit(as_of.year) - pl.col("year")).cast(pl.Int32).alias("production_data_age_years"),
        )
    )


@feature(
    family="concentration",
    description="Evidence: the production dataset, stage and year behind the shares",
    sources=("production",),
    dtype=pl.String,
    model_input=False,
)
def production_basis(spine: pl.LazyFrame, production: pl.LazyFrame, *, as_of: date) -> pl.LazyFrame:
    return (
        spine.select(PAIR_KEY)
        .join(_pair_basis(spine, latest_country_shares(production)), on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY,
            pl.when(pl.col("dataset").is_not_null())
            .then(pl.concat_str("dataset", "production_stage", "year", separator="|"))
            .alias("production_basis"),
        )
    )
