"""The stress job: ``riskengine stress``: what a scenario of export measures does to each
product (first short day, days short, units and value at risk) and to the pair scores.

Reads the BOM, the sourcing list, the inventory, the optional production plan and the
scenarios; scores the pairs as of each scenario's start without and with its measures (as
dated events in memory), explodes the BOM over both, and writes one row per scenario and
product (and, with ``pairs_path``, the pairs before and after) all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from riskengine.app.requests import StressRequest
from riskengine.app.scoring import load_mapping_option, prepare_input
from riskengine.bom.results import BomProblem
from riskengine.catalog import normalise_country
from riskengine.config import Settings
from riskengine.errors import UserInputError
from riskengine.impact.scenario import (
    Scenario,
    library_text,
    moved,
    parse_scenario,
    retargeted,
    scenario_reference,
)
from riskengine.impact.stress import STRESS_SHORT, read_inventory, read_plan, stress_products
from riskengine.io import check_outputs, read_text, write_tables
from riskengine.reference.loader import load_reference
from riskengine.scoring import check_as_of
from riskengine.sourcing import PreparedPairs

#: How many products the console summary names per scenario.
FIRST_PRODUCTS_SHOWN = 5


@dataclass(frozen=True)
class StressOutcome:
    """What ``riskengine stress`` produced: products per scenario, the pairs before and
    after, the BOM's problems and notes."""

    products: pl.DataFrame
    pairs: pl.DataFrame
    scenarios: tuple[Scenario, ...]
    problems: tuple[BomProblem, ...]
    model_version: str
    notes: tuple[str, ...] = ()

    def summary_lines(self) -> list[str]:
        """Per scenario: its measures, how many products run short, and the first to stop."""
        lines = []
        for scenario in self.scenarios:
            rows = self.products.filter(pl.col("scenario") == scenario.name)
            short = rows.filter(pl.col("status") == STRESS_SHORT).sort(
                "first_short_date", "days_short", "product", descending=[False, True, False]
            )
            lines.append(
                f"scenario {scenario.name} ({scenario.title}): {scenario.start} to "
                f"{scenario.end}; {short.height} of {rows.height} products run short"
            )
            lines.extend(
                f"  measure {measure.number}: {measure.words()}" for measure in scenario.measures
            )
            if short.height:
                lines.append("  first products to stop:")
            for row in short.head(FIRST_PRODUCTS_SHOWN).iter_rows(named=True):
                supplier = f" from {row['binding_supplier']}" if row["binding_supplier"] else ""
                units = (
                    f", {row['units_at_risk']:,.0f} units at risk"
                    if row["units_at_risk"] is not None
                    else ""
                )
                lines.append(
                    f"    {row['product']}: short from {row['first_short_date']} for "
                    f"{row['days_short']} days ({row['binding_material']}{supplier}){units}"
                )
        return lines


def load_scenario(spec: str) -> Scenario:
    """A scenario from a TOML file, or from the shipped library by name.

    Raises
    ------
    UserInputError
        An unreadable or invalid file, or a name neither a file nor a shipped scenario.
    """
    if Path(spec).is_file() or spec.endswith(".toml"):
        text, _ = read_text(spec)
        return parse_scenario(text, origin=spec, name=Path(spec).stem)
    return parse_scenario(library_text(spec), origin=f"scenario library: {spec}", name=spec)


def _start_option(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserInputError(f"--start {text!r} is not a date in YYYY-MM-DD form") from None


def stress_file(settings: Settings, request: StressRequest) -> StressOutcome:
    """Run each scenario on the BOM and write one row per scenario and product (README,
    "Stress scenarios"); with ``pairs_path`` also the pairs scored before and after.

    ``target_country`` aims every measure at that country; ``start`` moves each scenario so
    its first measure starts that day; ``military_end_use`` says the products go to military
    end users, so measures on such users stop their flows. Nothing is written on error.
    """
    from riskengine.bom import score_bom
    from riskengine.models.loading import load_model
    from riskengine.prediction import score_pairs

    scenarios = request.scenarios
    output_path, pairs_path = request.output.path, request.pairs_path
    if not scenarios:
        raise UserInputError("--scenario is required (a shipped scenario name or a TOML file)")
    output_paths = [output_path] if pairs_path is None else [output_path, pairs_path]
    check_outputs(output_paths)
    chosen = [load_scenario(spec) for spec in scenarios]
    if request.target_country is not None:
        target = normalise_country(request.target_country)
        chosen = [retargeted(scenario, target) for scenario in chosen]
    new_start = _start_option(request.start)
    if new_start is not None:
        chosen = [moved(scenario, new_start) for scenario in chosen]
    names = [scenario.name for scenario in chosen]
    if len(set(names)) < len(names):
        raise UserInputError(f"--scenario names one scenario twice: {', '.join(names)}")
    notes: list[str] = []
    for scenario in chosen:
        notes.extend(check_as_of(scenario.start))
    mapping = load_mapping_option(request.sourcing.mapping_path)
    bom = request.bom.read_options.read(request.bom.path)
    inventory_frame = request.inventory.read_options.read(request.inventory.path)
    plan = (
        read_plan(request.plan.read_options.read(request.plan.path), source=request.plan.label)
        if request.plan is not None
        else None
    )
    reference = load_reference(settings.reference_dir)
    model = load_model(settings, request.model_alias)

    prepared_by_start: dict[date, list[PreparedPairs]] = {}
    product_tables: list[pl.DataFrame] = []
    pair_tables: list[pl.DataFrame] = []
    problems: list[BomProblem] = []
    inventory = None
    for scenario in chosen:
        if scenario.start not in prepared_by_start:
            context, chunks, _ = prepare_input(request.scoring(scenario.start), mapping=mapping)
            prepared_by_start[scenario.start] = list(chunks)
            notes.extend(note for note in context.notes if note not in notes)
        scored = {}
        for applied in (False, True):
            scenario_data = scenario_reference(reference, scenario, applied=applied)
            scored[applied] = pl.concat(
                score_pairs(prepared, scenario_data, model, as_of=scenario.start)
                for prepared in prepared_by_start[scenario.start]
            )
        # One roll-up, under the scenario: a second for the scores before would double the
        # BOM work; the pairs carry both.
        after = score_bom(bom, scored[True], source=request.bom.label, mapping=mapping)
        if inventory is None:
            leaves = after.lines.select("material", "material_id").drop_nulls().unique()
            inventory = read_inventory(
                inventory_frame,
                source=request.inventory.label,
                leaf_materials=dict(leaves.iter_rows()),
            )
            problems.extend(after.problems)
        products = stress_products(
            after.lines,
            after.products,
            scenario,
            inventory,
            plan,
            military=request.military_end_use,
        )
        product_tables.append(
            products.with_columns(
                after.products["risk_score"].alias("risk_score"),
                pl.lit(model.version).alias("model_version"),
            ).select(*products.columns[:-3], "risk_score", *products.columns[-3:], "model_version")
        )
        pair_tables.append(
            scored[True]
            .with_columns(
                scored[False]["risk_score"].alias("risk_score_before"),
                scored[False]["risk_band"].alias("risk_band_before"),
                scored[False]["restriction_state"].alias("restriction_state_before"),
            )
            .select(pl.lit(scenario.name).alias("scenario"), pl.all())
        )
    products_table = pl.concat(product_tables)
    pairs_table = pl.concat(pair_tables)
    outputs: list[tuple[pl.DataFrame, str, str | None]] = [
        (products_table, output_path, request.output.format)
    ]
    if pairs_path is not None:
        outputs.append((pairs_table, pairs_path, None))
    write_tables(outputs)
    return StressOutcome(
        products=products_table,
        pairs=pairs_table,
        scenarios=tuple(chosen),
        problems=tuple(problems),
        model_version=model.version,
        notes=tuple(notes),
    )
