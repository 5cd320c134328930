"""The ``riskengine`` command line: parse, call one service function, render, map errors to exit
codes (0 done, 2 bad usage or unusable input, 1 internal error, 128 + the signal number when
interrupted: 130 for SIGINT, 143 for SIGTERM, 141 when standard output's reader has gone).
No logic of its own."""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from riskengine.config import load_settings
from riskengine.errors import ModelIntegrityError, ModelNotFoundError, UserInputError

EXIT_INTERNAL = 1
EXIT_USAGE = 2
#: The shell's convention for a process ended by a signal: 128 + the signal number.
EXIT_SIGNAL_BASE = 128
EXIT_INTERRUPTED = EXIT_SIGNAL_BASE + signal.SIGINT
EXIT_TERMINATED = EXIT_SIGNAL_BASE + signal.SIGTERM
EXIT_BROKEN_PIPE = EXIT_SIGNAL_BASE + 13  # SIGPIPE, as `yes | head` reports it
DEBUG_ENV = "RISKENGINE_DEBUG"

app = typer.Typer(
    name="riskengine",
    help="Supplier-risk scoring: how likely each material-supplier pair is to be disrupted in "
    "the next 12 months, and why.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
reference_app = typer.Typer(help="Inspect and validate the reference data.", no_args_is_help=True)
app.add_typer(reference_app, name="reference")
model_app = typer.Typer(
    help="Registered model versions and the champion alias.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
labels_app = typer.Typer(help="The public-events labels.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")

T = TypeVar("T")

ReferenceDirOption = Annotated[
    Path | None,
    typer.Option(
        "--reference-dir",
        help="Directory of reference CSVs replacing the shipped set, or an overlay directory "
        "(reference import) read on top of it.",
        envvar="RISKENGINE_REFERENCE_DIR",
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str,
    typer.Option(
        "--as-of",
        help="Date the scores describe (YYYY-MM-DD or today); facts known by then.",
    ),
]
BuyerCountryOption = Annotated[
    str | None, typer.Option("--buyer-country", help="Buyer country for rows that do not give one.")
]
BuyerOption = Annotated[
    str | None, typer.Option("--buyer", help="Buyer name, screened against listed entities.")
]
OutputOption = Annotated[
    str, typer.Option("--output", "-o", help="Output file (.csv, .parquet, .json) or -.")
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="Output format when - or no extension.")
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="Input encoding when not UTF-8 and not detected (cp1252...)."),
]
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", help="Worksheet of an .xlsx input (name or 1-based number)."),
]
MappingOption = Annotated[
    str | None,
    typer.Option(
        "--mapping",
        help="Reviewed material mapping (from `riskengine map`): its accepted and proposed rows "
        "are applied before the catalog; review rows are not.",
    ),
]
DelimiterOption = Annotated[
    str | None, typer.Option("--delimiter", help="CSV delimiter when sniffing is not enough.")
]
ExcelOption = Annotated[
    bool,
    typer.Option(
        "--excel",
        help="Write a CSV output that Excel opens correctly in any locale (UTF-8 with a "
        "byte-order mark, TAB-separated) instead of the input's delimiter and encoding.",
    ),
]
ColumnsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--columns",
        help='Name the input\'s columns: material="Item Description",share="Allocation %" '
        "(repeatable or comma-separated; wins over the recognised header names).",
        show_default=False,
    ),
]
HeaderRowOption = Annotated[
    int | None,
    typer.Option(
        "--header-row",
        min=1,
        help="1-based row of the header in a CSV or workbook (title rows above it are "
        "otherwise detected: rows with at most one non-empty cell).",
        show_default=False,
    ),
]


def _err(message: str) -> None:
    typer.echo(message, err=True)


#: How often an interrupt swallowed in a finaliser is raised again before the run is left to
#: end on its own (with the signal's exit code).
MAX_REDELIVERIES = 3


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; unwinding removes temporary files like Ctrl-C does."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


@contextlib.contextmanager
def _signals_handled() -> Iterator[list[int]]:
    """Turn the first SIGINT or SIGTERM into :class:`Interrupted`; ignore every one after it.

    SIGTERM (from ``timeout``, CI runners, Kubernetes) would otherwise end the process on the
    spot and leave temporary files; a second Ctrl-C would raise again inside the cleanup the
    first one started. After a signal the handler stays installed (the process is on its way
    out, see :func:`_exit_interrupted`). Yields the signals received (at most one).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received  # signal handlers can only be set from the main thread
        return
    watched = {signal.SIGINT, signal.SIGTERM}

    # Set while an interrupt swallowed where Python could not pass it on waits to be raised
    # again; the first signal stays in `received` for the exit code.
    redelivery: list[bool] = []
    redeliveries: list[bool] = []

    def handle(signal_number: int, frame: object) -> None:
        if redelivery:
            redelivery.clear()
            raise Interrupted(received[0])
        if received:
            return  # the cleanup of the first one is under way; let it finish
        received.append(signal_number)
        raise Interrupted(signal_number)

    def swallowed(unraisable: Any) -> None:
        # Raised where Python cannot pass an exception on (a finaliser, a callback from C), the
        # interrupt would be printed and lost; deliver it again at the next safe point instead.
        # Never printed: another signal of the burst may land in a finaliser too.
        if not isinstance(unraisable.exc_value, Interrupted):
            previous_hook(unraisable)
            return
        # Bounded: where every safe point is itself inside a finaliser (the interpreter's
        # shutdown), re-delivering forever would spin; the run then ends with the signal's
        # exit code once the command returns (see _run).
        while received and len(redeliveries) < MAX_REDELIVERIES:
            try:
                if not redelivery:
                    redelivery.append(True)
                    redeliveries.append(True)
                    _thread.interrupt_main(signal.Signals(received[0]))
                return
            except Interrupted:
                # A signal of the burst took the redelivery here, inside the hook, where it
                # would be printed and lost: arm it again.
                continue

    previous = {number: signal.signal(number, handle) for number in watched}
    previous_hook, sys.unraisablehook = sys.unraisablehook, swallowed
    try:
        yield received
    finally:
        if not received:
            sys.unraisablehook = previous_hook
            for number, handler in previous.items():
                signal.signal(number, handler)


def _quiet_stdout() -> None:
    """Point standard output at /dev/null so the flush at exit cannot fail again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _run(action: Callable[[], T]) -> T:
    """Run a command body; user errors exit 2 with their message, a signal 128 + its number,
    anything else exits 1."""
    with _signals_handled() as received:
        try:
            result = action()
        except (UserInputError, ModelNotFoundError, ModelIntegrityError) as error:
            if received:
                _exit_interrupted(received[0], by_signal=True)
            _err(f"error: {error}")
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt as error:
            if isinstance(error, Interrupted):
                _exit_interrupted(error.signal_number, by_signal=True)
            _exit_interrupted(signal.SIGINT)
        except BrokenPipeError:
            # The reader of standard output has gone (`| head`): exit quietly as a tool killed
            # by SIGPIPE would, with nothing more written to the closed pipe.
            _quiet_stdout()
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        except Exception as error:
            if received:
                # The interrupt was raised inside a library callback that swallowed it and
                # failed some other way: the signal is the cause, not an internal error.
                _exit_interrupted(received[0], by_signal=True)
            if os.environ.get(DEBUG_ENV):
                raise
            _err(
                f"internal error: {type(error).__name__}: {error} "
                f"(set {DEBUG_ENV}=1 for a traceback)"
            )
            raise typer.Exit(EXIT_INTERNAL) from None
        if received:
            # Swallowed likewise, and the run went on to finish: the outputs are complete, but
            # whoever sent the signal must hear that it arrived.
            _exit_interrupted(received[0], by_signal=True)
        return result


def _exit_interrupted(signal_number: int, by_signal: bool = False) -> NoReturn:
    """Exit with 128 + the signal number once the command has cleaned up.

    After a real signal the process ends here, with ``os._exit`` once the exit handlers have
    run and the streams are flushed: the interpreter's own shutdown would first reset the
    signal handlers to the default, and one more Ctrl-C or SIGTERM then would kill the process
    with a signal status instead of this exit code.
    """
    _err("interrupted" if signal_number == signal.SIGINT else "terminated")
    code = EXIT_SIGNAL_BASE + signal_number
    if not by_signal:
        raise typer.Exit(code) from None
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(code)


def _named_columns(values: list[str] | None) -> contextlib.AbstractContextManager[None]:
    """The ``--columns`` pairs in force for the command (exit 2 on an unknown name)."""
    from riskengine.app.mapping import nameable_columns
    from riskengine.io.columns import named_columns, parse_named_columns

    return named_columns(parse_named_columns(values or [], nameable_columns()))


def _with_columns(values: list[str] | None, body: Callable[[], T]) -> T:
    """Run ``body`` with the ``--columns`` names in force."""
    with _named_columns(values):
        return body()


def _parse_date(text: str) -> date:
    if text.strip().casefold() == "today":
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserInputError(
            f"--as-of {text!r} is not a date in YYYY-MM-DD form (or 'today')"
        ) from None


@app.command()
def score(
    input_path: Annotated[
        str, typer.Argument(metavar="INPUT", help="Sourcing list (.csv, .parquet, .json) or -.")
    ],
    output: OutputOption,
    as_of: AsOfOption,
    buyer_country: BuyerCountryOption = None,
    buyer: BuyerOption = None,
    model: Annotated[str, typer.Option("--model", help="Registry alias or version.")] = "champion",
    output_format: FormatOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    delimiter: DelimiterOption = None,
    columns: ColumnsOption = None,
    header_row: HeaderRowOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    excel: ExcelOption = False,
) -> None:
    """Score every material-supplier pair of a sourcing list.

    Example: riskengine score sourcing.csv -o scores.csv --as-of 2026-03-01 --buyer-country JP
    """
    from riskengine.app.scoring import score_file
    from riskengine.io import ReadOptions

    def body() -> None:
        from riskengine.render import run_progress

        settings = load_settings(reference_dir=reference_dir)
        with run_progress() as (on_stage, on_progress):
            outcome = score_file(
                settings,
                input_path=input_path,
                output_path=output,
                as_of=_parse_date(as_of),
                buyer_country=buyer_country,
                buyer_name=buyer,
                model_alias=model,
                output_format=output_format,
                read_options=ReadOptions(
                    encoding=encoding, sheet=sheet, delimiter=delimiter, header_row=header_row
                ),
                on_stage=on_stage,
                on_progress=on_progress,
                mapping_path=mapping,
                excel=excel,
            )
        for note in outcome.notes:
            _err(f"note: {note}")
        mapping_text = f", mapping {outcome.mapping_sha256[:16]}" if outcome.mapping_sha256 else ""
        _err(
            f"{outcome.rows} rows: {outcome.scored} scored, {outcome.rejected} rejected; "
            f"model version {outcome.model_version}, reference {outcome.reference_fingerprint}"
            f"{mapping_text}, as of {as_of}" + (f" -> {output}" if output != "-" else "")
        )
        if outcome.scored == 0:
            from riskengine.app.scoring import nothing_scored_summary

            for line in nothing_scored_summary(outcome.rows, outcome.reasons):
                _err(line)
        from riskengine.render import print_top_risks

        print_top_risks(outcome.top)

    _run(lambda: _with_columns(columns, body))


@app.command("score-bom")
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
    model: Annotated[str, typer.Option("--model", help="Registry alias or version.")] = "champion",
    output_format: FormatOption = None,
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    delimiter: DelimiterOption = None,
    columns: ColumnsOption = None,
    header_row: HeaderRowOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
) -> None:
    """Risk per top-level product of a multi-level BOM, with the pairs that drive it.

    Example: riskengine score-bom bom.csv --sourcing sourcing.csv -o products.csv --as-of 2026-03-01
    """
    from riskengine.app.bom import BOM_STAGES, score_bom_file
    from riskengine.io import ReadOptions

    def body() -> None:
        from riskengine.render import stage_status

        with stage_status(stages=BOM_STAGES) as on_stage:
            outcome = score_bom_file(
                load_settings(reference_dir=reference_dir),
                bom_path=bom_path,
                sourcing_path=sourcing,
                output_path=output,
                as_of=_parse_date(as_of),
                buyer_country=buyer_country,
                buyer_name=buyer,
                lines_path=lines,
                strict=strict,
                model_alias=model,
                output_format=output_format,
                read_options=ReadOptions(
                    encoding=encoding, sheet=sheet, delimiter=delimiter, header_row=header_row
                ),
                on_stage=on_stage,
                mapping_path=mapping,
            )
        _err(outcome.summary + (f" -> {output}" if output != "-" else ""))
        for problem in outcome.problems:
            _err(f"  {problem.kind}: {problem.message}")
        for note in outcome.notes:
            _err(f"note: {note}")

    _run(lambda: _with_columns(columns, body))


@app.command()
def report(
    scores: Annotated[str, typer.Argument(metavar="SCORES", help="Output of riskengine score.")],
    output: Annotated[str, typer.Option("--output", "-o", help="HTML file to write.")],
    bom: Annotated[
        str | None, typer.Option("--bom", help="Output of riskengine score-bom.")
    ] = None,
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Write one self-contained HTML report that works offline.

    Heatmap of material x supplier country, top pairs with drivers, product exposure, the top
    pairs over the last 8 quarters, and the model card. To check it in a browser, run
    ``python -m tools.report_check REPORT --screenshot PNG`` from the repository (make
    report-check).
    """
    from riskengine.app.report import report_file

    def body() -> None:
        path = report_file(
            load_settings(reference_dir=reference_dir),
            scores_path=scores,
            output_path=output,
            bom_scores_path=bom,
        )
        _err(f"report -> {path}")

    _run(body)


@app.command()
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
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    delimiter: DelimiterOption = None,
    columns: ColumnsOption = None,
    header_row: HeaderRowOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
    excel: ExcelOption = False,
) -> None:
    """Write the feature table, or `riskengine features list` for the catalog of features.

    One row per input row, in input order, input columns kept, then every feature by its
    registry name.
    """
    if input_path == "list":
        from riskengine.render import print_feature_catalog

        _run(lambda: print_feature_catalog(markdown=markdown))
        return
    from riskengine.app.scoring import FEATURES_STAGES, features_file
    from riskengine.io import ReadOptions

    def body() -> None:
        if output is None or as_of is None:
            raise UserInputError("features INPUT needs -o OUTPUT and --as-of DATE")
        from riskengine.render import stage_status

        settings = load_settings(reference_dir=reference_dir)
        with stage_status(stages=FEATURES_STAGES) as on_stage:
            rows, notes, summary = features_file(
                settings,
                input_path=input_path,
                output_path=output,
                as_of=_parse_date(as_of),
                buyer_country=buyer_country,
                buyer_name=buyer,
                output_format=output_format,
                read_options=ReadOptions(
                    encoding=encoding, sheet=sheet, delimiter=delimiter, header_row=header_row
                ),
                on_stage=on_stage,
                mapping_path=mapping,
                excel=excel,
            )
        for note in notes:
            _err(f"note: {note}")
        _err(f"{rows} rows of features as of {as_of}" + (f" -> {output}" if output != "-" else ""))
        for line in summary:
            _err(line)

    _run(lambda: _with_columns(columns, body))


@app.command("map")
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
    encoding: EncodingOption = None,
    sheet: SheetOption = None,
    delimiter: DelimiterOption = None,
    columns: ColumnsOption = None,
    header_row: HeaderRowOption = None,
) -> None:
    """Propose a catalog material for each distinct part number or text, for review.

    Each row gets the material, its stage, a confidence, a status (proposed, or review when
    unsure), the words that matched and a content share where the text gives one. Edit it,
    then pass it to score, score-bom or features with --mapping.

    Example: riskengine map EORD.csv -o mapping.csv
    """
    from riskengine.app.mapping import map_file
    from riskengine.io import ReadOptions

    def body() -> None:
        outcome = map_file(
            input_path,
            output,
            read_options=ReadOptions(
                encoding=encoding, sheet=sheet, delimiter=delimiter, header_row=header_row
            ),
            output_format=output_format,
        )
        _err(outcome.summary + (f" -> {output}" if output != "-" else ""))

    _run(lambda: _with_columns(columns, body))


@app.command()
def train(
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Only train when no champion exists.")
    ] = False,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="Your own disruption history (material, supplier, supplier_country, "
            "buyer_country, period, disrupted) instead of the public events.",
        ),
    ] = None,
    buyer_country: BuyerCountryOption = None,
    reference_dir: ReferenceDirOption = None,
) -> None:
    """Train, evaluate on a held-out later period, and register the model in MLflow."""

    def body() -> None:
        from riskengine.render import print_metrics

        settings = load_settings(reference_dir=reference_dir)
        if labels is not None:
            from riskengine.app.training import train_history_file

            history = train_history_file(settings, labels, buyer_country=buyer_country)
            _err(history.message)
            if history.rejects.height:
                _err(f"{history.rejects.height} history rows left out (see the MLflow run)")
            print_metrics(history.metrics)
            return
        from riskengine.app.training import train_public

        outcome = train_public(settings, if_missing=if_missing)
        _err(outcome.message)
        if outcome.metrics:
            print_metrics(outcome.metrics)

    _run(body)


@app.command()
def retrain(reference_dir: ReferenceDirOption = None) -> None:
    """Rebuild, train, backtest and register; promote only a better model.

    `champion` moves only if the new version's event-level AUC on the same folds is not lower;
    otherwise it stays `challenger` and the command says why.
    """

    def body() -> None:
        from riskengine.app.evaluation import retrain as retrain_workflow

        outcome = retrain_workflow(load_settings(reference_dir=reference_dir))
        _err(outcome.message)

    _run(body)


@app.command()
def backtest(reference_dir: ReferenceDirOption = None) -> None:
    """Decision-level validation: each held-out decision scored 6 months ahead among all flows,
    against simple baselines, with event-bootstrap intervals.

    Logs an MLflow parent run with a child run per fold and prints the tables.
    """

    def body() -> None:
        from riskengine.app.evaluation import backtest as backtest_workflow

        outcome = backtest_workflow(load_settings(reference_dir=reference_dir))
        print(outcome.markdown)
        _err(outcome.message)

    _run(body)


@labels_app.command("summary")
def labels_summary(reference_dir: ReferenceDirOption = None) -> None:
    """Positives and rows of the public-events panel per year and per supplier country."""

    def body() -> None:
        from riskengine.app.registry import labels_summary as summary
        from riskengine.render import print_frame

        print_frame(summary(load_settings(reference_dir=reference_dir)), "Labels")

    _run(body)


@model_app.command("list")
def model_list() -> None:
    """Registered versions with their aliases and held-out metrics."""

    def body() -> None:
        from riskengine.app.registry import list_models
        from riskengine.render import print_frame

        print_frame(list_models(load_settings()), "Registered versions")

    _run(body)


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="Version to make champion.")],
) -> None:
    """Point `champion` at VERSION (the previous champion is remembered for rollback)."""

    def body() -> None:
        from riskengine.app.registry import promote

        _err(promote(load_settings(), version).message)

    _run(body)


@model_app.command("rollback")
def model_rollback() -> None:
    """Point `champion` back at the previous champion."""

    def body() -> None:
        from riskengine.app.registry import rollback

        _err(rollback(load_settings()).message)

    _run(body)


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

    _run(body)


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

    _run(body)


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
    """Facts added, removed, changed or ended (an event's end newly set) from OLD to NEW."""
    from riskengine.app.reference import compare_reference

    def body() -> None:
        from riskengine.render import print_reference_diff

        print_reference_diff(compare_reference(old, new, output, output_format), str(old), str(new))

    _run(body)


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

    if not _run(body):
        raise typer.Exit(EXIT_USAGE)


@app.command()
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
    model: Annotated[str, typer.Option("--model", help="Registry alias or version.")] = "champion",
    output_format: FormatOption = None,
    reference_dir: ReferenceDirOption = None,
    mapping: MappingOption = None,
) -> None:
    """Which products stop under a scenario of export measures, from which day, for how long.

    Example: riskengine stress bom.csv --sourcing sourcing.csv --inventory inventory.csv
    --scenario heavy_rare_earths_japan_90d -o stress.csv
    """
    from riskengine.app.stress import stress_file

    def body() -> None:
        outcome = stress_file(
            load_settings(reference_dir=reference_dir),
            bom_path=bom_path,
            sourcing_path=sourcing,
            inventory_path=inventory,
            scenarios=scenario,
            output_path=output,
            pairs_path=pairs,
            plan_path=plan,
            buyer_country=buyer_country,
            buyer_name=buyer,
            target_country=target_country,
            start=start,
            military_end_use=military_end_use,
            model_alias=model,
            output_format=output_format,
            mapping_path=mapping,
        )
        for line in outcome.summary_lines():
            _err(line)
        for problem in outcome.problems:
            _err(f"  {problem.kind}: {problem.message}")
        for note in outcome.notes:
            _err(f"note: {note}")
        _err(f"model version {outcome.model_version}" + (f" -> {output}" if output != "-" else ""))

    _run(body)


def main() -> None:
    """Console-script entry point."""
    # OpenMP threads that spin while waiting slow scikit-learn down many times over on a busy
    # machine; the policy must be set before scikit-learn is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
