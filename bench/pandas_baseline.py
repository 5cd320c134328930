"""The scoring a user would write with pandas alone: the baseline riskengine has to beat.

It reproduces riskengine's model-input features with pandas merges and group-bys over the
same reference tables (concentration shares and HHI per production dataset, supplier-country
governance, export measures in force on the flow, announced measures, policy momentum), then
calls the same model's ``predict_proba`` and writes with ``DataFrame.to_csv``.

Deliberate choices, so the baseline is plain but not careless (it is hard to beat, not easy):

- material names and countries are resolved once per distinct value with the catalog's own
  resolvers and mapped onto the rows, as anyone would;
- small tables are joined to each other first (events to the catalog coverage), then once to
  the 1M pairs on ``(material_id, supplier_country)``;
- the catalog tree coverage of each policy event comes from
  :func:`riskengine.features.common.event_material_coverage` (a few hundred rows; rewriting
  the catalog walk in pandas would measure nothing), and the production-dataset preference of
  each material is computed per material with the public catalog API.

Not reproduced: name screening of buyers and suppliers against listed entities and the
drivers text, which are not model inputs (riskengine does both; see the README).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from riskengine.catalog import Catalog, load_catalog, normalise_country
from riskengine.features.common import event_material_coverage, months_before
from riskengine.reference.loader import ReferenceData

RESTRICTIVE = ("export_licensing", "export_tax", "export_quota", "export_ban")
SEVERITY = {"export_licensing": 1, "export_tax": 2, "export_quota": 2, "export_ban": 3}
NEUTRAL_GOVERNANCE = 5.0
BANDS = ((0.40, "critical"), (0.15, "high"), (0.05, "medium"))


@dataclass(frozen=True)
class PandasReference:
    """Reference tables as known at the as-of date, in pandas."""

    shares: pd.DataFrame
    dataset_summary: pd.DataFrame
    material_basis: pd.DataFrame
    governance_latest: pd.DataFrame
    events: pd.DataFrame
    coverage: pd.DataFrame
    ore_of: pd.DataFrame


def governance_scale(wgi: pd.Series) -> pd.Series:
    """WGI (-2.5 strong to +2.5 weak reversed) rescaled to 0-10 with 10 the weakest."""
    return ((2.5 - wgi) * 2.0).clip(0.0, 10.0)


def _dataset_preferences(catalog: Catalog) -> pd.DataFrame:
    rows = []
    for material_id in catalog.material_ids:
        material = catalog.material(material_id)
        kinds = ("mine",) if material.stage == "ore_concentrate" else ("refining", "mine")
        rank = 0
        for kind in kinds:
            for commodity in catalog.commodity_lineage(material.primary_commodity):
                dataset = catalog.production_dataset(commodity, kind)
                if dataset is not None:
                    rows.append((material_id, rank, dataset, kind))
                    rank += 1
    return pd.DataFrame(rows, columns=["material_id", "rank", "dataset", "production_stage"])


def prepare_reference(reference: ReferenceData, as_of: date) -> PandasReference:
    """Filter the reference tables to what was known at ``as_of`` and summarise them."""
    as_of_stamp = pd.Timestamp(as_of)
    production = reference.production.to_pandas()
    production = production[production["published"] <= as_of_stamp]
    governance = reference.governance.to_pandas()
    governance = governance[governance["published"] <= as_of_stamp]
    events = reference.policy_events.to_pandas()
    known_from = events["announced"].fillna(events["effective"])
    events = events[known_from <= as_of_stamp].copy()
    events["ended"] = events["ended"].where(events["ended"] <= as_of_stamp)
    events["severity"] = events["measure"].map(SEVERITY).fillna(0).astype("int8")

    # Country shares for the latest known year (and latest edition) of each dataset.
    rows = production[production["country_iso3"] != "WLD"].copy()
    group = ["material", "stage"]
    rows = rows[rows["year"] == rows.groupby(group)["year"].transform("max")]
    rows = rows[rows["published"] == rows.groupby([*group, "year"])["published"].transform("max")]
    total = rows.groupby(group)["quantity"].transform("sum")
    computed = (rows["quantity"] / total).where(total > 0)
    rows["share"] = computed.fillna(rows["share"])
    shares = rows.rename(columns={"material": "dataset", "stage": "production_stage"})[
        ["dataset", "production_stage", "year", "country_iso3", "share"]
    ]

    # ROW (rest of the world) counts as one producer in the HHI but is never the top producer.
    countries = shares.merge(
        governance[["country_iso3", "wgi_score"]], on="country_iso3", how="left"
    )
    countries["governance"] = governance_scale(countries["wgi_score"]).fillna(NEUTRAL_GOVERNANCE)
    countries["share_squared"] = countries["share"] ** 2
    countries["weighted"] = countries["share_squared"] * countries["governance"]
    countries["named_share"] = countries["share"].where(countries["country_iso3"] != "ROW")
    dataset_summary = countries.groupby(["dataset", "production_stage"], as_index=False).agg(
        material_hhi=("share_squared", "sum"),
        top_producer_share=("named_share", "max"),
        material_hhi_wgi=("weighted", "sum"),
    )

    # Each material's most preferred dataset among those with data.
    available = shares[["dataset", "production_stage", "year"]].drop_duplicates()
    preferences = _dataset_preferences(load_catalog()).merge(
        available, on=["dataset", "production_stage"]
    )
    material_basis = preferences[
        preferences["rank"] == preferences.groupby("material_id")["rank"].transform("min")
    ][["material_id", "dataset", "production_stage", "year"]]

    latest = governance[
        governance["year"] == governance.groupby("country_iso3")["year"].transform("max")
    ]
    governance_latest = pd.DataFrame(
        {
            "supplier_country": latest["country_iso3"],
            "supplier_country_governance": governance_scale(latest["wgi_score"]),
        }
    )
    coverage = (
        event_material_coverage(pl.from_pandas(events[["event_id", "materials", "stages"]]).lazy())
        .collect()
        .to_pandas()
    )
    catalog = load_catalog()
    ore_of = pd.DataFrame(
        [
            (material_id, ore_id)
            for material_id in catalog.material_ids
            for ore_id in catalog.material_ids
            if catalog.material(ore_id).stage == "ore_concentrate"
            and catalog.material(ore_id).primary_commodity
            in catalog.commodity_lineage(catalog.material(material_id).primary_commodity)
        ],
        columns=["material_id", "ore_material_id"],
    )
    return PandasReference(
        ore_of=ore_of,
        shares=shares,
        dataset_summary=dataset_summary,
        material_basis=material_basis,
        governance_latest=governance_latest,
        events=events,
        coverage=coverage,
    )


def _flow_matches(
    pairs: pd.DataFrame,
    events: pd.DataFrame,
    coverage: pd.DataFrame,
    *,
    destination: str,
    scopes: tuple[str, ...],
) -> pd.DataFrame:
    """Pairs joined to the events covering their material from their supplier country."""
    selected = events[events["scope"].isin(scopes)].rename(
        columns={"country_iso3": "supplier_country"}
    )
    flows = coverage.merge(
        selected[["event_id", "supplier_country", "target_country_iso3", "severity", "effective"]],
        on="event_id",
    )
    matched = pairs.merge(flows, on=["material_id", "supplier_country"])
    target = matched["target_country_iso3"]
    if destination == "all":
        keep = target.isna()
    elif destination == "buyer":
        keep = target == matched["buyer_country"]
    else:
        keep = target.isna() | (target == matched["buyer_country"])
    return matched[keep.fillna(False).astype(bool)]


def _per_pair(spine: pd.DataFrame, values: pd.Series, name: str, fill: Any = None) -> pd.Series:
    """Align a per-pair aggregate on the spine's pair ids."""
    aligned = spine["pair_id"].map(values)
    if fill is not None:
        aligned = aligned.fillna(fill)
    return aligned.rename(name)


def pandas_features(spine: pd.DataFrame, reference: ReferenceData, as_of: date) -> pd.DataFrame:
    """riskengine's model-input features for ``spine`` (columns ``pair_id, material_id,
    supplier_country, buyer_country``), computed with pandas."""
    tables = prepare_reference(reference, as_of)
    as_of_stamp = pd.Timestamp(as_of)
    pairs = spine[["pair_id", "material_id", "supplier_country", "buyer_country"]]

    # Concentration: the material's dataset, its summary, the supplier country's share.
    result = pairs.merge(tables.material_basis, on="material_id", how="left")
    result = result.merge(tables.dataset_summary, on=["dataset", "production_stage"], how="left")
    own_share = tables.shares.rename(
        columns={"country_iso3": "supplier_country", "share": "supplier_country_share"}
    ).drop(columns="year")
    result = result.merge(
        own_share, on=["dataset", "production_stage", "supplier_country"], how="left"
    )
    result["supplier_country_share"] = result["supplier_country_share"].where(
        result["dataset"].isna(), result["supplier_country_share"].fillna(0.0)
    )
    result = result.merge(tables.governance_latest, on="supplier_country", how="left")
    result["production_data_age_years"] = as_of.year - result["year"]

    # Export controls: measures in force, by destination.
    events = tables.events
    restrictive = events["measure"].isin(RESTRICTIVE)
    in_force = events[
        restrictive
        & (events["effective"] <= as_of_stamp)
        & (events["ended"].isna() | (events["ended"] > as_of_stamp))
    ]
    coverage = tables.coverage
    worst_all = _flow_matches(pairs, in_force, coverage, destination="all", scopes=("flow",))
    result["export_control_severity"] = _per_pair(
        result, worst_all.groupby("pair_id")["severity"].max(), "export_control_severity", 0
    )
    worst_buyer = _flow_matches(
        pairs, in_force, coverage, destination="buyer", scopes=("flow", "military_end_use")
    )
    result["destination_measure_severity"] = _per_pair(
        result,
        worst_buyer.groupby("pair_id")["severity"].max(),
        "destination_measure_severity",
        0,
    )
    bans = _flow_matches(
        pairs,
        in_force[in_force["measure"] == "export_ban"],
        coverage,
        destination="any",
        scopes=("flow",),
    )
    result["flow_ban_in_force"] = result["pair_id"].isin(bans["pair_id"])

    # Policy: momentum, announced measures, time since the last restriction.
    window_start = pd.Timestamp(months_before(as_of, 24))
    recent = events[
        restrictive
        & (events["scope"] == "flow")
        & (events["effective"] > window_start)
        & (events["effective"] <= as_of_stamp)
    ]
    by_country = recent.groupby("country_iso3").size()
    result["supplier_country_new_restrictions_24m"] = (
        result["supplier_country"].map(by_country).fillna(0).astype("int32")
    )
    by_material = (
        coverage[coverage["event_id"].isin(recent["event_id"])].groupby("material_id").size()
    )
    result["material_new_restrictions_24m"] = (
        result["material_id"].map(by_material).fillna(0).astype("int32")
    )
    announced = events[
        restrictive
        & (events["effective"].isna() | (events["effective"] > as_of_stamp))
        & events["ended"].isna()
    ]
    announced_matches = _flow_matches(
        pairs, announced, coverage, destination="any", scopes=("flow",)
    )
    result["announced_measure_severity"] = _per_pair(
        result,
        announced_matches.groupby("pair_id")["severity"].max(),
        "announced_measure_severity",
        0,
    )
    # A ban on exporting the ore or concentrate of the material's commodity (or an ancestor).
    bans = in_force[
        (in_force["measure"] == "export_ban")
        & (in_force["scope"] == "flow")
        & in_force["target_country_iso3"].isna()
    ]
    banned_ores = coverage[coverage["event_id"].isin(bans["event_id"])].merge(
        bans[["event_id", "country_iso3"]], on="event_id"
    )
    banned_flows = (
        tables.ore_of.merge(
            banned_ores.rename(
                columns={"material_id": "ore_material_id", "country_iso3": "supplier_country"}
            ),
            on="ore_material_id",
        )[["material_id", "supplier_country"]]
        .drop_duplicates()
        .assign(unprocessed_export_ban_in_force=True)
    )
    # Other countries banning the unprocessed form of the material's commodity.
    peers = (
        tables.ore_of.merge(
            banned_ores.rename(columns={"material_id": "ore_material_id", "country_iso3": "peer"}),
            on="ore_material_id",
        )[["material_id", "peer"]]
        .drop_duplicates()
        .merge(pairs[["pair_id", "material_id", "supplier_country"]], on="material_id")
    )
    peers = peers[peers["peer"] != peers["supplier_country"]]
    result["peer_unprocessed_bans_in_force"] = (
        result["pair_id"].map(peers.groupby("pair_id")["peer"].nunique()).fillna(0).astype("int32")
    )
    result = result.merge(banned_flows, on=["material_id", "supplier_country"], how="left")
    result["unprocessed_export_ban_in_force"] = (
        result["unprocessed_export_ban_in_force"].fillna(False).astype(bool)
    )

    # Counts that change only when a measure starts or ends.
    flow_measures = events[restrictive & (events["scope"] == "flow")]
    started_flow = flow_measures[flow_measures["effective"] <= as_of_stamp]
    in_force_flow = started_flow[
        started_flow["ended"].isna() | (started_flow["ended"] > as_of_stamp)
    ]
    for name, table in (
        ("supplier_country_measures_in_force", in_force_flow),
        ("supplier_country_restrictions_to_date", started_flow),
    ):
        result[name] = (
            result["supplier_country"]
            .map(table.groupby("country_iso3").size())
            .fillna(0)
            .astype("int32")
        )
    in_force_by_material = (
        coverage[coverage["event_id"].isin(in_force_flow["event_id"])].groupby("material_id").size()
    )
    result["material_measures_in_force"] = (
        result["material_id"].map(in_force_by_material).fillna(0).astype("int32")
    )
    targeted = events[
        events["target_country_iso3"].notna()
        & events["measure"].isin([*RESTRICTIVE, "entity_listing"])
        & (events["effective"] <= as_of_stamp)
        & (events["ended"].isna() | (events["ended"] > as_of_stamp))
    ]
    result["buyer_country_targeted_measures_in_force"] = (
        result["buyer_country"]
        .map(targeted.groupby("target_country_iso3").size())
        .fillna(0)
        .astype("int32")
    )

    started = events[restrictive & (events["effective"] <= as_of_stamp)]
    started_matches = _flow_matches(pairs, started, coverage, destination="any", scopes=("flow",))
    latest = started_matches.groupby("pair_id")["effective"].max()
    result["days_since_last_restriction"] = (
        as_of_stamp - _per_pair(result, latest, "latest")
    ).dt.days
    return result


def model_matrix(features: pd.DataFrame, feature_names: tuple[str, ...]) -> pd.DataFrame:
    """The model's columns as float64; a feature the baseline does not build is NaN."""
    matrix = pd.DataFrame(index=features.index)
    for name in feature_names:
        matrix[name] = features[name].astype("float64") if name in features.columns else np.nan
    return matrix


def missing_features(feature_names: tuple[str, ...]) -> list[str]:
    """Model features the pandas baseline does not reproduce (scored as NaN)."""
    built = {
        "material_hhi",
        "top_producer_share",
        "material_hhi_wgi",
        "supplier_country_share",
        "supplier_country_governance",
        "production_data_age_years",
        "export_control_severity",
        "destination_measure_severity",
        "flow_ban_in_force",
        "supplier_country_new_restrictions_24m",
        "material_new_restrictions_24m",
        "announced_measure_severity",
        "days_since_last_restriction",
        "unprocessed_export_ban_in_force",
        "supplier_country_measures_in_force",
        "supplier_country_restrictions_to_date",
        "material_measures_in_force",
        "buyer_country_targeted_measures_in_force",
        "peer_unprocessed_bans_in_force",
    }
    return [name for name in feature_names if name not in built]


def _platt(raw: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    clipped = np.clip(raw, 1e-9, 1 - 1e-9)
    return 1 / (1 + np.exp(-(slope * np.log(clipped / (1 - clipped)) + intercept)))


def _calibrate(
    raw: np.ndarray, calibration: dict[str, Any] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The calibrated probability and its 95% interval, computed on the distinct raw values."""
    if not calibration:
        return raw, raw, raw
    values, inverse = np.unique(raw, return_inverse=True)
    point = _platt(values, *calibration["point"])
    draws = np.vstack([_platt(values, *pair) for pair in calibration["replicates"]])
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    return point[inverse], np.minimum(low, point)[inverse], np.maximum(high, point)[inverse]


def _resolver(function: Any) -> Any:
    def resolve(value: str) -> str | None:
        try:
            return function(value)
        except Exception:  # an unusable value is not scored
            return None

    return resolve


def score_with_pandas(
    input_path: Path,
    output_path: Path,
    *,
    reference: ReferenceData,
    model: Any,
    feature_names: tuple[str, ...],
    as_of: date,
    calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Read a sourcing CSV, resolve, build the features, predict, calibrate (the model's Platt
    map and its bootstrap interval), combine with the restriction state and write, all in
    pandas and numpy."""
    frame = pd.read_csv(input_path, dtype=str, keep_default_na=False, na_values=[""])
    catalog = load_catalog()
    resolve_material = _resolver(lambda text: catalog.resolve_material(text).material_id)
    resolve_country = _resolver(normalise_country)
    columns = {
        "material_id": ("material", resolve_material),
        "supplier_country_iso3": ("supplier_country", resolve_country),
        "buyer_country_iso3": ("buyer_country", resolve_country),
    }
    for target, (source, resolve) in columns.items():
        text = frame[source].str.strip()
        lookup = {value: resolve(value) for value in text.dropna().unique()}
        frame[target] = text.map(lookup)
    usable = (
        frame["material_id"].notna()
        & frame["supplier_country_iso3"].notna()
        & frame["buyer_country_iso3"].notna()
        & frame["supplier"].fillna("").str.strip().ne("")
    )
    spine = pd.DataFrame(
        {
            "pair_id": np.flatnonzero(usable.to_numpy()),
            "material_id": frame.loc[usable, "material_id"].to_numpy(),
            "supplier_country": frame.loc[usable, "supplier_country_iso3"].to_numpy(),
            "buyer_country": frame.loc[usable, "buyer_country_iso3"].to_numpy(),
        }
    )
    features = pandas_features(spine, reference, as_of)
    probability = model.predict_proba(model_matrix(features, feature_names))[:, 1]
    hazard, low, high = _calibrate(probability, calibration)
    state = np.select(
        [
            features["flow_ban_in_force"].to_numpy(dtype=bool),
            features["destination_measure_severity"].to_numpy() > 0,
            features["export_control_severity"].to_numpy() == 2,
            features["export_control_severity"].to_numpy() == 1,
            features["announced_measure_severity"].to_numpy() == 3,
            features["announced_measure_severity"].to_numpy() == 2,
            features["announced_measure_severity"].to_numpy() == 1,
        ],
        [1.0, 0.6, 0.6, 0.5, 1.0, 0.6, 0.5],
        default=0.0,
    )
    frame["model_score"] = np.nan
    frame.loc[usable, "model_score"] = hazard
    frame["risk_score"] = np.nan
    frame.loc[usable, "risk_score"] = 1 - (1 - state) * (1 - hazard)
    frame["risk_score_low"] = np.nan
    frame.loc[usable, "risk_score_low"] = 1 - (1 - state) * (1 - low)
    frame["risk_score_high"] = np.nan
    frame.loc[usable, "risk_score_high"] = 1 - (1 - state) * (1 - high)
    frame["risk_band"] = np.select(
        [frame["risk_score"] >= threshold for threshold, _ in BANDS],
        [band for _, band in BANDS],
        default="low",
    )
    frame.loc[~usable, "risk_band"] = None
    frame["status"] = np.where(usable, "scored", "rejected")
    frame.to_csv(output_path, index=False)
    return frame
