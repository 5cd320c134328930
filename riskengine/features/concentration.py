"""Concentration of world supply: who produces the material, and how concentrated that is.

Production data attach to the catalog tree at the level they were published. A material uses
the first dataset known at ``as_of`` in this order: its own stage kind (refining for processed
stages, mine for ore and concentrate), walking up its commodity's lineage, then mine-stage data
walking up again. So dysprosium oxide uses the heavy rare-earth separation shares once they are
published, and world rare-earth mine output before that.

Shares are each country's output over the sum of country rows (``WLD`` excluded). ``ROW`` (the
rest of the world) counts as one producer in the HHI, so the HHI stays within [1/n, 1] for n
rows; that overstates it by at most ROW's share squared (in the shipped data 0.08 for germanium
2020, 0.058 for ferrochrome 2016, 0.03 for zinc mine, 0.022 for IEA refined nickel, 0.015 for
copper mine output and 0.013 for the EU CRM 2023 vanadium processing shares; 0.01 or less
elsewhere). It is never the top producer.
"""

from __future__ import annotations

from datetime import date
from functools import cache

import polars as pl

from riskengine.catalog import load_catalog
from riskengine.features.common import ordered_sum
from riskengine.features.registry import PAIR_KEY, feature
from riskengine.features.sourcing_mix import SOURCING_GROUP

NEUTRAL_GOVERNANCE = 5.0
REST_OF_WORLD = "ROW"
WORLD = "WLD"


def governance_scale(wgi_score: pl.Expr) -> pl.Expr:
    """Rescale a WGI mean (about -2.5 weak to +2.5 strong) to 0-10 with 10 the weakest.

    Linear: ``(2.5 - wgi) * 2``, clipped to [0, 10], as in the EU criticality method.
    """
    return ((2.5 - wgi_score) * 2.0).clip(0.0, 10.0)


def _own_stage_kind(stage: str) -> str:
    """The production stage a material of catalog ``stage`` is made at: ``mine`` for ore and
    concentrate, ``refining`` for every processed stage."""
    return "mine" if stage == "ore_concentrate" else "refining"


@cache
def _dataset_preferences() -> pl.DataFrame:
    catalog = load_catalog()
    rows = []
    for material_id in catalog.material_ids:
        material = catalog.material(material_id)
        own_kind = _own_stage_kind(material.stage)
        kinds = (own_kind,) if own_kind == "mine" else (own_kind, "mine")
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
                            "production_stage": kind,
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


def production_coverage(production: pl.LazyFrame) -> pl.DataFrame:
    """Per catalog material, the production dataset its shares come from and whether it is at
    the material's own stage kind.

    The dataset is the one the concentration features use once every row of ``production`` is
    known (the first of the material's preferences with rows). The own stage kind is ``mine``
    for ore and concentrate and ``refining`` for every processed stage.

    Parameters
    ----------
    production
        The production table (``material``, ``stage`` and at least one row per dataset used).

    Returns
    -------
    pl.DataFrame
        One row per material in catalog order: ``material_id``, ``stage``, ``own_stage_kind``,
        ``dataset`` and ``production_stage`` (null when no dataset has rows) and ``own_stage``
        (true when ``production_stage`` equals ``own_stage_kind``).
    """
    catalog = load_catalog()
    materials = pl.DataFrame(
        [
            {
                "order": order,
                "material_id": material.material_id,
                "stage": material.stage,
                "own_stage_kind": _own_stage_kind(material.stage),
            }
            for order, material in enumerate(map(catalog.material, catalog.material_ids))
        ],
        schema={
            "order": pl.Int32,
            "material_id": pl.String,
            "stage": pl.String,
            "own_stage_kind": pl.String,
        },
    )
    available = (
        production.select(
            pl.col("material").alias("dataset"), pl.col("stage").alias("production_stage")
        )
        .unique()
        .collect()
    )
    chosen = (
        _dataset_preferences()
        .join(available, on=["dataset", "production_stage"])
        .filter(pl.col("rank") == pl.col("rank").min().over("material_id"))
        .select("material_id", "dataset", "production_stage")
    )
    return (
        materials.join(chosen, on="material_id", how="left")
        .sort("order")
        .select(
            "material_id",
            "stage",
            "own_stage_kind",
            "dataset",
            "production_stage",
            (pl.col("production_stage") == pl.col("own_stage_kind"))
            .fill_null(False)
            .alias("own_stage"),
        )
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
        .with_columns(ordered_sum(pl.col("quantity")).over(group).alias("total_quantity"))
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
    countries = shares
    if governance is not None:
        scaled = governance.select(
            "country_iso3", governance_scale(pl.col("wgi_score")).alias("governance")
        )
        countries = countries.join(scaled, on="country_iso3", how="left")
    else:
        countries = countries.with_columns(pl.lit(None, dtype=pl.Float64).alias("governance"))
    return countries.group_by("dataset", "production_stage").agg(
        ordered_sum(pl.col("share") ** 2).alias("material_hhi"),
        pl.col("share")
        .filter(pl.col("country_iso3") != REST_OF_WORLD)
        .max()
        .alias("top_producer_share"),
        ordered_sum(
            (pl.col("share") ** 2) * pl.col("governance").fill_null(NEUTRAL_GOVERNANCE)
        ).alias("material_hhi_wgi"),
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
    keys=("supplier_country",),
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
    model_input=False,
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


def latest_import_shares(importer_breakdowns: pl.LazyFrame) -> pl.LazyFrame:
    """Origin shares of the latest complete import breakdown per importer and commodity.

    A breakdown is complete when its origin rows (``WLD`` excluded) cover at least 95% of the
    total; shares come from quantities when every origin has one, else from the share column.
    """
    group = ["importer_iso3", "commodity", "period", "published"]
    origins = importer_breakdowns.filter(
        pl.col("commodity").is_not_null() & (pl.col("origin_iso3") != WORLD)
    ).with_columns(
        pl.when(pl.col("quantity").is_not_null().all().over(group))
        .then(pl.col("quantity") / ordered_sum(pl.col("quantity")).over(group))
        .otherwise(pl.col("share"))
        .alias("import_share")
    )
    complete = origins.filter(ordered_sum(pl.col("import_share")).over(group) >= 0.95)
    latest = complete.filter(
        pl.col("published") == pl.col("published").max().over(["importer_iso3", "commodity"])
    ).filter(pl.col("period") == pl.col("period").max().over(["importer_iso3", "commodity"]))
    return latest.select("importer_iso3", "commodity", "origin_iso3", "import_share", "period")


def _import_basis(spine: pl.LazyFrame, importer_breakdowns: pl.LazyFrame) -> pl.LazyFrame:
    """Per pair, the nearest commodity in the material's lineage with a buyer-side breakdown."""
    catalog = load_catalog()
    lineage = pl.DataFrame(
        [
            {"material_id": material_id, "rank": rank, "commodity": commodity}
            for material_id in catalog.material_ids
            for rank, commodity in enumerate(
                catalog.commodity_lineage(catalog.material(material_id).primary_commodity)
            )
        ],
        schema={"material_id": pl.String, "rank": pl.Int32, "commodity": pl.String},
    )
    shares = latest_import_shares(importer_breakdowns)
    available = shares.select("importer_iso3", "commodity").unique()
    return (
        spine.select(PAIR_KEY, "material_id", "buyer_country", "supplier_country")
        .join(lineage.lazy(), on="material_id")
        .join(
            available.rename({"importer_iso3": "buyer_country"}),
            on=["buyer_country", "commodity"],
        )
        .filter(pl.col("rank") == pl.col("rank").min().over(PAIR_KEY))
        .join(shares.rename({"importer_iso3": "buyer_country"}), on=["buyer_country", "commodity"])
    )


@feature(
    family="concentration",
    description="HHI (0-1) of the buyer country's imports of the material by origin (latest "
    "complete breakdown known at as-of; null where none is known)",
    sources=("importer_breakdowns",),
    dtype=pl.Float64,
    model_input=False,
)
def buyer_import_hhi(
    spine: pl.LazyFrame, importer_breakdowns: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    hhi = (
        _import_basis(spine, importer_breakdowns)
        .group_by(PAIR_KEY)
        .agg(ordered_sum(pl.col("import_share") ** 2).alias("buyer_import_hhi"))
    )
    return spine.select(PAIR_KEY).join(hhi, on=PAIR_KEY, how="left")


@feature(
    family="concentration",
    description="The supplier country's share of the buyer country's imports of the material "
    "(GeoPolRisk style; 0 when not a listed origin, null where no breakdown is known)",
    sources=("importer_breakdowns",),
    dtype=pl.Float64,
    model_input=False,
)
def supplier_share_of_buyer_imports(
    spine: pl.LazyFrame, importer_breakdowns: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    basis = _import_basis(spine, importer_breakdowns)
    known = basis.select(PAIR_KEY).unique()
    own = (
        basis.filter(pl.col("origin_iso3") == pl.col("supplier_country"))
        .group_by(PAIR_KEY)
        .agg(ordered_sum(pl.col("import_share")).alias("own_share"))
    )
    return (
        spine.select(PAIR_KEY)
        .join(known.with_columns(pl.lit(True).alias("known")), on=PAIR_KEY, how="left")
        .join(own, on=PAIR_KEY, how="left")
        .select(
            PAIR_KEY,
            pl.when(pl.col("known"))
            .then(pl.col("own_share").fill_null(0.0))
            .alias("supplier_share_of_buyer_imports"),
        )
    )


def _sourcing_countries(sourcing_mix: pl.LazyFrame) -> pl.LazyFrame:
    """The input's shares per material, plant and supplier country, normalised per material
    and plant (:data:`~riskengine.features.sourcing_mix.SOURCING_GROUP`).

    Read from the whole input's mix (:mod:`riskengine.features.sourcing_mix`), never from the
    rows a builder is given, so a chunk sees the whole file's mix. Rows without a share make
    the group's concentration unknown.
    """
    groups = sourcing_mix.group_by(SOURCING_GROUP).agg(
        pl.col("share_missing").any().alias("incomplete"),
        ordered_sum(pl.col("share")).alias("total"),
    )
    return (
        sourcing_mix.select(*SOURCING_GROUP, "supplier_country", "share")
        .join(groups, on=SOURCING_GROUP, nulls_equal=True)
        .filter(~pl.col("incomplete") & (pl.col("total") > 0))
        .with_columns((pl.col("share") / pl.col("total")).alias("country_share"))
    )


def _per_pair(spine: pl.LazyFrame, per_group: pl.LazyFrame, name: str) -> pl.LazyFrame:
    """Each pair with its sourcing group's value of ``name``."""
    return (
        spine.select(PAIR_KEY, *SOURCING_GROUP)
        .join(per_group, on=SOURCING_GROUP, how="left", nulls_equal=True)
        .select(PAIR_KEY, name)
    )


@feature(
    family="concentration",
    description="The buyer's own sourcing concentration for the material at the plant: HHI over "
    "supplier countries of the input's share column (null when a share is missing)",
    sources=("sourcing_mix",),
    dtype=pl.Float64,
    keys=SOURCING_GROUP,
    model_input=False,
)
def buyer_sourcing_hhi(
    spine: pl.LazyFrame, sourcing_mix: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    hhi = (
        _sourcing_countries(sourcing_mix)
        .group_by(SOURCING_GROUP)
        .agg(ordered_sum(pl.col("country_share") ** 2).alias("buyer_sourcing_hhi"))
    )
    return _per_pair(spine, hhi, "buyer_sourcing_hhi")


@feature(
    family="concentration",
    description="The buyer sources the material for the plant from a single supplier country "
    "(by the input's shares; null when a share is missing)",
    sources=("sourcing_mix",),
    dtype=pl.Boolean,
    keys=SOURCING_GROUP,
    model_input=False,
)
def single_source_country(
    spine: pl.LazyFrame, sourcing_mix: pl.LazyFrame, *, as_of: date
) -> pl.LazyFrame:
    countries = (
        _sourcing_countries(sourcing_mix)
        .filter(pl.col("country_share") > 0)
        .group_by(SOURCING_GROUP)
        .agg((pl.len() == 1).alias("single_source_country"))
    )
    return _per_pair(spine, countries, "single_source_country")
