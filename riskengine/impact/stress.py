"""``riskengine stress``'s domain: the inventory and production plan, which flows a scenario's
measures hit, and one row per product with its first short day (README, "Stress scenarios").

The BOM is exploded by :func:`riskengine.bom.score_bom`; its lines (one per path and supplier,
with the supplier's share) are the flows. The arithmetic is :mod:`riskengine.impact.shortage`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from riskengine.bom.results import LINE_SCORED, PRODUCT_REFUSED, PRODUCT_UNSCORED, display_name
from riskengine.catalog import load_catalog
from riskengine.errors import UserInputError
from riskengine.explain import country_name
from riskengine.features.common import event_material_coverage
from riskengine.impact.scenario import Measure, Scenario
from riskengine.impact.shortage import (
    SHORT_TOLERANCE,
    measure_flow,
    short_runs,
    summarise,
    uncovered_use,
)
from riskengine.io.cells import parse_decimal
from riskengine.io.columns import resolve_columns

INVENTORY_ALIASES: dict[str, tuple[str, ...]] = {
    "material": ("material", "material_name", "material_description", "component", "item"),
    "days_of_cover": ("days_of_cover", "cover_days", "days_cover"),
    "stock": ("stock", "on_hand", "stock_on_hand"),
    "daily_use": ("daily_use", "daily_consumption", "use_per_day"),
    "lead_time_days": ("lead_time_days", "lead_time", "qualification_days"),
}
PLAN_ALIASES: dict[str, tuple[str, ...]] = {
    "product": ("product", "parent", "material"),
    "units_per_day": ("units_per_day", "daily_units", "output_per_day"),
    "unit_value": ("unit_value", "value_per_unit", "price", "unit_price"),
}
#: Statuses of a product under a scenario (BOM refusals keep the BOM's status).
#: The first short day of an input that is never short (sorts after every real day).
NEVER_SHORT = np.iinfo(np.int64).max
STRESS_SHORT = "short"
STRESS_COVERED = "covered"
STRESS_UNAFFECTED = "unaffected"
PERIOD_SEPARATOR = "; "
STRESS_SCHEMA = pl.Schema(
    {
        "scenario": pl.String(),
        "product": pl.String(),
        "status": pl.String(),
        "binding_material": pl.String(),
        "binding_material_id": pl.String(),
        "binding_supplier": pl.String(),
        "binding_supplier_country_iso3": pl.String(),
        "first_short_date": pl.Date(),
        "last_short_date": pl.Date(),
        "short_periods": pl.String(),
        "days_short": pl.Int64(),
        "days_lost": pl.Float64(),
        "units_at_risk": pl.Float64(),
        "value_at_risk": pl.Float64(),
        "still_flowing": pl.String(),
        "reason": pl.String(),
        "scenario_start": pl.Date(),
        "scenario_end": pl.Date(),
    }
)


@dataclass(frozen=True)
class Inventory:
    """Days of cover and qualification lead time per material id."""

    days_of_cover: Mapping[str, float]
    lead_time_days: Mapping[str, float]


@dataclass(frozen=True)
class Plan:
    """Units per day and value per unit per product."""

    units_per_day: Mapping[str, float]
    unit_value: Mapping[str, float]


def _numbers(
    frame: pl.DataFrame, columns: Mapping[str, str], name: str, source: str
) -> list[float | None]:
    if name not in columns:
        return [None] * frame.height
    values, errors = parse_decimal(frame[columns[name]], column=columns[name], source=source)
    for row, error in enumerate(errors.to_list(), start=1):
        if error is not None:
            # The parser's message names the file already; the row goes right after it.
            raise UserInputError(f"{source} row {row}: {error.removeprefix(f'{source}: ')}")
    for row, value in enumerate(values.to_list(), start=1):
        if value is not None and value < 0:
            raise UserInputError(f"{source} row {row}: {columns[name]} {value:g} is negative")
    return values.to_list()


def read_inventory(
    frame: pl.DataFrame, *, source: str, leaf_materials: Mapping[str, str]
) -> Inventory:
    """The inventory: ``material`` and ``days_of_cover`` (or ``stock`` and ``daily_use``), an
    optional ``lead_time_days``. A material is named as in the BOM (a leaf's text or part
    number) or by any catalog name; rows count from 1.

    Raises
    ------
    UserInputError
        A missing column, an unknown material (closest names given), a number that does not
        read, a material given twice, or a row with neither cover nor stock and use.
    """
    columns = resolve_columns(
        frame.columns,
        source=source,
        aliases=INVENTORY_ALIASES,
        required=("material",),
        fallbacks={},
    )
    if "days_of_cover" not in columns and not {"stock", "daily_use"} <= set(columns):
        raise UserInputError(
            f"{source}: missing column days_of_cover (or both stock and daily_use)"
        )
    cover = _numbers(frame, columns, "days_of_cover", source)
    stock = _numbers(frame, columns, "stock", source)
    use = _numbers(frame, columns, "daily_use", source)
    lead = _numbers(frame, columns, "lead_time_days", source)
    catalog = load_catalog()
    days_of_cover: dict[str, float] = {}
    lead_time: dict[str, float] = {}
    first_row: dict[str, int] = {}
    for row, text in enumerate(frame[columns["material"]].cast(pl.String).to_list(), start=1):
        where = f"{source} row {row}"
        name = (text or "").strip()
        if not name:
            raise UserInputError(f"{where}: {columns['material']} is empty")
        material_id = leaf_materials.get(name)
        if material_id is None:
            try:
                material_id = catalog.resolve_material(name).material_id
            except UserInputError as error:
                raise UserInputError(f"{where}: {error}") from None
        if material_id in first_row:
            raise UserInputError(
                f"{where}: {display_name(material_id)} is also on row {first_row[material_id]}"
            )
        first_row[material_id] = row
        index = row - 1
        if cover[index] is not None:
            days_of_cover[material_id] = float(cover[index])  # type: ignore[arg-type]
        elif stock[index] is not None and use[index]:
            days_of_cover[material_id] = float(stock[index]) / float(use[index])  # type: ignore[arg-type]
        else:
            raise UserInputError(f"{where}: no days_of_cover, nor stock and a daily_use above 0")
        if lead[index] is not None:
            lead_time[material_id] = float(lead[index])  # type: ignore[arg-type]
    return Inventory(days_of_cover, lead_time)


def read_plan(frame: pl.DataFrame, *, source: str) -> Plan:
    """The production plan: ``product``, ``units_per_day`` and an optional ``unit_value``.

    Raises
    ------
    UserInputError
        A missing column, a number that does not read, or a product given twice.
    """
    columns = resolve_columns(
        frame.columns,
        source=source,
        aliases=PLAN_ALIASES,
        required=("product", "units_per_day"),
        fallbacks={},
    )
    units = _numbers(frame, columns, "units_per_day", source)
    values = _numbers(frame, columns, "unit_value", source)
    units_per_day: dict[str, float] = {}
    unit_value: dict[str, float] = {}
    for row, product in enumerate(frame[columns["product"]].cast(pl.String).to_list(), start=1):
        name = (product or "").strip()
        if name in units_per_day:
            raise UserInputError(f"{source} row {row}: product {name!r} is given twice")
        if units[row - 1] is not None:
            units_per_day[name] = float(units[row - 1])  # type: ignore[arg-type]
        if values[row - 1] is not None:
            unit_value[name] = float(values[row - 1])  # type: ignore[arg-type]
    return Plan(units_per_day, unit_value)


def measure_materials(scenario: Scenario) -> dict[int, frozenset[str]]:
    """The catalog materials each measure covers (by number), through the commodity tree and
    stages exactly as the features read the injected events."""
    rows = [
        {
            "event_id": str(measure.number),
            "materials": entry.tag,
            "stages": ";".join(entry.stages) or None,
        }
        for measure in scenario.measures
        for entry in measure.coverage
    ]
    events = pl.LazyFrame(
        rows, schema={"event_id": pl.String, "materials": pl.String, "stages": pl.String}
    )
    covered = event_material_coverage(events).collect()
    found: dict[int, set[str]] = {measure.number: set() for measure in scenario.measures}
    for number, material_id in covered.iter_rows():
        found[int(number)].add(material_id)
    return {number: frozenset(materials) for number, materials in found.items()}


def _applies(
    measure: Measure, covered: frozenset[str], flow: tuple[str, str, str | None], military: bool
) -> bool:
    material_id, supplier_country, buyer_country = flow
    return (
        supplier_country == measure.country_iso3
        and material_id in covered
        and (not measure.targets or buyer_country in measure.targets)
        and (measure.end_use is None or military)
    )


def flow_supply(
    scenario: Scenario, flows: list[tuple[str, str, str | None]], *, military: bool
) -> np.ndarray:
    """Per flow (material id, supplier country, buyer country) and day from the scenario's
    start, the share of its normal supply that arrives: the strictest measure in force wins."""
    horizon = (scenario.end - scenario.start).days
    covered = measure_materials(scenario)
    supply = np.ones((len(flows), horizon))
    for measure in scenario.measures:
        hit = [
            index
            for index, flow in enumerate(flows)
            if _applies(measure, covered[measure.number], flow, military)
        ]
        if not hit:
            continue
        passing = measure_flow(
            measure.kind,
            offset=(measure.start - scenario.start).days,
            days=measure.days,
            horizon=horizon,
            share=measure.share,
            approval_rate=measure.approval_rate,
            delay_days=measure.delay_days,
        )
        supply[hit] = np.minimum(supply[hit], passing)
    return supply


def format_periods(start: date, runs: list[tuple[int, int]]) -> str:
    """Runs of short days as ISO 8601 intervals of dates, both ends included, ``; ``-separated
    ("2027-01-30/2027-02-28"), so that a reader (the report's timeline) marks exactly those
    days."""
    return PERIOD_SEPARATOR.join(
        f"{start + timedelta(days=first)}/{start + timedelta(days=last)}" for first, last in runs
    )


def _percent(value: float) -> str:
    return f"{value:.0%}"


def stress_products(
    lines: pl.DataFrame,
    products: pl.DataFrame,
    scenario: Scenario,
    inventory: Inventory,
    plan: Plan | None = None,
    *,
    military: bool = False,
) -> pl.DataFrame:
    """One row per product of ``products`` (a :func:`riskengine.bom.score_bom` product table)
    under ``scenario``, from the BOM's exploded ``lines``; columns :data:`STRESS_SCHEMA`.

    An input is one material of a product; its supply each day is its suppliers' shares
    (weighted by quantity over its paths) times what each supplier's flow still lets through.
    The product is short on a day any input is short; the share of the day's units lost is the
    largest uncovered share among its inputs.
    """
    scored = lines.filter((pl.col("status") == LINE_SCORED) & (pl.col("share") > 0))
    weighted = (
        scored.with_columns((pl.col("quantity_per_product_unit") * pl.col("share")).alias("weight"))
        .group_by(
            "product",
            "material_id",
            "supplier",
            "supplier_country_iso3",
            "buyer_country_iso3",
            maintain_order=True,
        )
        .agg(pl.col("weight").sum())
        .with_columns(
            (pl.col("weight") / pl.col("weight").sum().over("product", "material_id")).alias(
                "weight"
            )
        )
        .filter(pl.col("weight").is_finite())
    )
    flows = weighted.select("material_id", "supplier_country_iso3", "buyer_country_iso3").unique(
        maintain_order=True
    )
    flow_keys = [tuple(row) for row in flows.iter_rows()]
    supply_by_flow = flow_supply(scenario, flow_keys, military=military)
    horizon = supply_by_flow.shape[1]
    flow_index = {key: index for index, key in enumerate(flow_keys)}
    weighted = weighted.with_columns(
        pl.Series(
            "flow",
            [
                flow_index[key]
                for key in weighted.select(
                    "material_id", "supplier_country_iso3", "buyer_country_iso3"
                ).iter_rows()
            ],
            dtype=pl.Int64,
        )
    )
    inputs = (
        weighted.select("product", "material_id")
        .unique(maintain_order=True)
        .with_row_index("input")
    )
    weighted = weighted.join(inputs, on=["product", "material_id"], maintain_order="left")
    input_rows = weighted["input"].to_numpy()
    flow_rows = weighted["flow"].to_numpy()
    weights = weighted["weight"].to_numpy()
    # Only inputs drawing on a flow a measure reaches can run short; the others keep full
    # supply, so the daily arrays are built for those alone. An input's supply is its
    # suppliers' weights times their flows' supply: a sparse product (few flows per input).
    lowest_flow = supply_by_flow.min(axis=1) if horizon else np.ones(len(flow_keys))
    reached = (lowest_flow[flow_rows] < 1.0 - SHORT_TOLERANCE) & (weights > 0)
    hit = np.unique(input_rows[reached])
    shares = csr_matrix((weights, (input_rows, flow_rows)), shape=(inputs.height, len(flow_keys)))
    supply = np.asarray(shares[hit] @ supply_by_flow).reshape(hit.size, horizon)
    material_ids = inputs["material_id"].to_list()
    cover = np.array([inventory.days_of_cover.get(material_ids[row], 0.0) for row in hit])
    lead = np.array([inventory.lead_time_days.get(material_ids[row], np.inf) for row in hit])
    lost = uncovered_use(cover, supply, lead)
    short = lost > 0.0
    suppliers_of: dict[int, list[tuple[str, str, float, int]]] = {}
    for input_row, supplier, country, weight, flow in weighted.select(
        "input", "supplier", "supplier_country_iso3", "weight", "flow"
    ).iter_rows():
        suppliers_of.setdefault(input_row, []).append((supplier, country, weight, flow))
    reach = _Reach(
        material_ids=material_ids,
        position={int(row): index for index, row in enumerate(hit)},
        lost=lost,
        first_short=np.where(short.any(axis=1), short.argmax(axis=1), NEVER_SHORT),
        minimum_supply=supply.min(axis=1) if horizon else np.ones(hit.size),
        lowest_flow=lowest_flow,
        supply_by_flow=supply_by_flow,
        suppliers_of=suppliers_of,
    )
    by_product: dict[str, list[int]] = {}
    for index, product in enumerate(inputs["product"].to_list()):
        by_product.setdefault(product, []).append(index)

    rows = []
    for product, status, reason in products.select("product", "status", "reason").iter_rows():
        row = _product_row(
            product,
            status,
            reason,
            by_product.get(product, []),
            reach,
            inventory=inventory,
            plan=plan,
            start=scenario.start,
        )
        rows.append(
            {
                "scenario": scenario.name,
                **row,
                "scenario_start": scenario.start,
                "scenario_end": scenario.end,
            }
        )
    return (
        pl.DataFrame(rows, schema=STRESS_SCHEMA, orient="row")
        if rows
        else pl.DataFrame(schema=STRESS_SCHEMA)
    )


@dataclass(frozen=True)
class _Reach:
    """What the measures do to the inputs they reach (``position``: input row to its row in
    the daily arrays ``lost``, ``first_short`` and ``minimum_supply``), and each input's
    suppliers as (supplier, country, weight, flow)."""

    material_ids: list[str]
    position: Mapping[int, int]
    lost: np.ndarray
    first_short: np.ndarray
    minimum_supply: np.ndarray
    lowest_flow: np.ndarray
    supply_by_flow: np.ndarray
    suppliers_of: Mapping[int, list[tuple[str, str, float, int]]]


def _product_row(
    product: str,
    status: str,
    bom_reason: str | None,
    input_rows: list[int],
    reach: _Reach,
    *,
    inventory: Inventory,
    plan: Plan | None,
    start: date,
) -> dict[str, object]:
    empty: dict[str, object] = dict.fromkeys(STRESS_SCHEMA.names()[1:-2])
    if not input_rows or status in (PRODUCT_REFUSED, PRODUCT_UNSCORED):
        return {
            **empty,
            "product": product,
            "status": status,
            "reason": bom_reason or "no scored input",
        }
    reasons = [bom_reason] if bom_reason else []
    material_ids, position = reach.material_ids, reach.position
    hit = [row for row in input_rows if row in position]
    uncovered = sorted(
        {material_ids[row] for row in hit if material_ids[row] not in inventory.days_of_cover}
    )
    if uncovered:
        reasons.append(
            "no inventory row for "
            + ", ".join(display_name(m) for m in uncovered)
            + ": no cover assumed"
        )
    horizon = reach.lost.shape[1]
    rows_hit = [position[row] for row in hit]
    product_lost = reach.lost[rows_hit].max(axis=0) if rows_hit else np.zeros(horizon)
    shortage = summarise(product_lost)
    flowing = []
    for row in hit:
        countries: dict[str, float] = {}
        for _, country, weight, flow in reach.suppliers_of.get(row, []):
            flowing_share = reach.lowest_flow[flow]
            if flowing_share > SHORT_TOLERANCE:
                countries[country] = countries.get(country, 0.0) + weight * flowing_share
        still = ", ".join(
            f"{country_name(c)} {_percent(share)}"
            for c, share in sorted(countries.items(), key=lambda item: -item[1])
        )
        flowing.append(
            f"{display_name(material_ids[row])}: "
            f"{_percent(reach.minimum_supply[position[row]])} flows"
            + (f" ({still})" if still else "")
        )
    if len(input_rows) > len(hit):
        flowing.append(f"{len(input_rows) - len(hit)} other input(s) unaffected")
    result: dict[str, object] = {
        **empty,
        "product": product,
        "days_short": shortage.days_short,
        "days_lost": shortage.days_lost,
        "still_flowing": "; ".join(flowing),
    }
    if not hit:
        result["status"] = STRESS_UNAFFECTED
    elif shortage.first_short_day is None:
        result["status"] = STRESS_COVERED
    else:
        first = shortage.first_short_day
        # The binding input is the first to run short; the larger loss that day breaks ties.
        binding = min(
            hit,
            key=lambda row: (
                reach.first_short[position[row]],
                -reach.lost[position[row], first],
                material_ids[row],
            ),
        )
        result["status"] = STRESS_SHORT
        result["binding_material"] = display_name(material_ids[binding])
        result["binding_material_id"] = material_ids[binding]
        cut = [
            entry
            for entry in reach.suppliers_of.get(binding, [])
            if reach.supply_by_flow[entry[3], first] < 1.0 - SHORT_TOLERANCE
        ]
        if cut:
            supplier, country, _, _ = max(cut, key=lambda entry: (entry[2], entry[0]))
            result["binding_supplier"] = supplier
            result["binding_supplier_country_iso3"] = country
        runs = short_runs(product_lost)
        result["first_short_date"] = start + timedelta(days=first)
        result["last_short_date"] = start + timedelta(days=runs[-1][1])
        result["short_periods"] = format_periods(start, runs)
    if plan is not None and product in plan.units_per_day:
        units = plan.units_per_day[product] * shortage.days_lost
        result["units_at_risk"] = units
        if product in plan.unit_value:
            result["value_at_risk"] = units * plan.unit_value[product]
    elif plan is not None:
        reasons.append("not in the production plan: no units at risk")
    result["reason"] = "; ".join(reasons) or None
    return result
