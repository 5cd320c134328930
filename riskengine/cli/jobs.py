"""The commands that read a user's file and write a result: ``score``, ``score-bom``,
``features``, ``map`` and ``report``."""

from __future__ import annotations

from contextlib import closing, nullcontext
from enum import StrEnum
from typing import Annotated

import typer

from riskengine.cli.apps import app
from riskengine.cli.options import (
    AsOfOption,
    BuyerCountryOption,
    BuyerOption,
    ExcelOption,
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
from riskengine.errors import UserInputError


class Engine(StrEnum):
    """Where ``score`` scores: in this process, or in Spark's local mode."""

    LOCAL = "local"
    SPARK = "spark"


@app.command()
@reads_input
def score(
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="Sourcing list (.csv, .parquet, .json) or -.")
    ],
    output: OutputOption,
    as_of: AsOfOption,
    buyer_country: BuyerCountryOption = None,
    buyer: BuyerOption = None,
    model: ModelOption = "champion",
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    supplier_sites: SupplierSitesOption = None,
    excel: ExcelOption = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="spark: score in Spark's local mode through the registered model (needs "
            "pip install 'riskengine[spark]'); the output is the same.",
        ),
    ] = Engine.LOCAL,
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            min=1,
            help="With --engine spark: partitions and cores (default: the cores available).",
        ),
    ] = None,
    *,
    reading: Reading,
) -> None:
    """Score every material-supplier pair of a sourcing list.

    Example: riskengine score sourcing.csv -o scores.csv --as-of 2026-03-01 --buyer-country JP
    """
    if partitions is not None and engine != Engine.SPARK:
        raise typer.BadParameter("--partitions applies to --engine spark only")

    def body() -> None:
        from riskengine.app.requests import OutputFile, ScoringRequest, parse_as_of

        request = ScoringRequest(
            input=reading.input_file(input_path, mapping, supplier_sites),
            output=OutputFile(output, output_format, excel),
            as_of=parse_as_of(as_of),
            buyer_country=buyer_country,
            buyer_name=buyer,
            model_alias=model,
        )
        # The input is read while the scoring modules are imported: the reading runs in
        # polars, outside the interpreter lock the imports hold.
        table = request.input.start_reading() if engine == Engine.LOCAL else None
        # The job takes the table; closing it once taken does nothing. Closed here if an
        # import, the settings or the progress display fail before the job does.
        with closing(table) if table is not None else nullcontext():
            from riskengine.app.scoring import nothing_scored_summary, score_file
            from riskengine.render import print_top_risks, run_progress

            settings = load_settings(reference_dir=reference_dir)
            with run_progress() as (on_stage, on_progress):
                if engine == Engine.SPARK:
                    from riskengine.app.spark import score_file_with_spark

                    outcome = score_file_with_spark(
                        settings,
                        request,
                        partitions=partitions,
                        on_stage=on_stage,
                    )
                else:
                    outcome = score_file(
                        settings,
                        request,
                        on_stage=on_stage,
                        on_progress=on_progress,
                        table=table,
                    )
        for note in outcome.notes:
            say(f"note: {note}")
        mapping_text = f", mapping {outcome.mapping_sha256[:16]}" if outcome.mapping_sha256 else ""
        say(
            f"{outcome.rows} rows: {outcome.scored} scored, "
            + (f"{outcome.blocked} blocked source(s), " if outcome.blocked else "")
            + f"{outcome.rejected} rejected; "
            f"model version {outcome.model_version}, reference {outcome.reference_fingerprint}"
            f"{mapping_text}, as of {as_of}" + written_to(output)
        )
        if outcome.scored == 0:
            for line in nothing_scored_summary(outcome.rows, outcome.reasons):
                say(line)
        print_top_risks(outcome.top)

    run_command(lambda: reading.run(body))


@app.command("score-bom")
@reads_input
def score_bom(
    bom_path: Annotated[
        str,
        typer.Argument(
            metavar="BOM",
            help="Bill of materials: parent, component, quantity (SAP names accepted).",
        ),
    ],
    sourcing: Annotated[str, typer.Option("--sourcing", help="Sourcing list to score.")],
    output: OutputOption,
    as_of: AsOfOption,
    buyer_country: BuyerCountryOption = None,
    buyer: BuyerOption = None,
    lines: Annotated[
        str | None, typer.Option("--lines", help="Also write the exploded lines here.")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Shares that do not sum to 1 are an error.")
    ] = False,
    product: Annotated[
        str | None,
        typer.Option(
            "--product",
            help="Top material of an indented BOM that starts at level 1 (a CS12 export "
            "without its 'Material …' header line).",
        ),
    ] = None,
    model: ModelOption = "champion",
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    supplier_sites: SupplierSitesOption = None,
    excel: ExcelOption = False,
    *,
    reading: Reading,
) -> None:
    """Risk per top-level product of a multi-level BOM, with the pairs that drive it.

    Example: riskengine score-bom bom.csv --sourcing sourcing.csv -o products.csv --as-of 2026-03-01
    """

    def body() -> None:
        from riskengine.app.bom import BOM_STAGES, score_bom_file
        from riskengine.app.requests import (
            BomRequest,
            OutputFile,
            ScoringRequest,
            parse_as_of,
        )
        from riskengine.render import stage_status

        request = BomRequest(
            bom=reading.input_file(bom_path),
            scoring=ScoringRequest(
                input=reading.input_file(sourcing, mapping, supplier_sites),
                output=OutputFile(output, output_format, excel),
                as_of=parse_as_of(as_of),
                buyer_country=buyer_country,
                buyer_name=buyer,
                model_alias=model,
            ),
            lines_path=lines,
            strict=strict,
            product=product,
        )
        with stage_status(stages=BOM_STAGES) as on_stage:
            outcome = score_bom_file(
                load_settings(reference_dir=reference_dir), request, on_stage=on_stage
            )
        say(outcome.summary + written_to(output))
        for problem in outcome.problems:
            say(f"  {problem.kind}: {problem.message}")
        for note in outcome.notes:
            say(f"note: {note}")

    run_command(lambda: reading.run(body))


@app.command()
def report(
    scores: Annotated[str, typer.Argument(metavar="SCORES", help="Output of riskengine score.")],
    output: Annotated[str, typer.Option("--output", "-o", help="HTML file to write.")],
    bom: Annotated[
        str | None, typer.Option("--bom", help="Output of riskengine score-bom.")
    ] = None,
    stress: Annotated[
        str | None,
        typer.Option("--stress", help="Output of riskengine stress: the scenario timeline."),
    ] = None,
    alternatives: Annotated[
        str | None,
        typer.Option("--alternatives", help="Output of riskengine alternatives: their table."),
    ] = None,
    changes: Annotated[
        str | None,
        typer.Option("--changes", help="Output of riskengine diff: what changed and why."),
    ] = None,
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Write one self-contained HTML report that works offline.

    Heatmap of material x supplier country, top pairs with drivers, product exposure, the top
    pairs over the last 8 quarters, the scenario timeline (--stress), the alternatives
    (--alternatives), the changes since the previous run (--changes), and the model card. To
    check it in a browser, run ``python -m tools.report_check REPORT --screenshot PNG`` from the
    repository (make report-check).
    """

    def body() -> None:
        from riskengine.app.report import report_file
        from riskengine.app.requests import ReportRequest

        path = report_file(
            load_settings(reference_dir=reference_dir),
            ReportRequest(
                scores_path=scores,
                output_path=output,
                bom_scores_path=bom,
                stress_path=stress,
                alternatives_path=alternatives,
                changes_path=changes,
            ),
        )
        say(f"report -> {path}")

    run_command(body)


@app.command()
@reads_input
def features(
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="Sourcing list or -; or `list` for the catalog.")
    ],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Output file (.csv, .parquet, .json) or -.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date the features describe (YYYY-MM-DD).")
    ] = None,
    buyer_country: BuyerCountryOption = None,
    buyer: BuyerOption = None,
    output_format: FormatOption = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="With `list`: a Markdown table.")
    ] = False,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    supplier_sites: SupplierSitesOption = None,
    excel: ExcelOption = False,
    *,
    reading: Reading,
) -> None:
    """Write the feature table, or `riskengine features list` for the catalog of features.

    One row per input row, in input order, input columns kept, then every feature by its
    registry name.
    """
    if input_path == "list":
        from riskengine.render import print_feature_catalog

        run_command(lambda: print_feature_catalog(markdown=markdown))
        return

    def body() -> None:
        if output is None or as_of is None:
            raise UserInputError("features INPUT needs -o OUTPUT and --as-of DATE")
        from riskengine.app.requests import OutputFile, ScoringRequest, parse_as_of
        from riskengine.app.scoring import FEATURES_STAGES, features_file
        from riskengine.render import stage_status

        request = ScoringRequest(
            input=reading.input_file(input_path, mapping, supplier_sites),
            output=OutputFile(output, output_format, excel),
            as_of=parse_as_of(as_of),
            buyer_country=buyer_country,
            buyer_name=buyer,
        )
        with stage_status(stages=FEATURES_STAGES) as on_stage:
            rows, notes, summary = features_file(
                load_settings(reference_dir=reference_dir), request, on_stage=on_stage
            )
        for note in notes:
            say(f"note: {note}")
        say(f"{rows} rows of features as of {as_of}" + written_to(output))
        for line in summary:
            say(line)

    run_command(lambda: reading.run(body))


@app.command("map")
@reads_input
def map_materials(
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            help="Sourcing list or BOM with part numbers and/or material texts (MATNR, MAKTX, "
            "Item, Item Description...).",
        ),
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Mapping file to write (.csv, .xlsx) or -.")
    ],
    output_format: FormatOption = None,
    *,
    reading: Reading,
) -> None:
    """Propose a catalog material for each distinct part number or text, for review.

    Each row gets the material, its stage, a confidence, a status (proposed, or review when
    unsure), the words that matched and a content share where the text gives one. Edit it,
    then pass it to score, score-bom or features with --mapping.

    Example: riskengine map EORD.csv -o mapping.csv
    """

    def body() -> None:
        from riskengine.app.mapping import map_file
        from riskengine.app.requests import OutputFile

        outcome = map_file(reading.input_file(input_path), OutputFile(output, output_format))
        say(outcome.summary + written_to(output))

    run_command(lambda: reading.run(body))
