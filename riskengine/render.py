"""Human-readable output on stderr (rich tables); data goes to files or stdout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from riskengine.io.columns import SOURCING_ALIASES, resolve_columns
from riskengine.reference.importing import ImportOutcome
from riskengine.reference.loader import ReferenceWarning, TableSummary

TOP_RISKS = 5


MINIMUM_WIDTH = 140
FIRST_DRIVER_LENGTH = 110


def _console(stderr: bool = True) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        # Piped or captured output has no width; rich would wrap at 80 columns.
        console = Console(stderr=stderr, highlight=False, width=MINIMUM_WIDTH)
    return console


def print_top_risks(scored: pl.DataFrame, limit: int = TOP_RISKS) -> None:
    """The riskiest scored pairs with their first driver."""
    top = (
        scored.filter(pl.col("status") == "scored").sort("risk_score", descending=True).head(limit)
    )
    if top.is_empty():
        return
    # The supplier column under whatever header the input used (NAME1, "Supplier Name", ...),
    # found the way the input was read.
    supplier_column = resolve_columns(
        top.columns,
        source="scores",
        aliases={"supplier": SOURCING_ALIASES["supplier"]},
        required=(),
    ).get("supplier")
    table = Table(title=f"Top {top.height} risks", show_lines=False)
    for column in ("material", "supplier", "country", "buyer", "score", "band", "first driver"):
        table.add_column(column, overflow="fold")
    for row in top.iter_rows(named=True):
        table.add_row(
            row["material_id"],
            str(row[supplier_column] or "") if supplier_column else "",
            row["supplier_country_iso3"],
            row["buyer_country_iso3"] or "",
            f"{row['risk_score']:.3f}",
            row["risk_band"],
            (row["drivers"] or "").split(" | ")[0][:FIRST_DRIVER_LENGTH],
        )
    _console().print(table)


VALIDATION_ROWS = (
    ("event-level AUC, 6 months ahead", "event_auc_6m"),
    ("  95% event-bootstrap CI, low", "event_auc_6m_ci_low"),
    ("  95% event-bootstrap CI, high", "event_auc_6m_ci_high"),
    ("best simple baseline", "heuristic_event_auc_6m"),
    ("logistic regression", "logistic_event_auc_6m"),
    ("decisions flagged high/critical 6 m ahead", "events_flagged_6m"),
    ("flows alerted (high + critical)", "alert_coverage"),
    ("expected calibration error", "ece"),
    ("base rate of a new measure", "base_rate"),
    ("largest single-event influence on PR-AUC", "max_event_influence"),
    ("held-out decisions", "held_out_decisions"),
)


def print_metrics(metrics: dict[str, float]) -> None:
    """Held-out metrics: the decision-level validation, or a history model's test period."""
    if "event_auc_6m" in metrics:
        table = Table(title="Decision-level validation (held-out years)")
        table.add_column("measure")
        table.add_column("value", justify="right")
        for label, name in VALIDATION_ROWS:
            table.add_row(label, f"{metrics[name]:.4f}")
        _console().print(table)
        return
    table = Table(title="Held-out period: model vs EU-style baseline")
    table.add_column("metric")
    table.add_column("model", justify="right")
    table.add_column("baseline", justify="right")
    for name in ("roc_auc", "pr_auc", "brier"):
        table.add_row(name, f"{metrics[f'test_{name}']:.4f}", f"{metrics[f'baseline_{name}']:.4f}")
    _console().print(table)
    _console().print(
        f"test rows {metrics['test_rows']:.0f}, "
        f"positive rate {metrics['test_positive_rate']:.4f}; "
        f"train rows {metrics['train_rows']:.0f}, "
        f"positive rate {metrics['train_positive_rate']:.4f}"
    )


def print_reference_summary(
    directory: str,
    fingerprint: str,
    summaries: list[TableSummary],
    base_directory: str | None = None,
) -> None:
    """One line per reference table and the fingerprint of the whole set."""
    overlay = f" (overlay on {base_directory})" if base_directory else ""
    table = Table(title=f"Reference data in {directory}{overlay}")
    for column in ("table", "file", "rows", "first date", "last date", "sha256"):
        table.add_column(column)
    for summary in summaries:
        table.add_row(
            summary.name,
            summary.file_name,
            str(summary.rows),
            str(summary.first_date or ""),
            str(summary.last_date or ""),
            summary.sha256,
        )
    console = _console(stderr=False)
    console.print(table)
    console.print(f"fingerprint {fingerprint}")


def print_reference_warnings(warnings: list[ReferenceWarning]) -> None:
    """Each warning rule with the number of rows breaking it and their keys."""
    console = _console(stderr=False)
    if not warnings:
        console.print("no warnings")
    for warning in warnings:
        console.print(
            f"warning: {warning.file_name}: {len(warning.keys)} rows: {warning.rule}: "
            + ", ".join(warning.keys),
            soft_wrap=True,
        )


def print_reference_diff(differences: pl.DataFrame, old: str, new: str) -> None:
    """The differences as a table, with counts per change; a line when there are none."""
    console = _console(stderr=False)
    if differences.is_empty():
        console.print(f"no differences between {old} and {new}")
        return
    print_frame(differences, f"Reference changes from {old} to {new}")
    counts = differences.group_by("change").len().sort("change")
    console.print(
        ", ".join(f"{count} {change}" for change, count in counts.iter_rows()), soft_wrap=True
    )


def print_import_outcome(outcome: ImportOutcome) -> None:
    """What an import added, changed and rejected (with reasons), and the fingerprint change."""
    console = _console(stderr=False)
    console.print(
        f"{outcome.source}: {outcome.format_title} -> overlay {outcome.overlay}", soft_wrap=True
    )
    for table, key in outcome.added:
        console.print(f"added     {table}: {key}", soft_wrap=True)
    for table, key, fields in outcome.changed:
        console.print(f"changed   {table}: {key} ({', '.join(fields)})", soft_wrap=True)
    for label, reason in outcome.rejected:
        console.print(f"rejected  {label}: {reason}", soft_wrap=True)
    supporting = f", {outcome.supporting} supporting entities read" if outcome.supporting else ""
    console.print(
        f"{len(outcome.added)} added, {len(outcome.changed)} changed, {outcome.unchanged} "
        f"unchanged, {len(outcome.rejected)} rejected{supporting}",
        soft_wrap=True,
    )
    if outcome.fingerprint_after != outcome.fingerprint_before:
        console.print(f"fingerprint {outcome.fingerprint_before} -> {outcome.fingerprint_after}")
    else:
        console.print(f"fingerprint {outcome.fingerprint_after} (unchanged)")
    if not outcome.imported:
        _console().print("error: nothing imported: every record was rejected")


def _sources_shown(sources: tuple[str, ...]) -> str:
    """A feature's sources as the feature list shows them: reference tables by name, and
    "the input" for what the buyer's own file gives."""
    from riskengine.features.registry import INPUT_SOURCES

    tables = [source for source in sources if source not in INPUT_SOURCES]
    given = ["the input"] if len(tables) < len(sources) or not sources else []
    return ", ".join([*tables, *given])


def feature_catalog_markdown() -> str:
    """The registry as a Markdown table (the README's feature table is this output)."""
    from riskengine.features.builders import registry

    lines = [
        "| feature | family | model input | sources | description |",
        "|---|---|---|---|---|",
    ]
    for spec in registry():
        lines.append(
            f"| `{spec.name}` | {spec.family} | {'yes' if spec.model_input else 'no'} | "
            f"{_sources_shown(spec.sources)} | {spec.description} |"
        )
    return "\n".join(lines)


def print_feature_catalog(*, markdown: bool = False) -> None:
    """Each feature's name, family, description and sources, from the registry."""
    if markdown:
        print(feature_catalog_markdown())
        return
    from riskengine.features.builders import registry

    table = Table(title="Features (riskengine features list)")
    for column in ("feature", "family", "model input", "sources", "description"):
        table.add_column(column, overflow="fold")
    for spec in registry():
        table.add_row(
            spec.name,
            spec.family,
            "yes" if spec.model_input else "no",
            _sources_shown(spec.sources),
            spec.description,
        )
    _console(stderr=False).print(table)


def print_screening_evaluation(result: dict) -> None:
    """Precision and recall of name screening at the threshold."""
    _console(stderr=False).print(
        f"name screening at threshold {result['threshold']:.2f}: "
        f"precision {result['precision']:.4f}, recall {result['recall']:.4f} "
        f"(true positives {result['true_positive']}, false positives "
        f"{result['false_positive']}, false negatives {result['false_negative']}; "
        f"{result['pairs']} labelled pairs)"
    )


def print_frame(frame: pl.DataFrame, title: str) -> None:
    """A small frame as a table on stdout."""
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(column, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if value is None else str(value) for value in row))
    _console(stderr=False).print(table)


@contextmanager
def stage_status(stages: int | None = None) -> Iterator[Callable[[str], None]]:
    """A progress line on stderr naming the current stage of a long run; with ``stages``, a bar
    of the stages done out of that many. Silent when not a terminal, so piped and captured
    output stay clean."""
    with run_progress(stages) as (on_stage, _):
        yield on_stage


@contextmanager
def run_progress(
    stages: int | None = None,
) -> Iterator[tuple[Callable[[str], None], Callable[[int, int], None]]]:
    """On a terminal, a progress line on stderr: the current stage and a bar, of the stages
    done out of ``stages`` or, once rows are being processed, of the rows done, with the time
    left. Silent otherwise, so piped and captured output stay clean. Yields
    ``(on_stage, on_progress)``."""
    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        yield (lambda name: None), (lambda done, total: None)
        return
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=stages)
        started: list[str] = []

        def on_stage(name: str) -> None:
            # A new stage means the one before it is done.
            completed = len(started) if stages is not None else None
            started.append(name)
            progress.update(task, description=name, completed=completed, refresh=True)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, refresh=True)

        yield on_stage, on_progress
