"""The reference-data commands: ``reference check|diff|import`` and ``screening-eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskengine.cli.apps import app, reference_app
from riskengine.cli.options import (
    EncodingOption,
    FormatOption,
    ReferenceDirOption,
)
from riskengine.cli.runtime import EXIT_USAGE, run_command
from riskengine.config import load_settings


@app.command("screening-eval")
def screening_eval(
    pairs: Annotated[
        Path, typer.Argument(help="CSV of labelled name pairs: query, listed_name, is_same_entity.")
    ],
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Precision and recall of listed-entity name screening on a labelled set of name pairs."""

    def body() -> None:
        from riskengine.app.reference import evaluate_screening
        from riskengine.render import print_screening_evaluation

        print_screening_evaluation(
            evaluate_screening(load_settings(reference_dir=reference_dir), str(pairs))
        )

    run_command(body)


@reference_app.command("check")
def reference_check(reference_dir: ReferenceDirOption = None) -> None:
    """Validate the reference tables; print rows, dates and fingerprint (exit 2 if invalid)."""
    from riskengine.app.reference import check_reference

    def body() -> None:
        from riskengine.render import print_reference_summary, print_reference_warnings

        found = check_reference(load_settings(reference_dir=reference_dir))
        print_reference_summary(
            found.reference.directory,
            found.reference.fingerprint,
            found.summaries,
            found.reference.base_directory,
        )
        print_reference_warnings(found.warnings)

    run_command(body)


@reference_app.command("diff")
def reference_diff(
    old: Annotated[Path, typer.Argument(help="The earlier reference directory.")],
    new: Annotated[Path, typer.Argument(help="The later reference directory.")],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Also write the differences (.csv, .json...)."),
    ] = None,
    output_format: FormatOption = None,
) -> None:
    """Facts added, removed, changed or ended (an event's end or a listing's removal newly set)
    from OLD to NEW."""
    from riskengine.app.reference import compare_reference

    def body() -> None:
        from riskengine.render import print_reference_diff

        print_reference_diff(compare_reference(old, new, output, output_format), str(old), str(new))

    run_command(body)


@reference_app.command("import")
def reference_import(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="OpenSanctions FtM JSON lines or targets.simple.csv, US Consolidated Screening "
            "List CSV, Global Trade Alert export, or riskengine policy_events/listed_entities CSV.",
        ),
    ],
    into: Annotated[
        Path,
        typer.Option(
            "--into",
            metavar="DIR",
            help="Overlay directory (created if absent) read on top of the shipped data.",
        ),
    ],
    encoding: EncodingOption = None,
) -> None:
    """Merge a file's records into an overlay: print what was added, changed and rejected
    (exit 2 when the file is unusable or nothing in it could be imported)."""
    from riskengine.app.reference import import_reference

    def body() -> bool:
        from riskengine.render import print_import_outcome

        outcome = import_reference(file, into, encoding)
        print_import_outcome(outcome)
        return outcome.imported

    if not run_command(body):
        raise typer.Exit(EXIT_USAGE)
