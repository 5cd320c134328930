"""The impact commands: ``stress`` (what a scenario of export measures does to each product),
``alternatives`` (which re-sourcing helps most) and ``diff`` (what changed between two runs
and why)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskengine.cli.apps import app
from riskengine.cli.options import (
    BuyerCountryOption,
    BuyerOption,
    FormatOption,
    MappingOption,
    ModelOption,
    OutputOption,
    Reading,
    ReferenceDirOption,
    SupplierSitesOption,
    reads_input,
    written_to,
)
from riskengine.cli.runtime import run_command, say
from riskengine.config import load_settings


@app.command()
@reads_input
def stress(
    bom_path: Annotated[str, typer.Argument(metavar="BOM", help="Bill of materials.")],
    sourcing: Annotated[str, typer.Option("--sourcing", help="Sourcing list to score.")],
    inventory: Annotated[
        str,
        typer.Option(
            "--inventory",
            help="material, days_of_cover (or stock and daily_use), optional lead_time_days.",
        ),
    ],
    scenario: Annotated[
        list[str],
        typer.Option(
            "--scenario",
            help="Scenario TOML file or shipped scenario name (repeatable).",
            show_default=False,
        ),
    ],
    output: OutputOption,
    pairs: Annotated[
        str | None, typer.Option("--pairs", help="Also write the pairs before and after here.")
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option("--plan", help="Production plan: product, units_per_day, unit_value."),
    ] = None,
    buyer_country: BuyerCountryOption = None,
    buyer: BuyerOption = None,
    target_country: Annotated[
        str | None,
        typer.Option("--target-country", help="Aim every measure at this country instead."),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--start", help="Move each scenario to start on this date (YYYY-MM-DD)."),
    ] = None,
    military_end_use: Annotated[
        bool,
        typer.Option(
            "--military-end-use", help="The products go to military end users (such measures hit)."
        ),
    ] = False,
    model: ModelOption = "champion",
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    supplier_sites: SupplierSitesOption = None,
    *,
    reading: Reading,
) -> None:
    """Which products stop under a scenario of export measures, from which day, for how long.

    Example: riskengine stress bom.csv --sourcing sourcing.csv --inventory inventory.csv
    --scenario heavy_rare_earths_japan_90d -o stress.csv
    """

    def body() -> None:
        from riskengine.app.requests import InputFile, OutputFile, StressRequest
        from riskengine.app.stress import stress_file

        request = StressRequest(
            bom=reading.input_file(bom_path),
            sourcing=reading.input_file(sourcing, mapping, supplier_sites),
            # The team's own small tables, read as detected.
            inventory=InputFile(inventory),
            plan=InputFile(plan) if plan is not None else None,
            scenarios=tuple(scenario),
            output=OutputFile(output, output_format),
            pairs_path=pairs,
            buyer_country=buyer_country,
            buyer_name=buyer,
            target_country=target_country,
            start=start,
            military_end_use=military_end_use,
            model_alias=model,
        )
        outcome = stress_file(load_settings(reference_dir=reference_dir), request)
        for line in outcome.summary_lines():
            say(line)
        for problem in outcome.problems:
            say(f"  {problem.kind}: {problem.message}")
        for note in outcome.notes:
            say(f"note: {note}")
        say(f"model version {outcome.model_version}" + written_to(output))

    run_command(lambda: reading.run(body))


@app.command("diff")
@reads_input
def diff(
    old_scores: Annotated[
        str, typer.Argument(metavar="OLD_SCORES", help="The earlier output of riskengine score.")
    ],
    new_scores: Annotated[
        str, typer.Argument(metavar="NEW_SCORES", help="The later output of riskengine score.")
    ],
    output: OutputOption,
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold",
            min=0.0,
            max=1.0,
            help="List a pair whose band stays when its risk_score moves by more than this.",
        ),
    ] = 0.05,
    buyer: BuyerOption = None,
    old_reference_dir: Annotated[
        Path | None,
        typer.Option(
            "--old-reference-dir",
            help="Reference data OLD_SCORES was scored with, when not the current one.",
            show_default=False,
        ),
    ] = None,
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
    *,
    reading: Reading,
) -> None:
    """List the pairs whose band changed or whose score moved, with each change's causes.

    Causes: policy events announced, in force or ended between the two as-of dates, new
    listings, production editions, input changes, the mapping, reference data or model version.

    Example: riskengine diff scores_2025-03-01.csv scores_2025-06-01.csv -o changes.csv
    """

    def body() -> None:
        from riskengine.app.diff import diff_files

        outcome = diff_files(
            load_settings(reference_dir=reference_dir),
            old_path=old_scores,
            new_path=new_scores,
            output_path=output,
            threshold=threshold,
            buyer_name=buyer,
            old_reference_dir=old_reference_dir,
            read_options=reading.read_options(),
            output_format=output_format,
        )
        for note in outcome.diff.notes:
            say(f"note: {note}")
        say(outcome.summary + written_to(output))
        for line in outcome.change_lines():
            say(line)

    run_command(lambda: reading.run(body))


@app.command()
def alternatives(
    scores: Annotated[str, typer.Argument(metavar="SCORES", help="Output of riskengine score.")],
    output: OutputOption,
    bom: Annotated[
        str | None,
        typer.Option(
            "--bom", help="Bill of materials (as for score-bom): adds each product's change."
        ),
    ] = None,
    move: Annotated[
        float | None,
        typer.Option(
            "--move",
            help="Fraction of a pair's volume moved to the candidate, above 0 up to 1 "
            "[default: 0.3].",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option("--exclude", help="Countries never proposed, comma-separated: CN,RU."),
    ] = None,
    min_share: Annotated[
        float | None,
        typer.Option(
            "--min-share",
            help="Smallest share of world production a candidate needs, 0 to 1 [default: 0.01].",
            show_default=False,
        ),
    ] = None,
    existing_only: Annotated[
        bool,
        typer.Option(
            "--existing-only", help="Only countries where the file already has a supplier."
        ),
    ] = False,
    buyer: BuyerOption = None,
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Other producing countries for each high or critical pair, scored for this buyer, and
    what moving part of the volume there does to the material and to each product.

    Example: riskengine alternatives scores.csv --bom bom.csv -o alternatives.csv --exclude CN
    """

    def body() -> None:
        from riskengine.app.alternatives import alternatives_file

        outcome = alternatives_file(
            load_settings(reference_dir=reference_dir),
            scores_path=scores,
            output_path=output,
            bom_path=bom,
            move=move,
            min_share=min_share,
            exclude=exclude,
            existing_only=existing_only,
            buyer_name=buyer,
            output_format=output_format,
        )
        for line in outcome.summary:
            say(line)
        if output != "-":
            say(f"alternatives -> {output}")

    run_command(body)
