"""Service functions behind the CLI commands: each reads, computes and writes one job.

Heavy modules (scikit-learn, MLflow) are imported inside the functions that need them, so
that the CLI starts quickly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import polars as pl

from riskengine.config import Settings, chunk_bytes_setting
from riskengine.io import ChunkedTable, read_table, write_table, write_table_chunks
from riskengine.reference.loader import (
    ReferenceData,
    TableSummary,
    load_reference,
    summarise_reference,
)
from riskengine.schemas import STATUS_SCORED
from riskengine.scoring import PreparedPairs, prepare_pairs

TOP_ROWS_KEPT = 10


@dataclass(frozen=True)
class ScoreOutcome:
    """What a scoring run produced, for the summary on stderr."""

    rows: int
    scored: int
    top: pl.DataFrame
    """The riskiest scored rows (at most :data:`TOP_ROWS_KEPT`), riskiest first."""
    model_version: str
    reference_fingerprint: str
    notes: tuple[str, ...] = ()

    @property
    def rejected(self) -> int:
        return self.rows - self.scored


def check_reference(settings: Settings) -> tuple[ReferenceData, list[TableSummary]]:
    """Load and validate the reference data; summarise each table."""
    reference = load_reference(settings.reference_dir)
    return reference, summarise_reference(reference)


EARLIEST_AS_OF = date(2010, 1, 1)


def check_as_of(as_of: date, today: date | None = None) -> tuple[str, ...]:
    """Refuse dates before the reference data; note dates in the future.

    Before 2010 the shipped events and production data are too sparse to describe supply, so
    such a date is refused. A future date is allowed (a planning horizon) with a note: it can
    only use facts known today, plus measures already announced for later.
    """
    if as_of < EARLIEST_AS_OF:
        from riskengine.errors import UserInputError

        raise UserInputError(
            f"--as-of {as_of} is before {EARLIEST_AS_OF}, where the reference data begins"
        )
    today = today or date.today()
    if as_of > today:
        return (
            f"--as-of {as_of} is in the future: scores use the facts known today ({today}) and "
            "measures already announced",
        )
    return ()


@dataclass(frozen=True)
class ReadOptions:
    """How to read a user's file when its form cannot be inferred (all optional)."""

    file_format: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    delimiter: str | None = None

    def read(self, path: str) -> pl.DataFrame:
        sheet: str | int | None = self.sheet
        return read_table(
            path, self.file_format, encoding=self.encoding, sheet=sheet, delimiter=self.delimiter
        )

    def chunks(self, path: str, chunk_bytes: int | None = None) -> ChunkedTable:
        """The table as chunks of about ``chunk_bytes`` (a large CSV or TSV only)."""
        return ChunkedTable(
            path,
            self.file_format,
            encoding=self.encoding,
            sheet=self.sheet,
            delimiter=self.delimiter,
            chunk_bytes=chunk_bytes or chunk_bytes_setting(),
        )


def _source_label(input_path: str) -> str:
    return "<stdin>" if input_path == "-" else input_path


def _prepare(
    input_path: str,
    read_options: ReadOptions | None,
    buyer_country: str | None,
    buyer_name: str | None,
    as_of: date,
) -> PreparedPairs:
    raw = (read_options or ReadOptions()).read(input_path)
    source = _source_label(input_path)
    return prepare_pairs(
        raw, source=source, buyer_country=buyer_country, buyer_name=buyer_name, as_of=as_of
    )


def score_file(
    settings: Settings,
    *,
    input_path: str,
    output_path: str,
    as_of: date,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
    model_alias: str = "champion",
    read_options: ReadOptions | None = None,
    output_format: str | None = None,
    chunk_bytes: int | None = None,
    on_stage: Callable[[str], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> ScoreOutcome:
    """Score every row of a sourcing list and write the result (nothing is written on error).

    A large CSV is read, scored and written one chunk at a time (``chunk_bytes`` of input,
    :data:`riskengine.io.DEFAULT_CHUNK_BYTES` by default), after a first pass that gathers
    what rows depend on across the whole file (duplicates, supplier countries, how shares
    read); the output is the same for any chunk size. ``on_stage`` hears the name of each
    stage as it starts and ``on_progress`` the rows scored so far and the total.
    """
    from riskengine.models.tracking import load_registered_model
    from riskengine.scoring import prepare_chunks, score_pairs

    stage = on_stage or (lambda name: None)
    progress = on_progress or (lambda done, total: None)
    date_notes = check_as_of(as_of)
    stage(f"reading {input_path}")
    table = (read_options or ReadOptions()).chunks(input_path, chunk_bytes)
    source = _source_label(input_path)
    context, prepared_chunks = prepare_chunks(
        table, source=source, buyer_country=buyer_country, buyer_name=buyer_name, as_of=as_of
    )
    stage("loading reference data and the model")
    reference = load_reference(settings.reference_dir)
    model = load_registered_model(settings, model_alias)
    stage(f"scoring {context.rows:,} rows as of {as_of}")
    scored = 0
    done = 0
    riskiest: pl.DataFrame | None = None
    driver_cache: dict[tuple, str] = {}

    def scored_chunks() -> Iterator[pl.DataFrame]:
        nonlocal scored, done, riskiest
        progress(0, context.rows)
        for prepared in prepared_chunks:
            output = score_pairs(prepared, reference, model, as_of=as_of, driver_cache=driver_cache)
            usable = output.filter(pl.col("status") == STATUS_SCORED)
            scored += usable.height
            earlier = [] if riskiest is None else [riskiest]
            riskiest = _riskiest(pl.concat([*earlier, usable]))
            done += output.height
            progress(done, context.rows)
            yield output

    write_table_chunks(scored_chunks(), output_path, output_format)
    return ScoreOutcome(
        rows=context.rows,
        scored=scored,
        top=riskiest if riskiest is not None else pl.DataFrame(),
        model_version=model.version,
        reference_fingerprint=reference.fingerprint,
        notes=date_notes + context.notes,
    )


def _riskiest(scored: pl.DataFrame) -> pl.DataFrame:
    # A stable sort keeps input order among equal scores, whatever the chunk size.
    top = scored.sort("risk_score", descending=True, maintain_order=True).head(TOP_ROWS_KEPT)
    # A copy of the few rows: a slice would keep the whole chunk's buffers alive.
    return pl.DataFrame(top.rows(), schema=top.schema, orient="row")


#: How many stages :func:`features_file` and :func:`score_bom_file` announce (the progress bar).
FEATURES_STAGES = 3
BOM_STAGES = 5


def features_file(
    settings: Settings,
    *,
    input_path: str,
    output_path: str,
    as_of: date,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
    read_options: ReadOptions | None = None,
    output_format: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """Write one row per input row: the input columns, status and reason, then every feature.

    Returns the table and the notes to show the user (a future as-of date, percentage shares).
    """
    from riskengine.features.registry import PAIR_KEY, registry
    from riskengine.scoring import feature_table

    stage = on_stage or (lambda name: None)
    date_notes = check_as_of(as_of)
    stage(f"reading {input_path}")
    prepared = _prepare(input_path, read_options, buyer_country, buyer_name, as_of)
    reference = load_reference(settings.reference_dir)
    stage(f"building features for {prepared.resolved.height:,} rows as of {as_of}")
    features = feature_table(prepared, reference, as_of=as_of)
    feature_columns = [spec.name for spec in registry()]
    joined = prepared.resolved.select(PAIR_KEY, "reason").join(
        features.select(PAIR_KEY, *feature_columns), on=PAIR_KEY, how="left", maintain_order="left"
    )
    clashing = [
        name
        for name in [*feature_columns, "status", "reason", "as_of"]
        if name in prepared.raw.columns
    ]
    if clashing:
        from riskengine.errors import UserInputError

        raise UserInputError(f"input already has column(s) {', '.join(clashing)}; rename them")
    output = pl.concat(
        [
            prepared.raw,
            joined.select(
                pl.when(pl.col("reason").is_null())
                .then(pl.lit("scored"))
                .otherwise(pl.lit("rejected"))
                .alias("status"),
                "reason",
                pl.lit(as_of.isoformat()).alias("as_of"),
                *feature_columns,
            ),
        ],
        how="horizontal",
    )
    stage(f"writing {output_path}")
    write_table(output, output_path, output_format)
    return output, date_notes + prepared.notes


@dataclass(frozen=True)
class TrainOutcome:
    """The result of ``riskengine train``."""

    skipped: bool
    version: str | None
    run_id: str | None
    champion: str | None
    metrics: dict[str, float]
    message: str


def train(
    settings: Settings, *, if_missing: bool = False, today: date | None = None
) -> TrainOutcome:
    """Build the public-events panel, train, evaluate on the held-out later period, register.

    The first registered version becomes ``champion``; later ones are left for the gated
    promotion of ``make retrain`` (see :func:`riskengine.models.workflow.train_public`).
    """
    from riskengine.models.workflow import train_public

    outcome = train_public(settings, if_missing=if_missing, today=today)
    return TrainOutcome(
        outcome.skipped,
        outcome.version,
        outcome.run_id,
        outcome.champion,
        outcome.metrics,
        outcome.message,
    )


def evaluate_screening(settings: Settings, pairs_path: str) -> dict:
    """Precision and recall of name screening on labelled pairs, against the whole list."""
    from riskengine.errors import MissingColumnsError
    from riskengine.names import evaluate_name_matching

    pairs = read_table(pairs_path)
    missing = [
        name for name in ("query", "listed_name", "is_same_entity") if name not in pairs.columns
    ]
    if missing:
        raise MissingColumnsError(f"{pairs_path}: missing columns {', '.join(missing)}")
    reference = load_reference(settings.reference_dir)
    labelled = [
        (
            row["query"],
            row["listed_name"],
            str(row["is_same_entity"]).strip().lower() in {"true", "1", "yes"},
        )
        for row in pairs.iter_rows(named=True)
    ]
    listed_names = reference.listed_entities["entity_name"].unique(maintain_order=True).to_list()
    result = evaluate_name_matching(labelled, listed_names)
    return {**result, "pairs": len(labelled)}


@dataclass(frozen=True)
class BomOutcome:
    """What ``riskengine score-bom`` produced."""

    products: pl.DataFrame
    lines: pl.DataFrame
    problems: tuple
    model_version: str
    notes: tuple[str, ...] = ()


def score_bom_file(
    settings: Settings,
    *,
    bom_path: str,
    sourcing_path: str,
    output_path: str,
    as_of: date,
    buyer_country: str | None = None,
    buyer_name: str | None = None,
    lines_path: str | None = None,
    strict: bool = False,
    model_alias: str = "champion",
    read_options: ReadOptions | None = None,
    output_format: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> BomOutcome:
    """Score the sourcing list, explode the BOM over it and write one row per top-level product
    (and, with ``lines_path``, the exploded lines). Nothing is written when the inputs fail."""
    from riskengine.bom import score_bom
    from riskengine.models.tracking import load_registered_model
    from riskengine.scoring import score_pairs

    stage = on_stage or (lambda name: None)
    date_notes = check_as_of(as_of)
    stage(f"reading {bom_path} and {sourcing_path}")
    bom = (read_options or ReadOptions()).read(bom_path)
    prepared = _prepare(sourcing_path, read_options, buyer_country, buyer_name, as_of)
    stage("loading reference data and the model")
    reference = load_reference(settings.reference_dir)
    model = load_registered_model(settings, model_alias)
    stage(f"scoring {prepared.resolved.height:,} sourcing rows as of {as_of}")
    scored = score_pairs(prepared, reference, model, as_of=as_of)
    stage(f"exploding {bom.height:,} BOM rows and rolling up")
    result = score_bom(bom, scored, source=bom_path, strict=strict)
    stage(f"writing {output_path}")
    products = result.products.with_columns(
        pl.lit(model.version).alias("model_version"), pl.lit(as_of.isoformat()).alias("as_of")
    )
    if lines_path is not None:
        write_table(result.lines, lines_path)
    write_table(products, output_path, output_format)
    return BomOutcome(
        products, result.lines, result.problems, model.version, date_notes + prepared.notes
    )


SCORE_NUMBER_COLUMNS = (
    "risk_score",
    "risk_score_low",
    "risk_score_high",
    "model_score",
    "state_score",
)
BOM_NUMBER_COLUMNS = ("risk_score", "max_pair_risk", "exposure")


def _numbers(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    # Scores read back from CSV arrive as text.
    return frame.with_columns(
        pl.col(name).cast(pl.Float64, strict=False) for name in columns if name in frame.columns
    )


def report_file(
    settings: Settings,
    *,
    scores_path: str,
    output_path: str,
    bom_scores_path: str | None = None,
    history_quarters: int = 8,
) -> str:
    """Render the HTML report of a scores file (and BOM scores), with the top pairs re-scored as
    of each of the last quarters and of the file's own as-of date by the model version that
    scored them, each with its own input (buyer name column, resolved buyer country)."""
    from riskengine.io import write_text
    from riskengine.models.tracking import load_registered_model
    from riskengine.report import ModelCard, quarter_starts, render_report, top_pairs
    from riskengine.schemas import SCORE_OUTPUT_COLUMNS, resolve_columns
    from riskengine.scoring import score_pairs

    scores = _numbers(read_table(scores_path), SCORE_NUMBER_COLUMNS)
    bom_products = (
        _numbers(read_table(bom_scores_path), BOM_NUMBER_COLUMNS) if bom_scores_path else None
    )
    versions = scores["model_version"].drop_nulls().unique().to_list()
    as_of_values = scores["as_of"].drop_nulls().unique().to_list()
    if len(versions) != 1 or len(as_of_values) != 1:
        from riskengine.errors import UserInputError

        raise UserInputError(
            f"{scores_path}: a report needs scores from one model version and one as-of date "
            f"(found versions {versions}, as-of dates {as_of_values})"
        )
    as_of = date.fromisoformat(as_of_values[0])
    reference = load_reference(settings.reference_dir)
    model = load_registered_model(settings, versions[0])

    top = top_pairs(scores)
    input_columns = [name for name in scores.columns if name not in SCORE_OUTPUT_COLUMNS]
    # Each pair is re-scored with its own input: its buyer name is an input column when the input
    # had one, and its buyer country is the one the file resolved (from a column or from
    # --buyer-country), which takes the place of the input's own buyer-country column.
    buyer_country_column = resolve_columns(input_columns, source=scores_path, required=()).get(
        "buyer_country", "buyer_country"
    )
    pairs = top.select(input_columns).with_columns(
        top["buyer_country_iso3"].alias(buyer_country_column)
    )
    prepared = prepare_pairs(pairs, source=scores_path, buyer_country=None, buyer_name=None)
    # The quarters' first days, then the file's own as-of date: the last point is the score the
    # file holds.
    dates = quarter_starts(as_of, history_quarters)
    if dates[-1] != as_of:
        dates.append(as_of)
    history_frames = []
    for day in dates:
        rescored = score_pairs(prepared, reference, model, as_of=day)
        history_frames.append(
            pl.DataFrame(
                {
                    "pair_label": top["pair_label"],
                    "quarter": [day] * top.height,
                    "risk_score": rescored["risk_score"],
                }
            )
        )
    # A score the file's columns cannot reproduce (a buyer given with --buyer is not written to
    # the scores) would end its line away from the file's: say so on the chart.
    differing = top.filter(
        (rescored["risk_score"] - top["risk_score"]).abs().fill_null(1.0) > 1e-9
    ).height
    history_note = (
        f"{differing} of {top.height} pairs re-scored as of {as_of} do not reproduce their score "
        "in the file: it lacks an input they were scored with (a buyer given with --buyer is not "
        "written to the scores; give it as a column), so their lines end away from it."
        if differing
        else None
    )
    history = pl.concat(history_frames) if history_frames else None
    from riskengine.bands import DEFAULT_CUTOFFS
    from riskengine.models.tracking import run_document

    card = ModelCard(
        model_version=model.version,
        run_id=model.run_id,
        metrics=model.metrics,
        reference_fingerprint=reference.fingerprint,
        as_of=as_of.isoformat(),
        trained_on="public-events panel (see the MLflow run)",
        band_cutoffs=model.band_cutoffs or dict(DEFAULT_CUTOFFS),
        validation=run_document(settings, model.run_id, "validation_summary.json") or [],
        bands=run_document(settings, model.run_id, "validation_bands.json") or [],
    )
    html = render_report(
        scores,
        history=history,
        history_note=history_note,
        bom_products=bom_products,
        model_card=card,
    )
    write_text(html, output_path)
    return output_path
